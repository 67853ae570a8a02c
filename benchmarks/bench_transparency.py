#!/usr/bin/env python3
"""How long the transparency report's figures take for a year of N reports on PostgreSQL.

Creates a scratch database on the local PostgreSQL server (BALISE_TEST_POSTGRES_URL, default
postgres@127.0.0.1:5432), migrates it, and generates the year with INSERT ... SELECT over
generate_series (no row passes through Python): N reports over 50 providers in every state,
type and service, one media item each (some reported several times), a URL item for every
fourth report with its hosting, host notice and takedown (most removed within days), the
Member State of every forwarded report, and N/10 indicators. Then times
``Transparency.compute`` (every Article 83(3) table, suppression included) and, with
``--files``, the HTML, PDF, CSV and charts too. The scratch database is dropped at the end.

    .venv/bin/python benchmarks/bench_transparency.py --reports 1000000
    .venv/bin/python benchmarks/bench_transparency.py --reports 100000 --files
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from balise.adapters.db.migrate import upgrade  # noqa: E402

ADMIN = os.environ.get("BALISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

GENERATE = [
    ("organisations", """
        INSERT INTO organisations (id, name, kind, country, is_demo, created_at)
        SELECT gen_random_uuid(), 'Bench provider ' || g, 'provider', 'FR', false, timestamp '2026-01-01'
        FROM generate_series(1, 50) g"""),
    ("first audit event", """
        INSERT INTO audit_events (seq, occurred_at, event_type, actor_type, actor_id, subject_type, subject_id,
                                  purpose, details, prev_mac, mac)
        VALUES (1, timestamp '2026-01-01', 'org:create', 'system', 'bench', 'organisation', 'bench', 'bench',
                '{}'::json, repeat('0', 64), repeat('1', 64))"""),
    ("reports", """
        WITH o AS (SELECT array_agg(id ORDER BY name) AS ids FROM organisations)
        INSERT INTO reports (id, organisation_id, source, state, urgent, report_type, service_type, imminent_threat,
                             priority, revision, is_demo, created_at, updated_at)
        SELECT gen_random_uuid(),
               CASE WHEN g % 20 = 0 THEN NULL ELSE o.ids[1 + g % 50] END,
               CASE WHEN g % 20 = 0 THEN 'public_form' ELSE 'provider_api' END,
               (ARRAY['manifestly_unfounded', 'forwarded_europol_only', 'in_assessment', 'forwarded_europol_and_state',
                      'forwarded_europol_and_state', 'forwarded_europol_and_state', 'forwarded_europol_and_state',
                      'forwarded_europol_and_state', 'forwarded_europol_and_state', 'forwarded_europol_and_state'])[1 + g % 10],
               false, (ARRAY['known_csam', 'new_csam', 'solicitation'])[1 + g % 3],
               (ARRAY['hosting', 'interpersonal_communication', 'other'])[1 + (g / 3) % 3],
               false, 0, 0, false,
               timestamp '2026-01-01' + (g::float8 / :n) * interval '330 days',
               timestamp '2026-01-01' + (g::float8 / :n) * interval '330 days'
        FROM generate_series(1, :n) g, o"""),
    ("media items", """
        INSERT INTO items (id, report_id, position, kind, media_type, sha256, polyglot, matched, times_reported,
                           outcome, revision, created_at)
        SELECT gen_random_uuid(), r.id, 0, 'media', 'image', encode(sha256(r.id::text::bytea), 'hex'), false, false,
               CASE WHEN random() < 0.8 THEN 1 WHEN random() < 0.7 THEN 2 ELSE 3 + (random() * 20)::int END,
               CASE r.state WHEN 'manifestly_unfounded' THEN 'not_illegal' WHEN 'in_assessment' THEN NULL
                            ELSE 'illegal' END,
               0, r.created_at
        FROM reports r"""),
    ("url items", """
        INSERT INTO items (id, report_id, position, kind, url, polyglot, matched, times_reported, revision, created_at)
        SELECT gen_random_uuid(), r.id, 1, 'url', 'https://host' || (abs(hashtext(r.id::text)) % 5000) || '.example/x',
               false, false, 1, 0, r.created_at
        FROM reports r WHERE abs(hashtext(r.id::text)) % 4 = 0"""),
    ("jurisdictions", """
        INSERT INTO jurisdictions (report_id, reported_country, hosted_countries, uploaded_countries, member_state,
                                   confidence, reasons, decided_at)
        SELECT r.id, 'FR', '[]'::json, '[]'::json,
               (ARRAY['FR', 'DE', 'NL', 'BE', 'ES', 'IT', 'PL', 'AT', 'SE', 'IE'])[1 + abs(hashtext(r.id::text)) % 10],
               'high', '[]'::json, r.created_at
        FROM reports r WHERE r.state = 'forwarded_europol_and_state'"""),
    ("url hosting", """
        INSERT INTO url_hosting (item_id, report_id, host, hosted_country, fetch_status, stored, fetched_at)
        SELECT i.id, i.report_id, 'host.example',
               (ARRAY['FR', 'DE', 'NL', 'US', 'RU'])[1 + abs(hashtext(i.id::text)) % 5], 'served', false, i.created_at
        FROM items i WHERE i.kind = 'url'"""),
    ("host notices", """
        INSERT INTO notices (reference, dedupe, report_id, item_id, kind, channel, recipient, language, subject, body,
                             status, attempts, created_at, sent_at)
        SELECT 'N-' || i.id, i.id::text, i.report_id, i.id,
               CASE WHEN abs(hashtext(i.id::text)) % 3 = 0 THEN 'hotline_referral' ELSE 'host_notice' END,
               'email', 'abuse@host' || (abs(hashtext(i.id::text)) % 5000) || '.example', 'en', 's', 'b', 'sent', 1,
               i.created_at + interval '1 hour', i.created_at + interval '1 hour'
        FROM items i WHERE i.kind = 'url'"""),
    ("takedowns", """
        INSERT INTO takedowns (item_id, report_id, url, status, received_at, assessed_at, host_notified_at, removed_at, step)
        SELECT i.id, i.report_id, i.url, 'removed', i.created_at, i.created_at + interval '30 minutes',
               i.created_at + interval '1 hour',
               CASE WHEN random() < 0.9 THEN i.created_at + random() * interval '8 days' END, 0
        FROM items i WHERE i.kind = 'url'"""),
    ("indicators", """
        INSERT INTO indicators (kind, media_type, algorithm, value, provenance, status, version, created_at, updated_at)
        SELECT (ARRAY['known_csam', 'new_csam', 'solicitation', 'url'])[1 + g % 4], 'image', 'sha256',
               encode(sha256(('indicator ' || g)::bytea), 'hex'), '{}'::json,
               CASE WHEN g % 50 = 0 THEN 'deleted' ELSE 'active' END, g,
               timestamp '2026-01-01' + (g::float8 / :n) * interval '330 days',
               timestamp '2026-01-01' + (g::float8 / :n) * interval '330 days'
        FROM generate_series(1, :n / 10) g"""),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--files", action="store_true", help="also render the HTML, PDF, CSV and charts")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    parser.add_argument("--reuse", metavar="NAME", help="time a database kept by an earlier --keep run")
    args = parser.parse_args()

    name = args.reuse or f"balise_bench_transparency_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        if args.reuse:
            _time(args, url)
            return 0
        upgrade(url)
        engine = create_engine(url)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; PostgreSQL scratch "
              f"database {name}")
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))
            for label, sql in GENERATE:
                t0 = time.perf_counter()
                rows = conn.execute(text(sql), {"n": args.reports}).rowcount
                print(f"  generated {label}: {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        print(f"generated the year in {time.perf_counter() - started:.1f} s (VACUUM ANALYZE included)")
        engine.dispose()
        _time(args, url)
    finally:
        if args.keep or args.reuse:
            print(f"kept: --reuse {name}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


def _time(args: argparse.Namespace, url: str) -> None:
    import tempfile

    from balise.container import Balise
    from balise.domain.transparency import period_for
    from balise.governance.transparency import Transparency, first_event
    from balise.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        app = Balise(Settings(env="development", database_url=url, data_dir=Path(data_dir)), clock=lambda: NOW)
        try:
            service = Transparency(app.clock, 10)
            timings = []
            for _ in range(2):
                t0 = time.perf_counter()
                with app.db.sessions() as session:
                    report = service.compute(session, period_for(2026, NOW, first_event(session)))
                timings.append(time.perf_counter() - t0)
            reports = report.headline["reports"] or 0
            print(f"reports counted: {reports:,}; items: {report.headline['items']:,}; "
                  f"removal routes: {len(report.table('removal_by_route').rows)}")
            print(f"RESULT: Article 83(3) figures for {reports:,} reports on PostgreSQL: first run "
                  f"{timings[0]:.1f} s, second run {timings[1]:.1f} s (target < 60 s)")
            if args.files:
                from balise.web.public.transparency import build_files

                t0 = time.perf_counter()
                files = build_files(report, "en")
                print(f"RESULT: HTML, PDF, {sum(1 for f in files if f.endswith('.csv'))} CSV and "
                      f"{sum(1 for f in files if f.endswith('.svg'))} charts in {time.perf_counter() - t0:.1f} s")
        finally:
            app.close()


if __name__ == "__main__":
    raise SystemExit(main())
