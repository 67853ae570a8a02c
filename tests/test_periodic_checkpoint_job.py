"""With BALISE_CHECKPOINT_DIR set, a periodic job writes a checkpoint every
BALISE_CHECKPOINT_INTERVAL_MINUTES and queues its next run; without it, no such job exists."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Job
from balise.container import Balise
from balise.domain.checkpoints import parse_checkpoint
from balise.governance.checkpoints import checkpoint_files
from tests.checkpoint_support import add_events, checkpoint_balise
from tests.conftest import make_settings

KIND = "periodic.audit.checkpoint"


def test_the_job_writes_a_checkpoint_and_queues_the_next_one(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url, checkpoint_interval_minutes=15)
    try:
        add_events(balise, 2)
        balise.periodic.ensure()
        balise.run_jobs()
        [path] = checkpoint_files(balise.settings.checkpoint_dir)
        checkpoint, _ = parse_checkpoint(path.read_bytes())
        with balise.db.sessions() as s:
            job = s.execute(select(Job).where(Job.kind == KIND, Job.status == "pending")).scalar_one()
            event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:checkpoint")).scalar_one()
        # The checkpoint covers every event before its own (other periodic jobs ran too).
        assert checkpoint.audit.seq == event.seq - 1 >= 2 and event.details["file"] == path.name
        assert timedelta(minutes=14) < job.run_at - balise.clock() <= timedelta(minutes=15)
    finally:
        balise.close()


def test_no_checkpoint_job_without_a_directory(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    try:
        balise.periodic.ensure()
        with balise.db.sessions() as s:
            assert s.execute(select(Job).where(Job.kind == KIND)).first() is None
    finally:
        balise.close()
