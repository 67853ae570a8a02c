"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: Engine) -> None:
    """A pooled PostgreSQL connection the server has closed is replaced at checkout, without
    a round trip (SQLAlchemy's pre-ping costs one per checkout: a quarter of the database
    time of a cached match request, docs/benchmarks.md, issue 19).

    Between two checkouts an idle connection receives nothing unless the server ends it (a
    restart, pg_terminate_backend, idle timeouts): then its socket is readable (the FATAL
    message or end of file). Readable or in error at checkout means replace it; the pool
    retries with a new connection. A connection silently lost on the network still fails its
    first statement, as it would between a ping and that statement."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if pgconn is None:
            return
        if dbapi_connection.closed:
            raise exc.DisconnectionError("the connection is closed")
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
        if poller.poll(0):
            raise exc.DisconnectionError("the server ended the connection while it was idle in the pool")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Every transaction here writes (even a read writes its audit event), so take the
        # write lock up front: two writers then queue instead of failing half-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """The engine and a session factory; a unit of work is one transaction."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # For code that only reads, a statement at a time (the matcher on every query): on
        # PostgreSQL in autocommit, so a read costs its statement's round trip and no BEGIN and
        # ROLLBACK around it (same pool). SQLite reads in a transaction as before.
        reads = self.engine if is_sqlite(self.engine) else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_sessions = sessionmaker(reads, expire_on_commit=False)
        #: The same, without a session around the statement (a report's exact-hash read).
        self.read_engine = reads

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
