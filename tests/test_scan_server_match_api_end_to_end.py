"""`balise scan --server` against a real Balise server on 127.0.0.1: only hashes are sent, known
files are found through POST /api/v1/match, the rest is unknown."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from balise.demo import demo_image
from tests.scan_support import by_path, near_duplicate, pdq_of, run_scan

BALISE = str(Path(sys.executable).parent / "balise")


def _run(env, *args):
    r = subprocess.run([BALISE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_scan_against_server(tmp_path, db_url):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
           "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url}
    _run(env, "db", "upgrade")
    key = re.search(r"(bal_[0-9a-f]{12}_\S{43})",
                    _run(env, "org", "create", "Police Unit", "--kind", "law_enforcement", "--scope", "match")).group(1)
    known_exact = demo_image(100, (320, 240))
    known_pdq = demo_image(101, (320, 240))
    lst = tmp_path / "list.txt"
    lst.write_text(f"md5 {hashlib.md5(known_exact).hexdigest()}\npdq {pdq_of(known_pdq)}\n")
    _run(env, "indicators", "import", str(lst), "--format", "te")

    root = tmp_path / "seized"
    root.mkdir()
    (root / "exact.jpg").write_bytes(known_exact)
    (root / "near.jpg").write_bytes(near_duplicate(known_pdq, 1))
    (root / "new.jpg").write_bytes(demo_image(102, (320, 240)))

    port = _port()
    server = subprocess.Popen([BALISE, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        out = tmp_path / "out"
        r = run_scan(root, "--out", out, "--server", base, "--key", key)
        assert r.returncode == 1, r.stdout + r.stderr
        bad = run_scan(root, "--out", tmp_path / "out2", "--server", base, "--key", "bal_000000000000_" + "x" * 43,
                       check_codes=None)
        assert bad.returncode == 2 and "refused" in bad.stderr
    finally:
        server.terminate()
        server.wait(timeout=20)
    rows = by_path(out)
    exact = rows[bytes(root / "exact.jpg")]
    assert exact["known"] and exact["match_algorithm"] == "md5" and exact["match_source"] == base
    near = rows[bytes(root / "near.jpg")]
    assert near["known"] and near["match_algorithm"] == "pdq" and 0 < near["match_distance"] <= 31
    new = rows[bytes(root / "new.jpg")]
    assert not new["known"] and new["review_rank"] == 1
