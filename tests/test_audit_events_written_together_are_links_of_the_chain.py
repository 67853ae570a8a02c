"""Events appended together (record_many: what the report page records for each thing it shows)
are one link of the hash chain each, in order, between single events, and the chain verifies;
tampering with one of them is found at that event. An empty purpose is refused and nothing is
written."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import select, text

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from balise.domain.audit import AuditEvent

ACTOR = Actor.staff("00000000-0000-0000-0000-000000000002", "ana")


def test_events_written_together_are_chained_in_order_and_verify(balise):
    with balise.db.transaction() as s:
        balise.audit.record(s, AuditEvent.REPORT_CLAIM, ACTOR, "report", "r1", "assess report")
        written = balise.audit.record_many(s, ACTOR, "assess report r1", [
            (AuditEvent.REPORT_READ, "report", "r1", None),
            *((AuditEvent.ITEM_READ, "item", f"i{n}", {"n": n}) for n in range(50)),
            (AuditEvent.PERSON_READ, "person", "p1", None)])
        balise.audit.record(s, AuditEvent.REPORT_RELEASE, ACTOR, "report", "r1", "release claim")
    assert [r.seq for r in written] == list(range(2, 54))
    with balise.db.sessions() as s:
        rows = s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars().all()
        assert [r.subject_id for r in rows] == ["r1", "r1", *(f"i{n}" for n in range(50)), "p1", "r1"]
        assert all(b.prev_mac == a.mac for a, b in pairwise(rows))
        assert {r.purpose for r in rows[1:53]} == {"assess report r1"}
        result = balise.audit.verify(s)
    assert result.ok and result.checked == 54

    with balise.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET subject_id = 'i99' WHERE seq = 30"))
    with balise.db.sessions() as s:
        result = balise.audit.verify(s)
    assert not result.ok and result.first_broken_seq == 30


def test_events_without_a_purpose_are_refused_and_nothing_is_written(balise):
    with balise.db.transaction() as s, pytest.raises(ValueError, match="purpose"):
        balise.audit.record_many(s, ACTOR, "", [(AuditEvent.ITEM_READ, "item", "i1", None)])
    with balise.db.sessions() as s:
        assert s.execute(select(AuditRecord)).first() is None
        assert balise.audit.record_many(s, ACTOR, "nothing", []) == []
