"""A real `balise serve` on a free loopback port, for end-to-end tests; and headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BALISE = str(Path(sys.executable).parent / "balise")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium flags for this closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], seconds: float = 60.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    # No DNS query leaves the machine: reported URLs' names resolve from a fixed table.
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(data_dir), BALISE_FETCH_RESOLVER="static", **extra)
    if env["BALISE_ENV"] == "development":
        # argon2id at its cheapest for the accounts a test creates (production refuses it).
        env.setdefault("BALISE_PASSWORD_HASH_COST", "minimal")
    return env


def server_output(proc: subprocess.Popen[str]) -> str:
    """What a server started by running_server wrote (standard output and error) so far."""
    return Path(proc.output_path).read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]


@contextmanager
def running_server(env: dict[str, str], startup_seconds: float = 60.0,
                   workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`balise serve` until the block ends; yields its base URL once /readyz answers 200. Its
    output goes to a file (read it with server_output), never to a pipe nobody drains: a server
    that logs a line per request would block once the pipe's buffer is full. One API process
    unless ``workers`` says otherwise (`serve` alone starts one per core)."""
    port = free_port()
    output = tempfile.NamedTemporaryFile(prefix="balise-serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([BALISE, "serve", "--port", str(port), "--workers", str(workers)], env=env, stdout=output,
                            stderr=subprocess.STDOUT, text=True)
    output.close()
    proc.output_path = output.name  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"balise serve exited: {server_output(proc)}"
        try:
            return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert wait_for(ready, startup_seconds), "balise serve did not become ready"
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.unlink(output.name)
