"""Retention's housekeeping: done jobs go 30 days after they finished (failed ones stay visible
until retried), an Idempotency-Key is forgotten after its window (a retry then files a new
report, as docs/api.md says), expired RDAP cache rows are deleted; all in bounded batches, by
a periodic job that queues its next run."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, IdempotencyKey, Job, RdapCacheEntry
from balise.domain.retention import Rule
from balise.takedown.adapters.routing_adapters import DbRdapCache
from balise.web.app import create_app
from tests.helpers import auth, make_provider, minimal_report
from tests.retention_support import app_on_clock
from tests.takedown_support import Clock


def _jobs(app) -> dict[str, int]:
    with app.db.sessions() as s:
        return dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())


def _fail(payload):
    raise RuntimeError("DEMO: this job always fails")


def test_done_jobs_go_after_30_days_and_failed_ones_stay(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock, retention_batch_size=2)  # several batches
    _, key = make_provider(app)
    with TestClient(create_app(app)) as client:
        for n in range(5):
            assert client.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 201
    app.run_jobs()  # five triage and five entity-extraction jobs, done now
    with app.db.transaction() as s:
        app.jobs.enqueue(s, "test.fail", {}, max_attempts=1)
        app.jobs.enqueue(s, "test.later", {}, run_at=clock.now + timedelta(days=400))
    app.jobs.run_until_idle({"test.fail": _fail})
    assert _jobs(app) == {"done": 10, "failed": 1, "pending": 1}

    clock.advance(days=29, hours=23)
    assert app.retention.run().housekeeping[Rule.JOBS] == 0
    clock.advance(hours=2)
    [jobs] = [r for r in app.retention.status().rules if r.rule is Rule.JOBS]
    assert jobs.due_now == 10
    assert app.retention.run().housekeeping[Rule.JOBS] == 10
    assert _jobs(app) == {"failed": 1, "pending": 1}
    app.close()


def test_an_idempotency_key_is_remembered_for_its_window_then_forgotten(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    headers = {**auth(key), "Idempotency-Key": "DEMO-ref-0001"}
    with TestClient(create_app(app)) as client:
        first = client.post("/api/v1/reports", json=minimal_report(), headers=headers).json()["id"]
        clock.advance(days=29)
        app.retention.run()
        replay = client.post("/api/v1/reports", json=minimal_report(), headers=headers)
        assert replay.json()["id"] == first and replay.headers["idempotent-replayed"] == "true"
        clock.advance(days=1, seconds=1)
        assert app.retention.run().housekeeping[Rule.IDEMPOTENCY_KEYS] == 1
        again = client.post("/api/v1/reports", json=minimal_report(), headers=headers)
        assert again.status_code == 201 and again.json()["id"] != first and "idempotent-replayed" not in again.headers
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(IdempotencyKey)).scalar() == 1  # the new report's
    app.close()


def test_expired_rdap_rows_are_deleted_and_fresh_ones_kept(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    cache = DbRdapCache(app.db.sessions, clock)
    cache.put("ip:192.0.2.1", {"network": "192.0.2.0/24"}, ttl_seconds=3600)
    cache.put("ip:198.51.100.1", {"network": "198.51.100.0/24"}, ttl_seconds=7 * 86400)
    clock.advance(hours=2)
    assert app.retention.run().housekeeping[Rule.RDAP_CACHE] == 1
    with app.db.sessions() as s:
        assert s.execute(select(RdapCacheEntry.key)).scalars().all() == ["ip:198.51.100.1"]
    app.close()


def test_the_periodic_job_runs_retention_and_queues_its_next_run(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock, retention_interval_seconds=600)
    DbRdapCache(app.db.sessions, clock).put("ip:192.0.2.9", {"network": "192.0.2.0/24"}, ttl_seconds=60)
    clock.advance(minutes=5)
    app.periodic.ensure()
    app.run_jobs()
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(RdapCacheEntry)).scalar() == 0
        [run] = s.execute(select(AuditRecord).where(AuditRecord.event_type == "retention:run")).scalars().all()
        assert run.actor_id == "retention" and run.details["rows_deleted"]["rdap_cache"] == 1
        [following] = s.execute(select(Job).where(Job.kind == "periodic.retention", Job.status == "pending")).scalars()
        assert following.run_at == clock.now + timedelta(seconds=600)
    app.close()
