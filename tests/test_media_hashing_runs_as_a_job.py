"""A provider's upload is answered before any picture or video is decoded: the item is stored
"pending" and a media.hash job, queued with the report, decrypts it from the vault (audited),
hashes it in the bounded child process from a private temporary file, matches it, and queues
the report's triage in the same transaction as the last result. Triage never decides on a
report whose media are still being hashed."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import event, inspect, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item, Job, Report
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.media_hashing import MEDIA_HASH_JOB
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, make_user, minimal_report, sign_in
from tests.media_hash_support import known_copy

ACTOR = Actor.system("test")


class RecordingHasher:
    """The real isolated hasher; notes the file it was handed (a spy, not a stand-in)."""

    def __init__(self, app: Balise) -> None:
        self.app = app
        self.calls: list[tuple[Path, int, int]] = []

    def __call__(self, path: str, **options: Any) -> dict:
        p = Path(path)
        self.calls.append((p, stat.S_IMODE(p.stat().st_mode), stat.S_IMODE(p.parent.stat().st_mode)))
        return Balise.media_hasher(self.app, path, **options)


def make_app(tmp_path, db_url, **overrides) -> tuple[Balise, RecordingHasher]:
    app = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0, **overrides))
    spy = RecordingHasher(app)
    app.media_hasher = spy  # type: ignore[method-assign]  # before the services that use it are built
    return app, spy


def post(client, key: str, files: dict[str, bytes], **report) -> dict:
    document = minimal_report(items=[{"kind": "media", "file": name} for name in files], **report)
    r = client.post("/api/v1/reports", data={"report": json.dumps(document)},
                    files=[(name, (f"{name}.jpg", data, "image/jpeg")) for name, data in files.items()],
                    headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


def jobs(app: Balise, kind: str) -> list[Job]:
    with app.db.sessions() as s:
        return list(s.execute(select(Job).where(Job.kind == kind).order_by(Job.id)).scalars())


def run_hash_jobs_only(app: Balise) -> int:
    """Run the ready media.hash jobs and nothing else, so that what they queue can be seen."""
    return app.jobs.run_until_idle({MEDIA_HASH_JOB: app.media_hashing.handle})


def audit(app: Balise, event_type: str) -> list[AuditRecord]:
    with app.db.sessions() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == event_type)
                              .order_by(AuditRecord.seq)).scalars())


def record_transactions(app: Balise) -> list[list[tuple]]:
    """What each committed transaction of ``app`` wrote: jobs inserted and items whose
    hash_status changed, in order (SQLAlchemy session events: an observation, nothing is
    altered)."""
    committed: list[list[tuple]] = []

    def after_flush(session, _context) -> None:
        writes = session.info.setdefault("writes", [])
        for obj in session.dirty:
            if isinstance(obj, Item):
                added = inspect(obj).attrs.hash_status.history.added
                if added:
                    writes.append(("item", str(obj.id), added[0]))

    def on_execute(state) -> None:
        # Jobs are queued by one INSERT statement on the table (jobs/queue.py), not as ORM objects.
        if state.is_insert and state.statement.table is Job.__table__:
            state.session.info.setdefault("writes", []).append(("job", state.parameters["kind"]))

    def after_commit(session) -> None:
        committed.append(session.info.pop("writes", []))

    def after_rollback(session) -> None:
        session.info.pop("writes", None)

    event.listen(app.db.sessions, "after_flush", after_flush)
    event.listen(app.db.sessions, "do_orm_execute", on_execute)
    event.listen(app.db.sessions, "after_commit", after_commit)
    event.listen(app.db.sessions, "after_soft_rollback", lambda session, _previous: after_rollback(session))
    return committed


def test_the_provider_is_answered_before_any_picture_is_decoded_and_the_item_is_pending(tmp_path, db_url):
    app, spy = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"pic": demo_image(700, (800, 600))})
        (item,) = body["items"]
        # Exact hashes are in the answer (idempotency, the provider's own records); the picture
        # was not decoded: no perceptual hash yet, and the hasher was never called.
        assert item["sha256"] and item["md5"] and item["hash_status"] == "pending" and item["pdq"] is None
        assert spy.calls == []
        status = c.get(f"/api/v1/reports/{body['id']}", headers=auth(key)).json()
        assert status["state"] == "received" and status["items"][0]["hash_status"] == "pending"
    (job,) = jobs(app, MEDIA_HASH_JOB)
    assert job.status == "pending" and job.payload == {"report_id": body["id"], "item_id": item["id"]}
    assert jobs(app, "report.triage") == []  # triage waits for the hashes
    assert not any((app.settings.data_dir / "tmp").glob("*"))  # no plaintext copy was made
    app.close()


def test_an_exact_copy_of_known_material_is_matched_in_the_answer_already(tmp_path, db_url):
    app, _ = make_app(tmp_path, db_url)
    picture = demo_image(701, (640, 480))
    with app.db.transaction() as s:
        ind = app.indicators.add(s, ACTOR, algorithm=Algorithm.SHA256, value=hashlib.sha256(picture).hexdigest(),
                                 kind=IndicatorKind.KNOWN_CSAM, provenance={"test": True})
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        (item,) = post(c, key, {"pic": picture})["items"]
    assert item["hash_status"] == "pending" and item["matched"] is True
    assert [m["indicator_id"] for m in item["matches"]] == [ind.id]
    app.close()


def test_the_job_hashes_and_matches_and_queues_triage_with_the_last_result(tmp_path, db_url):
    app, spy = make_app(tmp_path, db_url)
    copy = known_copy(app, 702)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"copy": copy, "other": demo_image(703, (800, 600))})
    first, second = (uuid.UUID(i["id"]) for i in body["items"])
    transactions = record_transactions(app)

    # One job per item: run them one at a time, in the order they were queued.
    assert app.jobs.run_one({MEDIA_HASH_JOB: app.media_hashing.handle}, "test-worker")
    assert jobs(app, "report.triage") == []  # the other picture is still pending
    assert app.jobs.run_one({MEDIA_HASH_JOB: app.media_hashing.handle}, "test-worker")
    (triage,) = jobs(app, "report.triage")
    assert triage.payload == {"report_id": body["id"]} and triage.status == "pending"
    # The second picture's result and the triage job were committed by one transaction.
    assert [t for t in transactions if ("job", "report.triage") in t] == [
        [("item", str(second), "ok"), ("job", "report.triage")]]
    assert [t for t in transactions if ("item", str(first), "ok") in t] == [[("item", str(first), "ok")]]

    with app.db.sessions() as s:
        known, new = (s.get(Item, i) for i in (first, second))
        assert known.matched and known.matches[0]["algorithm"] == "pdq" and known.matches[0]["distance"] <= 31
        assert known.hashes["pdq"] and known.hashes["pdq_quality"] >= 50 and known.hash_error is None
        assert not new.matched and new.matches is None and new.hashes["pdq"]
    assert len(spy.calls) == 2
    assert [r.details for r in audit(app, "item:hash")] == [
        {"report": body["id"], "hash_status": "ok", "matched": True, "matches": 1},
        {"report": body["id"], "hash_status": "ok", "matched": False, "matches": 0}]

    app.run_jobs()  # the triage: the known copy is resolved by re-use, the new picture is left for a human
    with app.db.sessions() as s:
        report = s.get(Report, uuid.UUID(body["id"]))
        assert report.triaged_at is not None
        assert [i.outcome for i in report.items] == ["illegal", None]
    app.close()


def test_the_plaintext_copy_is_private_and_gone_after_the_job(tmp_path, db_url):
    app, spy = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        post(c, key, {"pic": demo_image(704, (800, 600))})
    app.run_jobs()
    ((path, mode, dir_mode),) = spy.calls
    tmp = app.settings.data_dir / "tmp"
    assert path.parent == tmp and mode == 0o600 and dir_mode == 0o700
    assert not path.exists() and list(tmp.iterdir()) == []
    app.close()


def test_the_vault_read_is_audited_for_the_hasher_with_its_purpose(tmp_path, db_url):
    app, _ = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        (item,) = post(c, key, {"pic": demo_image(705, (800, 600))})["items"]
    assert audit(app, "media:read") == []  # intake stored it and read nothing back
    app.run_jobs()
    (read,) = audit(app, "media:read")
    assert (read.subject_type, read.subject_id) == ("media", item["sha256"])
    assert (read.actor_type, read.actor_id, read.purpose) == ("system", "hasher", "perceptual hashing")
    (hashed,) = audit(app, "item:hash")
    assert hashed.subject_id == item["id"] and hashed.seq > read.seq
    app.close()


def test_a_second_run_of_the_job_records_nothing_twice(tmp_path, db_url):
    app, spy = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"pic": demo_image(706, (800, 600))})
    (job,) = jobs(app, MEDIA_HASH_JOB)
    run_hash_jobs_only(app)
    with app.db.sessions() as s:
        before = s.get(Item, uuid.UUID(body["items"][0]["id"])).hashes
    # As after a worker killed between the work and marking the job done.
    app.media_hashing.handle(job.payload)
    with app.db.sessions() as s:
        assert s.get(Item, uuid.UUID(body["items"][0]["id"])).hashes == before
    assert len(spy.calls) == 1 and len(audit(app, "item:hash")) == 1 and len(audit(app, "media:read")) == 1
    assert len(jobs(app, "report.triage")) == 1
    app.close()


def test_triage_claimed_while_media_are_pending_defers_and_decides_nothing(tmp_path, db_url):
    app, _ = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"pic": demo_image(707, (800, 600))})
    report_id = uuid.UUID(body["id"])
    with app.db.transaction() as s:  # as the provider's PATCH or a retried job would
        app.jobs.enqueue(s, "report.triage", {"report_id": body["id"]}, dedupe_key=f"triage:{report_id}")
    assert app.jobs.run_until_idle({"report.triage": app.triage.handle}) == 1
    with app.db.sessions() as s:
        report = s.get(Report, report_id)
        assert report.state == "received" and report.triaged_at is None and report.priority == 0
        assert report.missing_fields is None
    assert audit(app, "report:transition") == []
    app.run_jobs()  # the hash job queues the triage again with its result
    with app.db.sessions() as s:
        report = s.get(Report, report_id)
        assert report.triaged_at is not None and report.state != "received"
        assert report.items[0].hash_status == "ok"
    app.close()


def test_a_file_that_kills_the_hashing_child_is_an_error_on_the_item_not_a_failed_job(tmp_path, db_url):
    # A legitimate 40 MP picture whose decoding needs more address space than the child is
    # allowed: the child dies; the outcome is recorded, and the report goes on to triage.
    app, _ = make_app(tmp_path, db_url, hash_memory_bytes=300 * 1024 * 1024)
    large = io.BytesIO()
    Image.new("RGB", (8000, 5000), (120, 80, 40)).save(large, "PNG", compress_level=1)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"large": large.getvalue()})
    app.run_jobs()
    (job,) = jobs(app, MEDIA_HASH_JOB)
    assert job.status == "done" and job.attempts == 1 and job.last_error is None
    with app.db.sessions() as s:
        report = s.get(Report, uuid.UUID(body["id"]))
        (item,) = report.items
        assert item.hash_status == "error" and ("memory" in item.hash_error or "worker" in item.hash_error)
        assert item.md5 and report.triaged_at is not None
    assert list((app.settings.data_dir / "tmp").iterdir()) == []
    app.close()


def test_an_unreadable_vault_object_fails_the_job_for_a_retry_and_changes_nothing(tmp_path, db_url):
    app, _ = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"pic": demo_image(708, (800, 600))})
    (stored,) = app.settings.vault_path.rglob("*.blv")
    aside = stored.with_name(stored.name + ".aside")
    stored.rename(aside)  # the storage is unavailable
    assert app.jobs.run_one({MEDIA_HASH_JOB: app.media_hashing.handle}, "test-worker")
    (job,) = jobs(app, MEDIA_HASH_JOB)
    assert job.status == "pending" and job.attempts == 1 and "does not exist" in job.last_error
    assert job.run_at > job.created_at  # backoff before the next attempt
    with app.db.sessions() as s:
        assert s.get(Item, uuid.UUID(body["items"][0]["id"])).hash_status == "pending"
    assert jobs(app, "report.triage") == [] and audit(app, "item:hash") == []

    aside.rename(stored)  # the storage is back
    assert app.jobs.retry(job.id)
    app.run_jobs()
    with app.db.sessions() as s:
        report = s.get(Report, uuid.UUID(body["id"]))
        assert report.items[0].hash_status == "ok" and report.triaged_at is not None
    app.close()


def test_a_report_whose_media_are_being_hashed_is_not_in_the_analysts_queue(tmp_path, db_url):
    app, _ = make_app(tmp_path, db_url)
    _, key = make_provider(app)
    make_user(app, "ana", "analyst")
    complete = {"signature": "SIG", "provider": {"contact_point": {"email": "ts@example.test"}},
                "user_decision": "block", "reported_elsewhere": {"reported": False}}
    with TestClient(create_app(app)) as c:
        body = post(c, key, {"pic": demo_image(709, (800, 600))}, **complete)
        sign_in(c, app, "ana")
        assert body["id"][:12] not in c.get("/ui/queue").text
        app.run_jobs()
        assert body["id"][:12] in c.get("/ui/queue").text  # hashed, triaged, complete: queued
    app.close()
