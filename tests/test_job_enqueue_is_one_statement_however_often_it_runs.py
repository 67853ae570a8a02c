"""Queueing a job is one INSERT in the caller's transaction, whatever the dedupe key does: a
report's jobs are queued while its transaction holds the audit chain's head, so every extra
round trip there delayed all other intakes (issue 19). The statement must also keep working
once the driver prepares it (psycopg does from its sixth run on a connection, and PostgreSQL
then no longer sees which partial unique index the conflict clause means if its predicate is
a parameter)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import event, select

from balise.adapters.db.models import Job
from balise.jobs.queue import JobQueue, NewJob


def test_each_enqueue_is_one_statement_and_a_duplicate_key_adds_nothing_after_many_runs(balise) -> None:
    queue = JobQueue(balise.db.sessions, lambda: datetime.now(timezone.utc))
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement.split()[0].upper()))
    with balise.db.transaction() as s:
        ids = [queue.enqueue(s, "k", {"n": n}, dedupe_key=f"key-{n}") for n in range(12)]
        again = [queue.enqueue(s, "k", {"n": n, "again": True}, dedupe_key=f"key-{n}") for n in range(12)]
        plain = queue.enqueue(s, "k", {"plain": True})
    # (SQLite's BEGIN IMMEDIATE is the transaction's, adapters/db/engine.py.)
    assert [st for st in seen if st != "BEGIN"] == ["INSERT"] * 25
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 12
    assert again == [None] * 12 and isinstance(plain, int)
    with balise.db.sessions() as s:
        payloads = s.execute(select(Job.payload).order_by(Job.id)).scalars().all()
    assert payloads == [{"n": n} for n in range(12)] + [{"plain": True}]


def test_a_new_reports_jobs_go_in_by_one_statement_and_pending_keys_are_left_out(balise) -> None:
    queue = JobQueue(balise.db.sessions, lambda: datetime.now(timezone.utc))
    with balise.db.transaction() as s:
        queue.enqueue(s, "k", {"first": True}, dedupe_key="taken")
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement.split()[0].upper()))
    batch = [NewJob("k", {"n": n}, f"new-{n}") for n in range(6)]
    with balise.db.transaction() as s:
        # A key already pending, and one key twice in the batch: neither adds a second job.
        added = queue.enqueue_many(s, [*batch[:3], NewJob("k", {"dup": True}, "taken"), *batch[3:],
                                       NewJob("k", {"dup": True}, "new-0")])
    assert [st for st in seen if st != "BEGIN"] == ["INSERT"]
    assert added == 6
    with balise.db.sessions() as s:
        rows = s.execute(select(Job.dedupe_key, Job.payload).order_by(Job.id)).all()
    assert [(k, p) for k, p in rows] == [("taken", {"first": True})] + [(f"new-{n}", {"n": n}) for n in range(6)]
    with balise.db.transaction() as s:
        assert queue.enqueue_many(s, []) == 0
