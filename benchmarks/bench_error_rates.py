#!/usr/bin/env python3
"""Time of the measured error rates on a large history, on SQLite and PostgreSQL.

A throw-away database (a SQLite file in a temp dir; a PostgreSQL database created and dropped on
the server named by --postgres) migrated by Balise; 12 indicators from 3 lists; N items over
24 months, one per report, written as rows (bulk insert): 70 % matched (MD5 and SHA-256 together,
or PDQ at a random distance 0-31, or both), the rest unmatched from providers and the public;
decisions drawn at random (classified by an analyst, inherited then forwarded or found
manifestly unfounded, or not decided). Then, timed:

* ``error_rates_for_period`` over everything (what ``balise stats errors`` and the
  transparency report compute),
* the nightly job ``ErrorRates.store_recent`` (24 months and their ISO weeks, replaced),
* ``stored_figures`` over 12 months (what the auditors' page reads),

with the peak resident memory of this process after each. No peer exists to compare with.

    .venv/bin/python benchmarks/bench_error_rates.py --items 1000000
    .venv/bin/python benchmarks/bench_error_rates.py --quick
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from balise.adapters.db.migrate import upgrade
from balise.adapters.db.models import Indicator, Item, Report
from balise.domain.error_rates import Granularity
from balise.governance.error_rates import (
    ErrorRates,
    error_rates_for_period,
    stored_figures,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
BATCH = 5000


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, items: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = create_engine(url)
    with engine.begin() as conn:
        indicators = []
        for n in range(12):
            algorithm = ("md5", "sha256", "pdq")[n % 3]
            indicators.append({"id": n + 1, "kind": "known_csam", "media_type": "image", "algorithm": algorithm,
                               "value": f"{n:032x}" if algorithm == "md5" else f"{n:064x}",
                               "provenance": {"source": f"list {'ABC'[n // 4]}"}, "status": "active",
                               "version": n + 1, "created_at": NOW, "updated_at": NOW})
        conn.execute(insert(Indicator), indicators)
        reports, rows = [], []
        for n in range(items):
            received = NOW - timedelta(seconds=rng.randrange(730 * 86400))
            kind = rng.random()
            matches = []
            if kind < 0.35:
                k = rng.randrange(4)
                matches = [{"indicator_id": 3 * k + 1, "algorithm": "md5", "distance": 0},
                           {"indicator_id": 3 * k + 2, "algorithm": "sha256", "distance": 0}]
            elif kind < 0.6:
                matches = [{"indicator_id": 3 * rng.randrange(4) + 3, "algorithm": "pdq",
                            "distance": rng.randrange(32)}]
            elif kind < 0.7:
                k = rng.randrange(4)
                matches = [{"indicator_id": 3 * k + 1, "algorithm": "md5", "distance": 0},
                           {"indicator_id": 3 * k + 3, "algorithm": "pdq", "distance": rng.randrange(32)}]
            fate = rng.random()
            outcome, assessed, report_outcome = None, None, None
            if fate < 0.45:
                outcome, assessed = rng.choice(("illegal",) * 8 + ("not_illegal", "cannot_assess")), "analyst"
            elif fate < 0.85 and matches:
                outcome, assessed = "illegal", f"reuse:indicator:{matches[0]['indicator_id']}"
                report_outcome = "forwarded" if rng.random() < 0.9 else "manifestly_unfounded"
            elif fate < 0.9:
                report_outcome = "manifestly_unfounded"
            rid = uuid.uuid4()
            reports.append({"id": rid, "source": "public_form" if not matches and rng.random() < 0.3 else "provider_api",
                            "state": "in_assessment", "outcome": report_outcome, "created_at": received,
                            "updated_at": received})
            rows.append({"id": uuid.uuid4(), "report_id": rid, "position": 0, "kind": "hash_only",
                         "matches": matches or None, "matched": bool(matches), "outcome": outcome,
                         "assessment_source": assessed, "created_at": received})
            if len(rows) == BATCH:
                conn.execute(insert(Report), reports)
                conn.execute(insert(Item), rows)
                reports, rows = [], []
        if rows:
            conn.execute(insert(Report), reports)
            conn.execute(insert(Item), rows)
    engine.dispose()


def measure(label: str, url: str, items: int) -> list[tuple[str, str, str]]:
    upgrade(url)
    started = time.perf_counter()
    fill(url, items)
    filled = time.perf_counter() - started
    engine = create_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    out = [(label, f"write {items:,} items (setup)", f"{filled:.1f} s")]
    with sessions() as session:
        started = time.perf_counter()
        rates = error_rates_for_period(session, None, None)
        out.append((label, "error_rates_for_period, all items",
                    f"{time.perf_counter() - started:.2f} s ({len(rates)} rows; peak RSS {peak_mib():.0f} MiB)"))
    with sessions() as session, session.begin():
        started = time.perf_counter()
        stored = ErrorRates(lambda: NOW, months=24).store_recent(session)
        out.append((label, "nightly job, 24 months + weeks",
                    f"{time.perf_counter() - started:.2f} s ({stored:,} rows; peak RSS {peak_mib():.0f} MiB)"))
    with sessions() as session:
        started = time.perf_counter()
        figures = stored_figures(session, NOW.replace(year=NOW.year - 1), NOW, Granularity.MONTH)
        out.append((label, "auditors' page read, 12 months",
                    f"{1000 * (time.perf_counter() - started):.0f} ms ({len(figures.totals)} rows)"))
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 items")
    parser.add_argument("--postgres", default=os.environ.get(
        "BALISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="an administrative URL on which a throw-away database is created ('' to skip PostgreSQL)")
    args = parser.parse_args()
    items = 20_000 if args.quick else args.items
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", items)
    if args.postgres:
        name = f"balise_bench_errors_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results += measure("PostgreSQL", make_url(args.postgres).set(database=name)
                               .render_as_string(hide_password=False), items)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"| database | measure | {items:,} items |")
    print("|---|---|---|")
    for label, what, figure in results:
        print(f"| {label} | {what} | {figure} |")


if __name__ == "__main__":
    main()
