"""The blurred view of a 12 MP JPEG over HTTP, the path an analyst's browser takes:
``GET /ui/items/{id}/media`` against a real ``balise serve`` on loopback, for this tree (the
view made from the source kept encrypted at hashing) and for another git revision (default
main: the view made from the original at each request), served from ``git archive`` of it, in
the same run. Called by ``bench_derivatives.py --http``.

For each tree: DEMO data seeded, one DEMO report of the benchmark's generated benign pictures
filed through the provider API, hashed and triaged by the server's own job runner; the DEMO
analyst signs in (password and TOTP), claims the report, and asks for each picture's view
``rounds`` times. Wall time from request to last byte, and the CPU time of the ``balise serve``
process per request (robust to the other work on the machine).
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
from bench_analyst_flow import ROOT, balise, demo_server
from bench_report_page import cpu_seconds, csrf

from balise.demo import DEMO_PASSWORD


def file_report(base: str, key: str, pictures: list[bytes]) -> str:
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam", "service": {"type": "hosting"},
              "awareness": {"source": "own_motion"}, "content_removed": True, "signature": "DEMO-SIG",
              "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}}, "user_decision": "suspend",
              "reported_elsewhere": {"reported": False},
              "additional_info": "DEMO report of generated benign pictures, for a benchmark.",
              "items": [{"kind": "media", "file": f"f{i}", "filename": f"demo-{i}.jpg"} for i in range(len(pictures))]}
    files = [(f"f{i}", (f"demo-{i}.jpg", data, "image/jpeg")) for i, data in enumerate(pictures)]
    headers = {"Authorization": f"Bearer {key}"}
    r = httpx.post(f"{base}/api/v1/reports", headers=headers, data={"report": json.dumps(report)}, files=files,
                   timeout=300)
    r.raise_for_status()
    rid = r.json()["id"]
    for _ in range(1200):
        if httpx.get(f"{base}/api/v1/reports/{rid}", headers=headers).json()["state"] == "in_assessment":
            return rid
        time.sleep(0.5)
    raise RuntimeError("the report was not triaged in time")


def run(src: Path, pictures: list[bytes], rounds: int) -> tuple[list[float], float]:
    """(wall ms per view, server CPU ms per view) for the tree in ``src``."""
    with tempfile.TemporaryDirectory() as tmp, demo_server(src, Path(tmp) / "data") as (base, env, server):
        credentials = (Path(tmp) / "data" / "demo-credentials.txt").read_text()
        key = re.search(r"DEMO provider API key: (\S+)", credentials).group(1)
        rid = file_report(base, key, pictures)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
            page = client.get("/ui/login").text
            client.post("/ui/login", data={"csrftoken": csrf(page), "username": "demo-analyst",
                                           "password": DEMO_PASSWORD})
            code = balise(src, env, "user", "totp-code", "demo-analyst").stdout.strip()
            page = client.get("/ui/login/totp").text
            client.post("/ui/login/totp", data={"csrftoken": csrf(page), "code": code})
            queue = client.get("/ui/queue").text
            claimed = client.post(f"/ui/reports/{rid}/claim", data={"csrftoken": csrf(queue)})
            items = list(dict.fromkeys(re.findall(r"/ui/items/([0-9a-f-]{36})/media", claimed.text)))
            assert len(items) == len(pictures), (len(items), claimed.status_code)
            time.sleep(2)  # let the job runner go idle
            times = []
            cpu_before = cpu_seconds(server.pid)
            for _ in range(rounds):
                for item in items:
                    started = time.perf_counter()
                    answer = client.get(f"/ui/items/{item}/media")
                    answer.read()
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png", answer.status_code
            cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / len(times)
    return times, cpu_ms


def compare(pictures: list[bytes], old_ref: str, rounds: int) -> None:
    try:  # client and server on any core again (the engine figures were on one)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    except (AttributeError, OSError):
        pass
    rows = []
    if old_ref:
        with tempfile.TemporaryDirectory() as old:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", old_ref, "src"], capture_output=True,
                                     check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(old, filter="data")
            rows.append((f"{old_ref} (from the original)", *run(Path(old) / "src", pictures, rounds)))
    rows.append(("this tree (kept source)", *run(ROOT / "src", pictures, rounds)))
    print(f"\nGET /ui/items/{{id}}/media over HTTP on loopback, {len(pictures)} pictures x {rounds} round(s), "
          f"DEMO analyst holding the claim; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'tree':<32} {'p50 ms':>8} {'p95 ms':>8} {'server CPU ms/view':>20}")
    for label, times, cpu_ms in rows:
        times = sorted(times)
        print(f"{label:<32} {statistics.median(times):8.1f} {times[min(len(times) - 1, int(len(times) * 0.95))]:8.1f}"
              f" {cpu_ms:20.1f}")
