"""Shared set-up of the audit checkpoint tests: a database with some audit events and match
access log batches, the environment `balise audit …` runs with, and the attacks of the issue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, insert, select, text, update

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    AuditHead,
    AuditRecord,
    MatchAccessBatch,
    MatchAccessHead,
)
from balise.container import Balise
from balise.domain.audit import AuditEvent, ChainFields, event_mac
from balise.domain.checkpoints import match_entry
from tests.conftest import make_settings

ACTOR = Actor.staff("00000000-0000-0000-0000-000000000001", "auditor")


def checkpoint_balise(tmp_path: Path, db_url: str, **overrides: object) -> Balise:
    return Balise(make_settings(tmp_path, db_url, checkpoint_dir=tmp_path / "checkpoints", **overrides))


def cli_env(balise: Balise) -> dict[str, str]:
    s = balise.settings
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(s.data_dir), "BALISE_DATABASE_URL": str(s.database_url),
            "BALISE_CHECKPOINT_DIR": str(s.checkpoint_dir)}


def add_events(balise: Balise, n: int) -> None:
    with balise.db.transaction() as s:
        for i in range(n):
            balise.audit.record(s, AuditEvent.REPORT_READ, ACTOR, "report", f"r{i}", "review", {"i": i})


def add_access_batches(balise: Balise, n: int) -> None:
    for i in range(n):
        balise.match_log.append(match_entry(
            at=balise.clock(), actor_type="organisation", actor_id="org", organisation_id="org", key_id="k",
            grant_id=None, purpose="provider match query", hash_types=["pdq"], threshold=31, matched_hashes=0,
            indicator_ids=[]))
        balise.match_log.flush()


def cut_audit_tail(balise: Balise, n: int) -> None:
    """The attack of issue 15: delete the last n events and rewind audit_head to the new last one."""
    with balise.db.transaction() as s:
        last = s.execute(select(AuditHead.seq)).scalar_one()
        s.execute(delete(AuditRecord).where(AuditRecord.seq > last - n))
        new_last = s.execute(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
        s.execute(update(AuditHead).values(seq=new_last.seq, mac=new_last.mac))


def rewrite_audit_tail(balise: Balise, n: int) -> None:
    """Whoever also holds the service secret: change the last n events and recompute their MACs
    and the head, so that the chain alone verifies."""
    with balise.db.transaction() as s:
        last = s.execute(select(AuditHead.seq)).scalar_one()
        rows = s.execute(select(AuditRecord).where(AuditRecord.seq > last - n).order_by(AuditRecord.seq)).scalars().all()
        prev = s.execute(select(AuditRecord.mac).where(AuditRecord.seq == last - n)).scalar_one()
        for row in rows:
            row.purpose, row.prev_mac = "nothing to see", prev
            row.mac = event_mac(balise.audit._key, ChainFields(
                row.seq, row.occurred_at, row.event_type, row.actor_type, row.actor_id, row.subject_type,
                row.subject_id, row.purpose, row.details, row.prev_mac))
            prev = row.mac
        s.execute(update(AuditHead).values(mac=prev))


TABLES = (AuditRecord.__table__, AuditHead.__table__, MatchAccessBatch.__table__, MatchAccessHead.__table__)


def copy_of_trail(balise: Balise) -> dict[str, list[dict[str, object]]]:
    """What a backup of the audit tables holds now (to restore it later, as a rollback does)."""
    with balise.db.engine.connect() as conn:
        return {t.name: [dict(r) for r in conn.execute(select(t)).mappings()] for t in TABLES}


def restore(balise: Balise, copy: dict[str, list[dict[str, object]]]) -> None:
    with balise.db.engine.begin() as conn:
        for t in TABLES:
            conn.execute(delete(t))
            if copy[t.name]:
                conn.execute(insert(t), copy[t.name])


def exec_sql(balise: Balise, sql: str, **params: object) -> None:
    with balise.db.engine.begin() as conn:
        conn.execute(text(sql), params)
