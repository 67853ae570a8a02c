"""On PostgreSQL an audit append writes its events and moves the chain's head in one statement
after taking the head's lock: every round trip made while the head is locked delays every other
writer (issue 19, intake). A large append (its events as arrays) chains and verifies, what it
stores reads back as written (times, texts outside ASCII, details), and a head this session
loaded before the append shows the append's values."""

from __future__ import annotations

from sqlalchemy import event, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditHead, AuditRecord
from balise.domain.audit import AuditEvent

ACTOR = Actor.staff("00000000-0000-0000-0000-000000000002", "ana")


def _statements_after_the_head_lock(balise, events):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    event.listen(balise.db.engine, "before_cursor_execute", note)
    try:
        with balise.db.transaction() as s:
            balise.audit.record_many(s, ACTOR, "read a report", events)
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", note)
    # The head's read: a row lock on PostgreSQL; SQLite's transaction holds the write lock.
    locks = [i for i, sql in enumerate(seen) if sql.startswith("SELECT audit_head.seq, audit_head.mac")]
    assert len(locks) == 1
    assert ("FOR UPDATE" in seen[locks[0]]) == (balise.db.engine.dialect.name == "postgresql")
    return [sql for sql in seen[locks[0] + 1:] if sql not in ("BEGIN", "COMMIT")]


def test_the_events_and_the_new_head_are_one_statement_on_postgresql(balise):
    after = _statements_after_the_head_lock(
        balise, [(AuditEvent.ITEM_READ, "item", f"i{n}", {"n": n}) for n in range(3)])
    if balise.db.engine.dialect.name == "postgresql":
        assert len(after) == 1
        assert after[0].startswith("WITH appended AS ( INSERT INTO audit_events")
        assert "UPDATE audit_head" in after[0]
    else:
        # SQLite has no data-modifying WITH; its writers queue on the database lock anyway.
        assert [sql.split()[0] for sql in after] == ["INSERT", "UPDATE"]
    with balise.db.sessions() as s:
        head = s.execute(select(AuditHead.seq, AuditHead.mac)).one()
        last = s.execute(select(AuditRecord).order_by(AuditRecord.seq.desc())).scalars().first()
        assert (head.seq, head.mac) == (3, last.mac)
        assert balise.audit.verify(s).ok


def test_a_large_append_is_chained_and_verifies(balise):
    with balise.db.transaction() as s:
        balise.audit.record(s, AuditEvent.REPORT_CLAIM, ACTOR, "report", "r1", "assess report")
        written = balise.audit.record_many(
            s, ACTOR, "export", [(AuditEvent.ITEM_READ, "item", f"i{n}", {"n": n}) for n in range(1500)])
        balise.audit.record(s, AuditEvent.REPORT_RELEASE, ACTOR, "report", "r1", "release claim")
    assert [r.seq for r in written] == list(range(2, 1502))
    with balise.db.sessions() as s:
        assert s.execute(select(AuditHead.seq)).scalar_one() == 1502
        result = balise.audit.verify(s)
    assert result.ok and result.checked == 1502


def test_a_head_loaded_before_an_append_shows_the_append(balise):
    with balise.db.transaction() as s:
        balise.audit.record(s, AuditEvent.REPORT_CLAIM, ACTOR, "report", "r1", "assess report")
    with balise.db.transaction() as s:
        # What a package build does: it reads the head to name the next event, then appends.
        head = s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        assert head.seq == 1
        [record] = balise.audit.record_many(s, ACTOR, "build a package", [(AuditEvent.REPORT_READ, "report", "r1", None)])
        assert (head.seq, head.mac) == (2, record.mac)
        again = s.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        assert (again.seq, again.mac) == (2, record.mac)


def test_what_an_append_stores_reads_back_as_written(balise):
    details = {"note": "Ça va — 確認", "n": 3, "nested": {"ok": True, "list": [1, None]}}
    with balise.db.transaction() as s:
        [written] = balise.audit.record_many(
            s, ACTOR, "lire le signalement « r1 »", [(AuditEvent.REPORT_READ, "report", "r1", details)])
    with balise.db.sessions() as s:
        stored = s.execute(select(AuditRecord)).scalar_one()
        assert (stored.occurred_at, stored.purpose, stored.details, stored.mac) == (
            written.occurred_at, "lire le signalement « r1 »", details, written.mac)
        assert stored.occurred_at.utcoffset() is not None
        assert balise.audit.verify(s).ok
