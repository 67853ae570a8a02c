#!/usr/bin/env python3
"""`POST /api/v1/match` over real HTTP on loopback: one audit event per query in its own
transaction (the behaviour before the match access log, `BALISE_MATCH_LOG_MODE=audit-row`)
against the batched, chained access log (the default), in the same run, on SQLite and
PostgreSQL.

A real `balise serve` (one process, no job runner) per mode and round; C client threads with
keep-alive connections send one PDQ hash per request for S seconds after a warm-up. Rounds
alternate the modes (A B A B) so that drift on a shared machine hits both. After each round the
server is stopped with SIGTERM and the rows are counted: every 200 answered must be one audit
event (audit-row) or one access log entry (batched), or the script fails.

    python benchmarks/bench_match_access_log.py                   # SQLite and PostgreSQL, ~3 min
    python benchmarks/bench_match_access_log.py --quick
    python benchmarks/bench_match_access_log.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from balise.accounts.actors import Actor  # noqa: E402
from balise.adapters.db.migrate import upgrade  # noqa: E402
from balise.adapters.db.models import AuditRecord, MatchAccessBatch  # noqa: E402
from balise.container import Balise  # noqa: E402
from balise.domain.model import OrgKind, Scope  # noqa: E402
from balise.settings import Settings  # noqa: E402

BALISE = str(Path(sys.executable).parent / "balise")
ACTOR = Actor.system("benchmark")


def machine() -> str:
    with open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def prepare(url: str, data_dir: Path, indicators: int) -> tuple[Balise, str]:
    upgrade(url)
    balise = Balise(Settings(env="development", data_dir=data_dir, database_url=url))
    rng = random.Random(7)
    csv = "signal_type,signal_value,ncmec_category\n" + "".join(f"pdq,{random_pdq(rng)},A1\n" for _ in range(indicators))
    with balise.db.transaction() as s:
        balise.indicators.import_lines(s, ACTOR, io.StringIO(csv), fmt="csv", source="benchmark (random hashes)")
        org = balise.organisations.create(s, ACTOR, name="Benchmark provider", kind=OrgKind.PROVIDER, country="FR")
        key = balise.organisations.issue_key(s, ACTOR, org, (Scope.MATCH,)).plaintext
    balise.pdq_index.save_snapshot()
    return balise, key


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (robust to other load on the machine)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def counts(balise: Balise) -> tuple[int, int]:
    with balise.db.sessions() as s:
        events = s.execute(select(func.count()).select_from(AuditRecord)
                           .where(AuditRecord.event_type == "indicator:match")).scalar_one()
        entries = s.execute(select(func.coalesce(func.sum(MatchAccessBatch.entry_count), 0))).scalar_one()
    return events, entries


def load(base: str, key: str, clients: int, seconds: float, warmup: float) -> tuple[int, list[float], int]:
    """(requests answered in the measured window, their latencies sorted, all requests answered)."""
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    measured: list[int] = []
    answered: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        rng = random.Random(n)
        mine: list[float] = []
        total = 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            while (now := time.monotonic()) < stop_at:
                r = http.post("/api/v1/match", json={"hashes": [{"type": "pdq", "value": random_pdq(rng)}]})
                if r.status_code != 200:
                    raise SystemExit(f"HTTP {r.status_code}: {r.text[:200]}")
                total += 1
                if now >= measure_from:
                    mine.append(time.monotonic() - now)
        with lock:
            measured.append(len(mine))
            answered.append(total)
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(measured), sorted(latencies), sum(answered)


def round_(balise: Balise, key: str, url: str, data_dir: Path, mode: str, args: argparse.Namespace) -> dict:
    before = counts(balise)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(data_dir), BALISE_DATABASE_URL=url,
               BALISE_RUN_JOBS_IN_SERVER="false", BALISE_API_RATE_LIMIT="100000000/minute",
               BALISE_MATCH_LOG_MODE=mode, BALISE_FETCH_RESOLVER="static")
    proc = subprocess.Popen([BALISE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        cpu_before = cpu_seconds(proc.pid)
        measured, latencies, total = load(base, key, args.clients, args.seconds, args.warmup)
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    after = counts(balise)
    logged = (after[0] - before[0]) if mode == "audit-row" else (after[1] - before[1])
    if logged != total:
        raise SystemExit(f"{mode}: {total} queries answered but {logged} logged")
    return {"rps": measured / args.seconds, "cpu_ms": cpu / total * 1000, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "logged": logged, "answered": total}


def bench_database(name: str, url: str, args: argparse.Namespace, work: Path) -> list[tuple[str, str, dict]]:
    data_dir = work / name
    balise, key = prepare(url, data_dir, args.indicators)
    results: dict[str, list[dict]] = {"audit-row": [], "batched": []}
    try:
        for r in range(args.rounds):
            for mode in (("audit-row", "batched") if r % 2 == 0 else ("batched", "audit-row")):
                result = round_(balise, key, url, data_dir, mode, args)
                results[mode].append(result)
                print(f"  {name} round {r + 1} {mode:9}: {result['rps']:7.1f} req/s  "
                      f"server CPU {result['cpu_ms']:.2f} ms/request  p50 {result['p50']:.1f} ms  "
                      f"p99 {result['p99']:.1f} ms  ({result['answered']} answered = {result['logged']} logged)",
                      flush=True)
    finally:
        balise.close()
    rows = []
    for mode in ("audit-row", "batched"):
        rs = results[mode]
        rows.append((name, mode, {"rps": statistics.mean(r["rps"] for r in rs),
                                  "cpu_ms": statistics.mean(r["cpu_ms"] for r in rs),
                                  "p50": statistics.mean(r["p50"] for r in rs),
                                  "p99": statistics.mean(r["p99"] for r in rs)}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--indicators", type=int, default=10_000)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="an admin URL; a database of its own is created and dropped ('' to skip PostgreSQL)")
    parser.add_argument("--quick", action="store_true", help="3 s per round, 1,000 indicators")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.indicators = 3.0, 0.5, 1000
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"{args.clients} client threads, keep-alive, one PDQ hash per request, {args.seconds:.0f} s per round, "
          f"{args.rounds} rounds per mode, {args.indicators} indicators\n")
    work = Path(tempfile.mkdtemp(prefix="balise-bench-access-log-"))
    rows = []
    try:
        rows += bench_database("SQLite", f"sqlite:///{work / 'balise.sqlite3'}", args, work)
        if args.postgres_url:
            admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            name = f"balise_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
                rows += bench_database("PostgreSQL", url, args, work)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n| database | logging of match queries | req/s | server CPU ms/request | p50 ms | p99 ms | req/s ratio |")
    print("|---|---|---|---|---|---|---|")
    for db in dict.fromkeys(r[0] for r in rows):
        base = next(r[2]["rps"] for r in rows if r[0] == db and r[1] == "audit-row")
        for _, mode, r in (x for x in rows if x[0] == db):
            label = "one audit event per query (before)" if mode == "audit-row" else "batched access log"
            print(f"| {db} | {label} | {r['rps']:.1f} | {r['cpu_ms']:.2f} | {r['p50']:.1f} | {r['p99']:.1f} "
                  f"| {r['rps'] / base:.2f}× |")


if __name__ == "__main__":
    main()
