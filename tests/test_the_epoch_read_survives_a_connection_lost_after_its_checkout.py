"""The credential epoch is read on every authenticated request through a pooled connection's
driver (issue 19). If the server ended that connection after the pool's checkout check let it
through (pg_terminate_backend's FATAL message arriving a moment late, a restart, a network
drop), the read is sent once more on a new connection rather than failing the request, and
the dead connection never goes back into the pool. PostgreSQL only: an embedded SQLite file
has no server to end a connection."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from balise.adapters.db.epoch import EpochReader
from tests.conftest import _reset_postgres


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.connection.dbapi_connection.info.backend_pid


def test_a_connection_lost_between_checkout_and_use_is_replaced_and_the_epoch_read(postgres_database) -> None:
    _reset_postgres(postgres_database)
    # A bare engine: no checkout check, so the dead connection is only found when used —
    # the same as one that dies in the instant between that check and the statement.
    engine = create_engine(postgres_database.url, pool_size=1, max_overflow=0)
    admin = create_engine(postgres_database.url, isolation_level="AUTOCOMMIT")
    try:
        read = EpochReader(engine)
        before = read()
        assert before is not None
        lost = _backend(engine)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": lost}).scalar() is True

        assert read() == before
        replacement = _backend(engine)
        assert replacement != lost
        # The pool holds one connection: the replacement, alive and in autocommit-off state.
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == replacement
            assert conn.connection.dbapi_connection.autocommit is False
    finally:
        engine.dispose()
        admin.dispose()
