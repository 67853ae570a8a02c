#!/usr/bin/env python3
"""Analyst flow (issue 13): clicks and full page loads from the queue to a decision, in headless
Chromium (Playwright) against a real `balise serve` on loopback with DEMO data.

The DEMO report is the first of the queue (urgent): one generated benign picture and one URL.
The analyst claims it from the queue, classifies the picture (illegal, NCMEC A2) and forwards
the report. Every click and every choice in a drop-down counts as one click; a full page load
is a navigation of the page's main frame (a request made by the page's script is not one).
Counted twice: up to the moment the decision is recorded, and until the next report is on the
screen (the old page goes back to the queue, where the next report needs another claim).

The same path is scripted for the workbench of another git revision (default: main), served
from `git archive` of that revision, so both counts come from the same run:

    .venv/bin/python benchmarks/bench_analyst_flow.py              # this tree and main
    .venv/bin/python benchmarks/bench_analyst_flow.py --old-ref '' # this tree only
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "demo-password-not-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def balise(src: Path, env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from balise.cli.main import app; app()", *args],
                          env={**env, "PYTHONPATH": str(src)}, capture_output=True, text=True, check=True, **kwargs)


@contextmanager
def demo_server(src: Path, data: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen]]:
    """`balise serve` of the code in ``src`` on a free loopback port, with DEMO data seeded."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(data), BALISE_FETCH_RESOLVER="static")
    balise(src, env, "db", "upgrade")
    balise(src, env, "demo")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from balise.cli.main import app; app()", "serve", "--port", str(port)],
                            env={**env, "PYTHONPATH": str(src)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("balise serve did not become ready")
        yield base, env, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def sign_in(page, base: str, src: Path, env: dict[str, str]) -> None:
    from balise.demo import DEMO_PASSWORD

    page.goto(f"{base}/ui/login")
    page.fill("#username", "demo-analyst")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/login/totp")
    page.fill("#code", balise(src, env, "user", "totp-code", "demo-analyst").stdout.strip())
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")


class Counter:
    def __init__(self, page) -> None:
        self.page, self.clicks, self.loads = page, 0, 0
        page.on("framenavigated", lambda frame: self._navigated(frame))

    def _navigated(self, frame) -> None:
        if frame == self.page.main_frame:
            self.loads += 1

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.clicks += 1
        self.page.select_option(selector, value)


def old_path(page, count: Counter, base: str) -> tuple[int, int]:
    """The workbench before issue 13: radio buttons, a save button and a decision form that each
    post the page."""
    with page.expect_navigation():
        count.click("table.queue tbody tr >> nth=0 >> button:has-text('Claim')")
    count.click("form.classify >> nth=0 >> input[name=outcome][value=illegal]")
    count.choose("form.classify >> nth=0 >> select[name=ncmec_category]", "A2")
    with page.expect_navigation():
        count.click("form.classify >> nth=0 >> button[type=submit]")
    count.click("input[name=decision][value=forward]")
    with page.expect_navigation():
        count.click("form.decide button[type=submit]")
    assert "Decision recorded" in page.inner_text("main"), page.inner_text("main")[:500]
    return count.clicks, count.loads


def new_path(page, count: Counter, base: str) -> tuple[int, int]:
    """The one assessment screen: outcome buttons that save the item in place, decision buttons
    that record the decision in place and then open the next report."""
    with page.expect_navigation():
        count.click("table.queue tbody tr >> nth=0 >> button:has-text('Claim')")
    count.choose("article.item >> nth=0 >> select[name=ncmec_category]", "A2")
    with page.expect_response(re.compile(r".*/assess$")):
        count.click("article.item >> nth=0 >> button[name=outcome][value=illegal]")
    page.wait_for_selector("article.item >> nth=0 >> .outcome-illegal")
    with page.expect_response(re.compile(r".*/decide$")) as answer:
        count.click("form.decide button[name=decision][value=forward]")
    assert answer.value.status == 200, answer.value.text()
    return count.clicks, count.loads


def run(src: Path, path, label: str) -> tuple[int, int, int]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, demo_server(src, Path(tmp) / "data") as (base, env, _), \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, src, env)
        page.goto(f"{base}/ui/queue")
        count = Counter(page)
        clicks, loads = path(page, count, base)
        # Until the next report is on the screen: the new page goes there itself; the old
        # one is back on the queue, where the next report needs its claim.
        if path is old_path:
            with page.expect_navigation():
                count.click("table.queue tbody tr >> nth=0 >> button:has-text('Claim')")
        else:
            page.wait_for_url(re.compile(r".*/ui/reports/.*msg=.*"))
        page.wait_for_selector("article.item")
        next_loads = count.loads
        browser.close()
    print(f"{label:<28} {clicks:>6} {loads:>24} {next_loads:>28}")
    return clicks, loads, next_loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-ref", default="main", help="git revision of the old workbench ('' to skip)")
    args = parser.parse_args()
    print(f"{'workbench':<28} {'clicks':>6} {'page loads to decision':>24} {'page loads to next report':>28}")
    if args.old_ref:
        with tempfile.TemporaryDirectory() as old:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.old_ref, "src"], capture_output=True,
                                     check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(old, filter="data")
            run(Path(old) / "src", old_path, f"{args.old_ref} (before)")
    clicks, loads, _ = run(ROOT / "src", new_path, "this tree (one screen)")
    print(f"target: <= 4 clicks and <= 1 page load: {'met' if clicks <= 4 and loads <= 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
