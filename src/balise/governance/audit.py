"""The append-only, hash-chained audit trail (see balise.domain.audit)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from balise.accounts.actors import Actor
from balise.adapters.db.driver import driver_cursor
from balise.adapters.db.models import AuditHead, AuditRecord, UTCDateTime
from balise.domain.audit import GENESIS, AuditEvent, ChainFields, event_mac


#: Events of one actor and purpose: (event, subject type, subject id, details).
AuditEvents = list[tuple[AuditEvent, str, str, "dict[str, Any] | None"]]
#: What one caller appends: its actor, its purpose, its events.
AuditBatch = tuple[Actor, str, AuditEvents]

# The chain's head, locked until the commit (a row lock on PostgreSQL; on SQLite the
# transaction already holds the write lock). Built once, on the table: columns, not the mapped
# object, so always the stored values, even when the session loaded the head before (a package
# build reads it to name the next event).
_HEAD = AuditHead.__table__
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.mac).where(_HEAD.c.id == 1).with_for_update()

# PostgreSQL: an append's events (one array per column, occurred_at as naive UTC like every
# UTCDateTime column) and the chain's new head.
_APPEND_AND_MOVE_HEAD = text("""
WITH appended AS (
  INSERT INTO audit_events (seq, occurred_at, event_type, actor_type, actor_id, subject_type, subject_id,
                            purpose, details, prev_mac, mac)
  SELECT e.seq, e.occurred_at, e.event_type, e.actor_type, e.actor_id, e.subject_type, e.subject_id,
         e.purpose, CAST(e.details AS json), e.prev_mac, e.mac
  FROM unnest(CAST(:seq AS bigint[]), CAST(:occurred_at AS timestamp[]), CAST(:event_type AS text[]),
              CAST(:actor_type AS text[]), CAST(:actor_id AS text[]), CAST(:subject_type AS text[]),
              CAST(:subject_id AS text[]), CAST(:purpose AS text[]), CAST(:details AS text[]),
              CAST(:prev_mac AS text[]), CAST(:mac AS text[]))
       AS e(seq, occurred_at, event_type, actor_type, actor_id, subject_type, subject_id, purpose, details,
            prev_mac, mac)
)
UPDATE audit_head SET seq = :head_seq, mac = :head_mac WHERE id = 1
""")


@functools.lru_cache(maxsize=64)
def _postgresql_sql(dialect: Dialect) -> tuple[str, str]:
    """The head's lock and the append as psycopg takes them."""
    return (str(_LOCK_HEAD.compile(dialect=dialect, compile_kwargs={"literal_binds": True})),
            str(_APPEND_AND_MOVE_HEAD.compile(dialect=dialect)))


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


class AuditTrail:
    def __init__(self, key: bytes, clock: Callable[[], datetime] = _now) -> None:
        self._key = key
        self._clock = clock

    def record(
        self,
        session: Session,
        event: AuditEvent,
        actor: Actor,
        subject_type: str,
        subject_id: str,
        purpose: str,
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append one event inside the caller's transaction: it commits or rolls back with the
        change it describes."""
        return self.record_many(session, actor, purpose, [(event, subject_type, subject_id, details)])[0]

    def record_many(
        self,
        session: Session,
        actor: Actor,
        purpose: str,
        events: AuditEvents,
    ) -> list[AuditRecord]:
        """Append several events of one actor and purpose, in order, each its own link of the
        chain (exactly as many calls of :meth:`record` would), with one read of the chain's
        head and one write: what a page that shows many things at once records."""
        return self.record_batches(session, [(actor, purpose, events)])

    def record_batches(self, session: Session, batches: list[AuditBatch]) -> list[AuditRecord]:
        """Append the events of several (actor, purpose, events) batches, in order, with one
        read of the chain's head and one write: the reports of an intake group (issue 19)."""
        for _, purpose, _ in batches:
            if not purpose:
                raise ValueError("every audit event states its purpose")
        if not any(events for _, _, events in batches):
            return []
        dialect = session.get_bind().dialect
        postgresql = dialect.name == "postgresql"
        if postgresql:
            # psycopg itself (adapters/db/driver.py): through SQLAlchemy's execution the lock
            # and the append cost the intake committer more than a fifth of its CPU (issue 19).
            # What the session holds is flushed first, as its own execute would.
            if session.autoflush:
                session.flush()
            with driver_cursor(session.connection()) as cursor:
                seq, prev_mac = cursor.execute(_postgresql_sql(dialect)[0], None).fetchone()
        else:
            seq, prev_mac = session.execute(_LOCK_HEAD).one()
        records = []
        rows = []
        for event, subject_type, subject_id, details, actor, purpose in (
                (*e, actor, purpose) for actor, purpose, events in batches for e in events):
            seq += 1
            fields = ChainFields(
                seq=seq,
                occurred_at=self._clock(),
                event_type=event.value,
                actor_type=actor.type.value,
                actor_id=actor.id,
                subject_type=subject_type,
                subject_id=subject_id,
                purpose=purpose,
                details=details or {},
                prev_mac=prev_mac,
            )
            prev_mac = event_mac(self._key, fields)
            row = {"seq": fields.seq, "occurred_at": fields.occurred_at, "event_type": fields.event_type,
                   "actor_type": fields.actor_type, "actor_id": fields.actor_id, "subject_type": fields.subject_type,
                   "subject_id": fields.subject_id, "purpose": fields.purpose, "details": fields.details,
                   "prev_mac": fields.prev_mac, "mac": prev_mac}
            rows.append(row)
            records.append(AuditRecord(**row))
        # Rows the application never changes: inserted by one statement on the table, not
        # through the session's unit of work (a fifth of a report intake's CPU was the ORM
        # flushing these, while the head's row lock was held; issue 19). The records returned
        # are not in the session.
        if postgresql:
            # The rows and the new head in one statement (a data-modifying WITH over arrays):
            # every round trip made while the head is locked delays every other writer (issue
            # 19). Its text never changes with the number of events, so it is compiled once
            # and prepared by the driver (a multi-row VALUES was compiled at every append).
            dumps = dialect._json_serializer or json.dumps
            columns = {name: [row[name] for row in rows] for name in rows[0]}
            stamp = UTCDateTime().process_bind_param
            columns["occurred_at"] = [stamp(t, dialect) for t in columns["occurred_at"]]
            columns["details"] = [dumps(d) for d in columns["details"]]
            with driver_cursor(session.connection()) as cursor:
                cursor.execute(_postgresql_sql(dialect)[1], {**columns, "head_seq": seq, "head_mac": prev_mac})
        else:
            session.execute(insert(AuditRecord.__table__), rows)
            session.execute(update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                            .values(seq=seq, mac=prev_mac))
        # A head this session loaded as an object (a package build names the next event with
        # it) must not show the values from before this append.
        loaded = session.identity_map.get(identity_key(AuditHead, 1))
        if loaded is not None:
            session.expire(loaded)
        return records

    def verify(self, session: Session, batch: int = 5000) -> VerifyResult:
        expected_seq = 1
        prev_mac = GENESIS
        checked = 0
        last_seq = 0
        while True:
            rows = (
                session.execute(
                    select(AuditRecord)
                    .where(AuditRecord.seq >= expected_seq)
                    .order_by(AuditRecord.seq)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if not rows:
                break
            for row in rows:
                if row.seq != expected_seq:
                    return VerifyResult(
                        False, checked, expected_seq,
                        f"event {expected_seq} is missing (next present is {row.seq})",
                    )
                if row.prev_mac != prev_mac:
                    return VerifyResult(
                        False, checked, row.seq,
                        f"event {row.seq} does not follow event {row.seq - 1} (chain broken)",
                    )
                fields = ChainFields(
                    seq=row.seq,
                    occurred_at=row.occurred_at,
                    event_type=row.event_type,
                    actor_type=row.actor_type,
                    actor_id=row.actor_id,
                    subject_type=row.subject_type,
                    subject_id=row.subject_id,
                    purpose=row.purpose,
                    details=row.details,
                    prev_mac=row.prev_mac,
                )
                if event_mac(self._key, fields) != row.mac:
                    return VerifyResult(
                        False, checked, row.seq,
                        f"event {row.seq} was altered (its MAC does not match its content)",
                    )
                prev_mac = row.mac
                last_seq = row.seq
                expected_seq += 1
                checked += 1
            session.expunge_all()
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
        if head is None:
            return VerifyResult(False, checked, last_seq + 1, "the audit head row is missing")
        if head.seq != last_seq or head.mac != prev_mac:
            if head.seq > last_seq:
                return VerifyResult(
                    False, checked, last_seq + 1,
                    f"events {last_seq + 1}..{head.seq} are missing (the trail was cut short)",
                )
            return VerifyResult(
                False, checked, head.seq + 1 if head.seq < last_seq else last_seq,
                "the audit head does not match the last event",
            )
        return VerifyResult(True, checked)
