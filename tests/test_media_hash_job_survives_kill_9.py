"""`kill -9` of a worker in the middle of hashing an uploaded picture loses nothing: once its
lease runs out the next worker claims the media.hash job again, the picture is hashed and
matched once, the report's triage is queued once, and the plaintext copy the killed worker
left behind is removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Job, Report
from balise.container import Balise
from balise.detection.media_hashing import MEDIA_HASH_JOB
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.media_hash_support import known_copy
from tests.servers import BALISE, clean_env, wait_for

GATED_WORKER = Path(__file__).with_name("gated_hash_worker.py")


def test_a_worker_killed_while_hashing_leaves_the_item_to_the_next_worker_and_it_is_hashed_once(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0))
    copy = known_copy(app, 720)
    _, key = make_provider(app)
    document = minimal_report(items=[{"kind": "media", "file": "pic"}])
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/reports", data={"report": json.dumps(document)},
                   files=[("pic", ("pic.jpg", copy, "image/jpeg"))], headers=auth(key))
    assert r.status_code == 201, r.text
    report_id, item_id = uuid.UUID(r.json()["id"]), uuid.UUID(r.json()["items"][0]["id"])

    marker = tmp_path / "hashing-started"
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_JOB_LEASE_SECONDS="3",
                    HASH_GATE_MARKER=str(marker))
    workers: list[subprocess.Popen] = []

    def start(command: list[str], log_name: str) -> subprocess.Popen:
        log = open(tmp_path / log_name, "wb")  # not a pipe: nothing must block on it
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        workers.append(proc)
        return proc

    def item() -> Item:
        with app.db.sessions() as s:
            return s.get(Item, item_id)

    def of_kind(kind: str) -> list[Job]:
        with app.db.sessions() as s:
            return list(s.execute(select(Job).where(Job.kind == kind)).scalars())

    def audited(event_type: str) -> list[AuditRecord]:
        with app.db.sessions() as s:
            return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == event_type)).scalars())

    try:
        first = start([sys.executable, str(GATED_WORKER)], "first-worker.log")
        assert wait_for(marker.exists, seconds=120), (tmp_path / "first-worker.log").read_text(errors="replace")
        plaintext = Path(marker.read_text())
        assert plaintext.parent == tmp_path / "data" / "tmp" and plaintext.exists()  # mid-hash
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)

        # Nothing of the interrupted run was recorded; its plaintext copy is still on disk.
        assert item().hash_status == "pending" and of_kind("report.triage") == []
        (job,) = of_kind(MEDIA_HASH_JOB)
        assert job.status == "running" and job.attempts == 1
        assert plaintext.exists() and len(audited("media:read")) == 1

        start([BALISE, "worker", "--poll", "0.2"], "second-worker.log")

        def triaged() -> bool:
            with app.db.sessions() as s:
                return s.get(Report, report_id).triaged_at is not None

        assert wait_for(triaged, seconds=120), (tmp_path / "second-worker.log").read_text(errors="replace")
        (job,) = of_kind(MEDIA_HASH_JOB)
        assert job.status == "done" and job.attempts == 2
        hashed = item()
        assert hashed.hash_status == "ok" and hashed.matched and hashed.matches[0]["algorithm"] == "pdq"
        assert hashed.outcome == "illegal"  # triage re-used the indicator's assessment
        # Hashed and recorded once; decrypted once per run; triage queued once.
        assert [a.subject_id for a in audited("item:hash")] == [str(item_id)]
        assert len(audited("media:read")) == 2
        assert len(of_kind("report.triage")) == 1
        assert not plaintext.exists() and list((tmp_path / "data" / "tmp").iterdir()) == []
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
        app.close()
