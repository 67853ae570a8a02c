#!/usr/bin/env python3
"""Report page with 50 items (issue 13): how long `balise serve` takes to answer
GET /ui/reports/{id}, timed over real HTTP on loopback, with DEMO data.

Seeds the DEMO data, files one DEMO report of 50 generated benign pictures (40) and URLs (10)
through the provider API, waits for hashing and triage, signs in as the DEMO analyst (password
and TOTP, as a browser does), claims the report and asks for its page again and again. Each
answer is the whole assessment screen: the report, its 50 items with their matches and
assessment panels, and the audit events a view records (report:read, 50 item:read,
person:read). The time is from sending the request to the last byte of the answer, on the same
machine (no network in between), so it is the server's time; with other work on the machine it
waits for a core too, so the server process's own CPU time per request is printed beside it.

    .venv/bin/python benchmarks/bench_report_page.py               # 50 items, 40 requests
    .venv/bin/python benchmarks/bench_report_page.py --requests 10 --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_analyst_flow import ROOT, balise, demo_server  # noqa: E402

from balise.demo import DEMO_PASSWORD, demo_image  # noqa: E402

TARGET_MS = 300


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc), robust to other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def csrf(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def file_report(base: str, key: str, pictures: int, urls: int) -> str:
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam", "service": {"type": "hosting"},
              "awareness": {"source": "own_motion"}, "content_removed": True, "signature": "DEMO-SIG",
              "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}}, "user_decision": "suspend",
              "reported_elsewhere": {"reported": False},
              "additional_info": "DEMO report of generated benign pictures, for a benchmark.",
              "items": [{"kind": "media", "file": f"f{i}", "filename": f"demo-{i}.jpg"} for i in range(pictures)]
              + [{"kind": "url", "url": f"https://provider.demo.invalid/media/bench-{i}.jpg"} for i in range(urls)]}
    files = [(f"f{i}", (f"demo-{i}.jpg", demo_image(9000 + i, (640, 480)), "image/jpeg")) for i in range(pictures)]
    headers = {"Authorization": f"Bearer {key}"}
    r = httpx.post(f"{base}/api/v1/reports", headers=headers, data={"report": json.dumps(report)}, files=files,
                   timeout=120)
    r.raise_for_status()
    rid = r.json()["id"]
    for _ in range(600):
        if httpx.get(f"{base}/api/v1/reports/{rid}", headers=headers).json()["state"] == "in_assessment":
            return rid
        time.sleep(0.5)
    raise RuntimeError("the report was not triaged in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", type=int, default=40)
    parser.add_argument("--urls", type=int, default=10)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 requests")
    args = parser.parse_args()
    requests = 10 if args.quick else args.requests
    src = ROOT / "src"
    with tempfile.TemporaryDirectory() as tmp, demo_server(src, Path(tmp) / "data") as (base, env, server):
        credentials = (Path(tmp) / "data" / "demo-credentials.txt").read_text()
        key = re.search(r"DEMO provider API key: (\S+)", credentials).group(1)
        rid = file_report(base, key, args.pictures, args.urls)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
            page = client.get("/ui/login").text
            client.post("/ui/login", data={"csrftoken": csrf(page), "username": "demo-analyst",
                                           "password": DEMO_PASSWORD})
            code = balise(src, env, "user", "totp-code", "demo-analyst").stdout.strip()
            page = client.get("/ui/login/totp").text
            client.post("/ui/login/totp", data={"csrftoken": csrf(page), "code": code})
            queue = client.get("/ui/queue").text
            claimed = client.post(f"/ui/reports/{rid}/claim", data={"csrftoken": csrf(queue)})
            assert claimed.status_code == 200 and "form.classify" not in claimed.text, claimed.status_code
            items = claimed.text.count('<article class="item"')
            forms = claimed.text.count('class="classify"')
            assert items == args.pictures + args.urls, items
            client.get(f"/ui/reports/{rid}")  # warm
            times = []
            cpu_before = cpu_seconds(server.pid)
            for _ in range(requests):
                started = time.perf_counter()
                answer = client.get(f"/ui/reports/{rid}")
                answer.read()
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200
            cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / requests
            size = len(answer.content)
    times.sort()
    p50, p95 = statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"report page, {items} items ({args.pictures} pictures, {args.urls} URLs), {forms} classification forms, "
          f"{size / 1024:.0f} KiB of HTML; {requests} requests over HTTP on loopback")
    print(f"p50 {p50:.0f} ms   p95 {p95:.0f} ms   min {times[0]:.0f} ms   max {times[-1]:.0f} ms")
    print(f"server CPU time per request: {cpu_ms:.0f} ms (user + system of the `balise serve` process; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"target: < {TARGET_MS} ms: {'met' if p50 < TARGET_MS else 'NOT met'} (p50 over HTTP), "
          f"{'met' if cpu_ms < TARGET_MS else 'NOT met'} (CPU time)")


if __name__ == "__main__":
    main()
