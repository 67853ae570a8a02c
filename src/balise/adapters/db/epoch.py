"""The credential epoch: one counter that database triggers raise whenever what a credential
allows may have changed (migration 0032). Caches of authentication compare it on every
request: the same value means nothing they hold changed; None (the row is missing, as right
after a TRUNCATE) means do not cache at all.

Where a request starts, read it with ``EpochReader`` (one statement through the driver; on
PostgreSQL in autocommit: one round trip, no BEGIN and ROLLBACK around it). Inside a unit of
work that already holds a session, ``credential_epoch(session)``."""

from __future__ import annotations

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
