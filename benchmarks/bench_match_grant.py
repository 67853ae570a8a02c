"""What the access-grant check (CSAR Art. 46) costs each POST /api/v1/match.

1. In process, on the same database the server uses: the key's authentication with and without
   the grant check in the same session (as the endpoint runs them), interleaved, and the update
   of the grant's last use that the endpoint adds to its audit transaction; medians over many
   calls, with 1,000 other organisations holding 3 grants each in the table.
2. End to end over real HTTP on loopback: a `balise serve` (SQLite) answering one-hash match
   calls from one client for a fixed time: calls per second, p50 and p95 latency. The check's
   p50 is then put beside the call's p50.

Usage: .venv/bin/python benchmarks/bench_match_grant.py [--quick] [--postgres URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def seed(balise, others: int):  # type: ignore[no-untyped-def]
    from balise.accounts.actors import Actor
    from balise.domain.grants import check_terms
    from balise.domain.model import OrgKind

    actor, admin = Actor.system("bench"), Actor.system("bench-admin")
    now = balise.clock()

    def terms(db: str):  # type: ignore[no-untyped-def]
        return check_terms(databases=(db,), operations=("match",), purpose="bench", legal_basis="bench",
                           order_reference=None, valid_from=now - timedelta(days=1),
                           valid_until=now + timedelta(days=300), max_months=24, now=now)

    with balise.db.transaction() as s:
        target = None
        for n in range(others + 1):
            org = balise.organisations.create(s, actor, name=f"Bench org {n}", kind=OrgKind.PROVIDER)
            for i, db in enumerate(("known_indicators", "new_indicators", "url_list")):
                grant = balise.grants.request(s, actor, org.id, terms(db))
                balise.grants.approve(s, admin, grant.id, "bench approval")
                if i == 2 and n % 2:
                    balise.grants.revoke(s, admin, grant.id, "bench revocation")
            target = org
        key = balise.organisations.issue_key(s, actor, target, ["match"]).plaintext
        return target.id, key


def bench_check(url: str, calls: int, others: int) -> dict[str, float]:
    from balise.container import Balise
    from balise.domain.grants import GrantDatabase, GrantOperation
    from balise.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="balise-bench-grant-"))
    from balise.adapters.db.migrate import upgrade

    upgrade(url)
    balise = Balise(Settings(env="development", data_dir=work, database_url=url))
    org, key = seed(balise, others)
    dbs = tuple(GrantDatabase)[:4]
    with_grant, key_only, updates = [], [], []
    access = None
    # As the server does it: the key is authenticated and the grant checked in one session.
    # Interleaved with the same session without the check, so that load on the machine
    # affects both alike; the difference is what the check adds.
    for _ in range(calls):
        t = time.perf_counter()
        with balise.db.sessions() as s:
            principal = balise.organisations.authenticate(s, key)
            access = balise.grants.check(s, principal.organisation_id, GrantOperation.MATCH, dbs)
        with_grant.append(time.perf_counter() - t)
        t = time.perf_counter()
        with balise.db.sessions() as s:
            principal = balise.organisations.authenticate(s, key)
        key_only.append(time.perf_counter() - t)
    assert access is not None and access.allowed and principal.organisation_id == org
    with balise.db.transaction() as s:
        for _ in range(calls):
            t = time.perf_counter()
            balise.grants.used(s, access)
            s.flush()
            updates.append(time.perf_counter() - t)
    balise.close()
    added = [a - b for a, b in zip(with_grant, key_only)]
    return {"with_p50_us": pct(with_grant, 50) * 1e6, "key_p50_us": pct(key_only, 50) * 1e6,
            "added_p50_us": statistics.median(added) * 1e6, "used_p50_us": pct(updates, 50) * 1e6,
            "used_p95_us": pct(updates, 95) * 1e6}


def bench_http(seconds: float) -> dict[str, float]:
    import httpx

    balise = str(Path(sys.executable).parent / "balise")
    work = Path(tempfile.mkdtemp(prefix="balise-bench-grant-http-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(work), BALISE_API_RATE_LIMIT="100000000/minute",
               BALISE_RUN_JOBS_IN_SERVER="false")

    def run(*args: str) -> str:
        return subprocess.run([balise, *args], env=env, check=True, capture_output=True, text=True).stdout

    run("db", "upgrade")
    key = re.search(r"(bal_\S+)", run("org", "create", "Bench", "--kind", "provider", "--scope", "match")).group(1)
    until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 300 * 86400))
    grant = run("grant", "request", "Bench", "--database", "known_indicators", "--operation", "match",
                "--purpose", "bench", "--legal-basis", "bench", "--until", until).split()[1]
    run("grant", "approve", grant, "--reason", "bench approval")
    lines = work / "md5.txt"
    values = [hashlib.md5(str(i).encode()).hexdigest() for i in range(1000)]
    lines.write_text("".join(f"md5 {v}\n" for v in values))
    run("indicators", "import", str(lines), "--format", "te", "--court", "DEMO court (benchmark)",
        "--reference", "bench_match_grant")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([balise, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.3)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        bodies = [json.dumps({"hashes": [{"type": "md5", "value": v}]}) for v in values[:100]]
        latencies = []
        with httpx.Client(timeout=60) as c:
            for body in bodies[:20]:
                c.post(f"{base}/api/v1/match", content=body, headers=headers).raise_for_status()
            stop = time.monotonic() + seconds
            i = 0
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = c.post(f"{base}/api/v1/match", content=bodies[i % len(bodies)], headers=headers)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200 and r.json()["grants"] == [int(grant)], r.text
                i += 1
    finally:
        server.terminate()
        server.wait(30)
    return {"calls": len(latencies), "calls_per_s": len(latencies) / seconds,
            "p50_ms": statistics.median(latencies) * 1e3, "p95_ms": pct(latencies, 95) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", help="also measure the check on PostgreSQL: a server URL whose user may create "
                                           "a database (one is created for the run and dropped after)")
    args = parser.parse_args()
    calls, others, seconds = (200, 50, 3.0) if args.quick else (3000, 1000, 30.0)
    urls = {"SQLite": f"sqlite:///{tempfile.mkdtemp(prefix='balise-bench-grant-db-')}/b.sqlite3"}
    admin = None
    if args.postgres:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"balise_bench_grant_{os.getpid()}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls["PostgreSQL"] = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    try:
        checks = {name: bench_check(url, calls, others) for name, url in urls.items()}
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    http = bench_http(seconds)
    print(f"grant check, in process ({calls} calls; {others} other organisations with 3 grants each):")
    print("| database | key check, p50 | key + grant check, p50 | added by the grant check, p50 of differences "
          "| last-use update p50 / p95 |")
    print("|---|---|---|---|---|")
    for name, c in checks.items():
        print(f"| {name} | {c['key_p50_us']:.0f} µs | {c['with_p50_us']:.0f} µs | {c['added_p50_us']:.0f} µs "
              f"| {c['used_p50_us']:.0f} µs / {c['used_p95_us']:.0f} µs |")
    print(f"\nPOST /api/v1/match over HTTP on loopback (SQLite, 1 hash per call, one client, {seconds:.0f} s):")
    print(f"calls/s {http['calls_per_s']:.1f}; p50 {http['p50_ms']:.2f} ms; p95 {http['p95_ms']:.2f} ms "
          f"({http['calls']} calls)")
    share = (checks["SQLite"]["added_p50_us"] + checks["SQLite"]["used_p50_us"]) / 1e3 / http["p50_ms"] * 100
    print(f"grant check + last-use update (SQLite p50) = {share:.1f} % of the call's p50")


if __name__ == "__main__":
    main()
