"""A pooled PostgreSQL connection that the server ended while it sat idle in the pool (a
restart, pg_terminate_backend, an idle timeout) is replaced when it is checked out, and the
request that checks it out succeeds; a live connection is handed out without a round trip
(SQLAlchemy's pre-ping cost one per checkout, issue 19). PostgreSQL only: an embedded SQLite
file has no server to end a connection."""

from __future__ import annotations

from sqlalchemy import create_engine, event, text

from balise.container import Balise
from balise.domain.model import Scope
from tests.conftest import _reset_postgres, make_settings
from tests.helpers import auth, make_provider

PDQ = {"hashes": [{"type": "pdq", "value": "f" * 64}]}


def _backends(balise: Balise) -> set[int]:
    with balise.db.engine.connect() as conn:
        return {conn.connection.dbapi_connection.info.backend_pid}


def _terminate(url: str, pids: set[int]) -> None:
    """Ends the backends and waits until they have exited: pg_terminate_backend only signals,
    and the FATAL message reaches the client's socket when the backend exits. Until then the
    connection is not yet "ended while idle", which is the case this file is about (a
    connection lost between the check and its use is the epoch reader's own test)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for pid in pids:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar() is True
    admin.dispose()


def test_a_terminated_pooled_connection_is_replaced_and_the_request_succeeds(tmp_path, postgres_database) -> None:
    from fastapi.testclient import TestClient

    from balise.web.app import create_app

    _reset_postgres(postgres_database)
    balise = Balise(make_settings(tmp_path, postgres_database.url))
    try:
        _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
        with TestClient(create_app(balise)) as client:
            assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
            pooled = _backends(balise)
            _terminate(postgres_database.url, pooled)
            answer = client.post("/api/v1/match", json=PDQ, headers=auth(key))
            assert answer.status_code == 200, answer.text
            assert _backends(balise).isdisjoint(pooled)
    finally:
        balise.close()


def test_a_live_pooled_connection_is_handed_out_without_a_statement(tmp_path, postgres_database) -> None:
    _reset_postgres(postgres_database)
    balise = Balise(make_settings(tmp_path, postgres_database.url))
    try:
        with balise.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        sent: list[str] = []
        # What reaches the server: a statement goes through a cursor, a ping through the
        # dialect's do_ping; both are watched.
        event.listen(balise.db.engine, "before_cursor_execute", lambda c, cur, st, *r: sent.append(st))
        pinged: list[bool] = []
        original_ping = balise.db.engine.dialect.do_ping
        balise.db.engine.dialect.do_ping = lambda dbapi_connection: pinged.append(True) or original_ping(dbapi_connection)  # type: ignore[method-assign]
        for _ in range(5):
            with balise.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert sent == ["SELECT 1"] * 5 and pinged == []
    finally:
        balise.close()
