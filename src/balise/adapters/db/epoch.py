"""The credential epoch: one counter that database triggers raise whenever what a credential
allows may have changed (migration 0032). Caches of authentication compare it on every
request: the same value means nothing they hold changed; None (the row is missing, as right
after a TRUNCATE) means do not cache at all.

Where a request starts, read it with ``EpochReader`` (one statement through the driver; on
PostgreSQL in autocommit: one round trip, no BEGIN and ROLLBACK around it). Inside a unit of
work that already holds a session, ``credential_epoch(session)``."""

from __future__ import annotations

import os
import select as io_select
import threading
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import CredentialEpoch

_READ = select(CredentialEpoch.epoch).where(CredentialEpoch.id == 1)
_READ_SQL = "SELECT epoch FROM credential_epoch WHERE id = 1"


def credential_epoch(session: Session) -> int | None:
    return session.execute(_READ).scalar_one_or_none()


class EpochReader:
    """Reads the epoch on a pooled connection through the database driver itself.

    Why not a session: this statement runs on every authenticated request, and the ORM
    session, its result objects and the engine's execution machinery around one integer cost
    several times the round trip (issue 19: 16 % of the server CPU of a cached one-hash match).
    The pool, its checkout check (engine.py) and its reset on return are unchanged."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def __call__(self) -> int | None:
        try:
            return self._read()
        except _Lost:
            # The server ended the connection after the pool's checkout check and before this
            # statement (pg_terminate_backend's FATAL message may arrive a moment late, a
            # restart, a network drop). The lost connection was invalidated, not returned to
            # the pool; a read-only statement is safe to send once more on a new one.
            return self._read()

    def _read(self) -> int | None:
        pooled = self._engine.raw_connection()
        try:
            if self._postgres:
                row = self._read_postgres(pooled)
            else:
                cursor = pooled.cursor()
                try:
                    cursor.execute(_READ_SQL)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
        finally:
            pooled.close()
        return None if row is None else int(row[0])

    @staticmethod
    def _read_postgres(pooled: Any) -> Any:
        import psycopg

        driver = pooled.driver_connection
        try:
            # Checked out idle: switching to autocommit and back sends nothing to the server.
            driver.autocommit = True
            try:
                return driver.execute(_READ_SQL).fetchone()
            finally:
                if not driver.broken:
                    driver.autocommit = False
        except psycopg.OperationalError as error:
            if not driver.broken:
                raise
            pooled.invalidate(error)
            raise _Lost from error


class _Lost(Exception):
    """The pooled connection was found dead when used (and has been invalidated)."""


CHANNEL = "balise_credentials"  # raised with the epoch by the triggers of migration 0032


class EpochWatch:
    """PostgreSQL: the epoch held in memory and kept current by ``LISTEN balise_credentials``,
    so that an authenticated request whose key and grants are cached costs no round trip.

    The triggers that raise the epoch also ``pg_notify`` the channel; PostgreSQL delivers the
    notification when the transaction commits. A thread of this process holds one dedicated
    connection that listens, and reads the epoch again whenever a notification arrives (and
    every ``recheck_seconds`` in any case). Until that connection listens and has read the
    epoch, and whenever it is lost, every call reads the epoch directly (``read``), exactly as
    without the watch: nothing stale is ever answered because a notification could be missed.

    What this changes: a credential changed in another process counts here once the
    notification arrives (a millisecond on one host, measured in docs/benchmarks.md) rather
    than at the very next statement. A change committed through this process's own sessions
    counts at once (``invalidate``, called after such a commit; container.py)."""

    def __init__(self, read: Any, connect: Any, *, recheck_seconds: float = 5.0) -> None:
        self._read = read
        self._connect = connect
        self._recheck = recheck_seconds
        self._lock = threading.Lock()
        self._value: int | None = None
        self._live = False
        self._stale = True
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closing = False
        self._wake: tuple[int, int] | None = None
        self._changed = threading.Condition()  # notified when a value is published or the listener is lost
        self._listening: Any = None  # the listener's connection while it is open
        self.backend_pid: int | None = None  # the listening connection's server process

    def __call__(self) -> int | None:
        if self._pid != os.getpid():
            self._start()
        if self._live and not self._stale:
            return self._value
        with self._lock:
            generation = self._generation
        value = self._read()
        with self._lock:
            # Only if nothing newer was published or invalidated while this read was in flight.
            if generation == self._generation and self._live:
                self._value, self._stale = value, False
        return value

    def from_memory(self) -> int | None:
        """The epoch if this process holds a current value (listening, nothing invalidated
        since), else None, never a read: for callers that must not wait on the database (the
        event loop, web/api/match.py), which then call the watch itself elsewhere."""
        if self._pid == os.getpid() and self._live and not self._stale:
            return self._value
        return None

    @property
    def live(self) -> bool:
        return self._live

    def invalidate(self) -> None:
        """A credential changed through this process: the next call reads the epoch itself."""
        with self._lock:
            self._generation += 1
            self._stale = True

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Blocks until ``predicate()`` holds, checked now and whenever the listener publishes a
        value or loses its connection; False after ``timeout`` seconds. For callers that must
        know a change was heard (tests, tools), never on a request's path."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _announce(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def close(self) -> None:
        self._closing = True
        if self._wake is not None and self._pid == os.getpid():
            os.write(self._wake[1], b"x")
            if self._thread is not None:
                self._thread.join(timeout=5)
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() or self._closing:
                return
            # A forked child inherits neither the thread nor a usable connection.
            self._pid = os.getpid()
            self._live, self._stale = False, True
            self._wake = os.pipe()
            self._thread = threading.Thread(target=self._run, name="balise-credential-epoch", daemon=True)
            self._thread.start()

    def _publish(self, value: int | None) -> None:
        with self._lock:
            self._generation += 1
            self._value, self._live, self._stale = value, True, False
        self._announce()

    def _run(self) -> None:
        import psycopg  # here, not at the top: SQLite-only processes never import the driver

        assert self._wake is not None
        wake = self._wake[0]
        pause = 0.1
        while not self._closing:
            try:
                connection = self._connect()
            except psycopg.Error:
                if io_select.select([wake], [], [], pause)[0]:
                    return
                pause = min(pause * 2, 5.0)
                continue
            self._listening = connection
            try:
                connection.execute(f"LISTEN {CHANNEL}")
                self.backend_pid = connection.info.backend_pid
                pause = 0.1
                while not self._closing:
                    # Listening before reading: a change after this read is notified.
                    row = connection.execute(_READ_SQL).fetchone()
                    self._publish(None if row is None else int(row[0]))
                    while not self._closing:
                        # Notifications that came with the read are held by the driver.
                        if any(True for _ in connection.notifies(timeout=0)):
                            break
                        ready = io_select.select([connection.fileno(), wake], [], [], self._recheck)[0]
                        if wake in ready:
                            return
                        if not ready:
                            break  # the periodic read: also proves the connection alive
            except psycopg.Error:
                pass  # lost: calls read directly until a new connection listens
            finally:
                with self._lock:
                    self._live, self._stale = False, True
                    self._generation += 1
                self.backend_pid = None
                connection.close()
                self._listening = None
                self._announce()


def watched_columns() -> dict[str, tuple[str, ...]]:
    """The tables and columns whose change raises the epoch: migration 0032's triggers."""
    import importlib

    return importlib.import_module("balise.migrations.versions.0032_credential_epoch").WATCHED


def invalidate_after_credential_commits(sessions: Any, watch: EpochWatch) -> None:
    """After a commit of ``sessions`` that changed a watched column (an object's flush or an
    ORM bulk UPDATE/DELETE/INSERT), ``watch`` reads the epoch again at its next call: a change
    made through this process counts at once, without waiting for its notification."""
    from sqlalchemy import event, inspect

    watched = watched_columns()
    flag = "balise_credentials_changed"

    def changed(obj: Any) -> bool:
        columns = watched.get(getattr(obj, "__tablename__", ""), ())
        if not columns:
            return False
        state = inspect(obj)
        return any(state.attrs[c].history.has_changes() for c in columns if c in state.attrs)

    @event.listens_for(sessions, "before_flush")
    def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
        if any(getattr(o, "__tablename__", "") in watched for o in (*session.new, *session.deleted)) or any(
                changed(o) for o in session.dirty):
            session.info[flag] = True

    @event.listens_for(sessions, "do_orm_execute")
    def _bulk(state: Any) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in watched:
                state.session.info[flag] = True

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.info.pop(flag, False):
            watch.invalidate()

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(flag, None)
