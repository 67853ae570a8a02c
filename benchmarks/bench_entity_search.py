"""Entity search over N reports on PostgreSQL (issue 17: 1 M reports, < 50 ms).

A new database is migrated and filled by COPY with N DEMO reports (the columns a report must
have) and 3 entity mentions each (a Monero address shared by 1 report in 50, an e-mail, an IBAN
or phone number), as the `entities.extract` job writes them. Then, side by side in one run:

* Balise: ``EntityIndex.search`` as the staff page, the API and the CLI call it — every reading
  of the value, the indexed digest lookup joined to the reports, and the entity:search audit
  event written in the same transaction — timed per call, p50 and p95 over many values;
* the naive peer: a plain ``ILIKE '%value%'`` scan of the stored values (what a search without
  the index would do), a few calls.

Usage: .venv/bin/python benchmarks/bench_entity_search.py [--reports 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--naive", type=int, default=5)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    from sqlalchemy.engine import make_url

    from balise.accounts.actors import Actor
    from balise.adapters.db.migrate import upgrade
    from balise.container import Balise
    from balise.domain import entities as E
    from balise.settings import Settings

    name = f"balise_bench_entities_{os.getpid()}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        rng = random.Random(17)
        n = args.reports
        started = time.perf_counter()
        wallets = [E.monero_address(18, rng.randbytes(32), rng.randbytes(32)) for _ in range(max(1, n // 50))]
        report_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n)]
        base = datetime(2026, 1, 1, tzinfo=UTC)
        engine = create_engine(url)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY reports (id, source, state, urgent, imminent_threat, priority, revision, is_demo, "
                          "created_at, updated_at) FROM STDIN") as copy:
                for i, rid in enumerate(report_ids):
                    at = (base + timedelta(seconds=i * 30)).replace(tzinfo=None)
                    state = "forwarded_europol_only" if i % 3 == 0 else "in_assessment"
                    copy.write_row((rid, "provider_api", state, False, False, 0, 0, True, at, at))
            emails, samples = [], []
            with cur.copy("COPY entity_mentions (report_id, kind, value, valid, search_key, source, created_at) "
                          "FROM STDIN") as copy:
                now = datetime(2026, 12, 1)
                for i, rid in enumerate(report_ids):
                    wallet = wallets[i // 50]
                    email = f"user{i}@demo{i % 997}.example"
                    if i % 500 == 0:
                        samples.append(rng.choice([wallet, email]))
                    rows = [("monero", wallet), ("email", email),
                            ("phone", f"+3361{i:07d}") if i % 2 else ("iban", f"DEMO{i:018d}")]
                    for kind, value in rows:
                        copy.write_row((rid, kind, value, True, E.search_key(kind, value), "identifier", now))
            raw.commit()
            cur.execute("ANALYZE reports")
            cur.execute("ANALYZE entity_mentions")
            raw.commit()
        finally:
            raw.close()
        engine.dispose()
        fill = time.perf_counter() - started

        data = Path(tempfile.mkdtemp(prefix="bench-entities-"))
        balise = Balise(Settings(env="development", data_dir=data, database_url=url))
        actor = Actor.system("bench")
        queries = [rng.choice(samples) for _ in range(args.queries)]
        for value in queries[:20]:  # warm the caches and the connection pool
            with balise.db.transaction() as session:
                balise.entities.search(session, actor, "analyst", value, "benchmark warm-up")
        timings, found = [], 0
        for value in queries:
            t0 = time.perf_counter()
            with balise.db.transaction() as session:
                result = balise.entities.search(session, actor, "analyst", value, "benchmark")
            timings.append((time.perf_counter() - t0) * 1000)
            found += result.report_count > 0
        lookups = []
        with balise.db.sessions() as session:
            for value in queries:
                keys = {e.key for e in E.interpretations(value)}
                t0 = time.perf_counter()
                balise.entities.lookup(session, keys)
                lookups.append((time.perf_counter() - t0) * 1000)
        naive = []
        with balise.db.sessions() as session:
            for value in queries[: args.naive]:
                t0 = time.perf_counter()
                session.execute(text("SELECT m.report_id, r.state FROM entity_mentions m JOIN reports r "
                                     "ON r.id = m.report_id WHERE m.value ILIKE :q LIMIT 800"),
                                {"q": f"%{value}%"}).all()
                naive.append((time.perf_counter() - t0) * 1000)
        balise.close()
        load = os.getloadavg()
        print(f"entity search over {n:,} reports ({3 * n:,} mentions) on PostgreSQL; fill {fill:.0f} s; "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
        print(f"{'':38} {'p50 ms':>9} {'p95 ms':>9} {'calls':>6}")
        print(f"{'Balise EntityIndex.search (+ audit)':38} {statistics.median(timings):9.2f} "
              f"{pct(timings, 95):9.2f} {len(timings):6}   ({found} with reports)")
        print(f"{'  of which the indexed lookup alone':38} {statistics.median(lookups):9.2f} "
              f"{pct(lookups, 95):9.2f} {len(lookups):6}")
        print(f"{'naive ILIKE %value% scan':38} {statistics.median(naive):9.2f} {pct(naive, 95):9.2f} {len(naive):6}")
        target = 50.0
        print(f"target p50 < {target:.0f} ms: {'met' if statistics.median(timings) < target else 'NOT met'}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
