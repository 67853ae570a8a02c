"""The rows an intake group holds back (adapters/db/pending_rows.py) are written, on
PostgreSQL, by psycopg directly in one pipeline rather than through SQLAlchemy's execution
(issue 19). What the rest of Balise relies on must not change with it: the values stored
(tests/test_reports_stored_by_a_group_are_the_rows_filed_alone.py), the statements an engine's
listeners see, and the errors a failure raises, on both real databases."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, event, exc, insert, select, text

from balise.adapters.db.models import Job
from balise.adapters.db.pending_rows import PendingRows
from balise.container import Balise
from balise.jobs.queue import _enqueue_statement

_NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def _job(n: int, **extra: object) -> dict[str, object]:
    return {"kind": "demo", "payload": {"n": n, "none": None}, "dedupe_key": f"demo-{n}", "status": "pending",
            "run_at": _NOW, **extra}


def test_listeners_see_each_statement_once_and_every_row_is_stored(balise: Balise) -> None:
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO jobs"):
            seen.append(statement.split(" VALUES")[0])

    pending = PendingRows()
    pending.add_rows(_enqueue_statement(balise.db.engine.dialect.name), [_job(n) for n in range(3)])
    pending.add_rows(insert(Job.__table__), [_job(n, dedupe_key=None, attempts=2) for n in range(3, 5)])
    event.listen(balise.db.engine, "before_cursor_execute", listen)
    try:
        with balise.db.transaction() as s:
            pending.write(s)
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", listen)
    columns = "INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at)"
    assert seen == [columns, columns]
    with balise.db.sessions() as s:
        stored = s.execute(select(Job.payload, Job.dedupe_key, Job.attempts, Job.max_attempts, Job.run_at,
                                  Job.created_at).order_by(Job.id)).all()
    # The columns' defaults (attempts 0, max_attempts 8, created_at now) are filled, JSON null
    # kept inside the payload, the time stored as the same instant.
    assert [(p, k, a, m) for p, k, a, m, _, _ in stored] == [
        ({"n": 0, "none": None}, "demo-0", 0, 8), ({"n": 1, "none": None}, "demo-1", 0, 8),
        ({"n": 2, "none": None}, "demo-2", 0, 8), ({"n": 3, "none": None}, None, 2, 8),
        ({"n": 4, "none": None}, None, 2, 8)]
    assert all(run_at == _NOW for *_, run_at, _ in stored)
    assert all(abs((created - datetime.now(timezone.utc)).total_seconds()) < 60 for *_, created in stored)


def test_a_row_the_database_refuses_raises_sqlalchemys_integrity_error_and_keeps_nothing(balise: Balise) -> None:
    pending = PendingRows()
    pending.add_rows(_enqueue_statement(balise.db.engine.dialect.name), [_job(1)])
    # The same primary key twice: the second row of the second statement is refused.
    pending.add_rows(insert(Job.__table__), [_job(2, id=1_000), _job(3, id=1_000)])
    with pytest.raises(exc.IntegrityError) as raised:
        with balise.db.transaction() as s:
            pending.write(s)
    assert "INSERT INTO jobs" in str(raised.value.statement)
    with balise.db.sessions() as s:
        assert s.scalars(select(Job.id)).all() == []


# PostgreSQL only: an embedded SQLite file has no server to end a connection.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_connection_lost_while_writing_is_invalidated_and_the_next_write_succeeds(balise: Balise) -> None:
    pending = PendingRows()
    pending.add_rows(insert(Job.__table__), [_job(1)])
    invalidated = []
    with pytest.raises(exc.DBAPIError) as raised:
        with balise.db.transaction() as s:
            used = s.connection()
            pid = used.connection.dbapi_connection.info.backend_pid
            admin = create_engine(balise.db.engine.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()
            admin.dispose()
            try:
                pending.write(s)
            finally:
                invalidated.append(used.invalidated)
    # Invalidated, so the pool does not hand the dead connection out again.
    assert raised.value.connection_invalidated and invalidated == [True]
    again = PendingRows()
    again.add_rows(insert(Job.__table__), [_job(2)])
    with balise.db.transaction() as s:
        again.write(s)
    with balise.db.sessions() as s:
        assert s.scalars(select(Job.dedupe_key)).all() == ["demo-2"]


# PostgreSQL only: SQLite's rows go through SQLAlchemy, which fills such values itself.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_statement_with_values_of_its_own_is_refused_before_anything_is_sent(balise: Balise) -> None:
    # A value carried by the statement (here the status) is not in the rows: the pipelined
    # write could not send it, so it refuses the statement rather than store a NULL.
    pending = PendingRows()
    pending.add_rows(insert(Job.__table__).values(status="pending"),
                     [{k: v for k, v in _job(1).items() if k != "status"}])
    sent: list[str] = []

    def listen(conn, cursor, sql, *rest):  # type: ignore[no-untyped-def]
        sent.append(sql)

    event.listen(balise.db.engine, "before_cursor_execute", listen)
    try:
        with pytest.raises(RuntimeError, match="pending rows cannot be written by"):
            with balise.db.transaction() as s:
                pending.write(s)
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", listen)
    assert not any(sql.startswith("INSERT INTO jobs") for sql in sent)
    with balise.db.sessions() as s:
        assert s.scalars(select(Job.id)).all() == []
