"""Statements sent by psycopg itself on the connection of a SQLAlchemy session, for the few
hot paths where SQLAlchemy's execution costs more than the statement (issue 19): an intake
group's rows and the audit chain's append, on PostgreSQL. What the rest of Balise relies on
stays as through SQLAlchemy: the engine's ``before_cursor_execute`` listeners see each
statement, a failure is raised as SQLAlchemy's exception (an IntegrityError stays one), and a
connection the server lost is invalidated so that the pool does not hand it out again."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, exc


class DriverCursor:
    """A psycopg cursor of the session's connection that tells the engine's listeners."""

    def __init__(self, connection: Connection, cursor: Any) -> None:
        self._connection = connection
        self.cursor = cursor
        self._listeners = connection.dispatch.before_cursor_execute if (
            connection._has_events or connection.engine._has_events) else ()
        self.last: tuple[str, Any] = ("", None)

    def execute(self, sql: str, params: dict[str, Any] | None) -> Any:
        sql, params = self._tell(sql, params, False)
        return self.cursor.execute(sql, params)

    def executemany(self, sql: str, params: Sequence[dict[str, Any]]) -> None:
        sql, params = self._tell(sql, params, True)
        self.cursor.executemany(sql, params)

    def _tell(self, sql: str, params: Any, many: bool) -> tuple[str, Any]:
        for listen in self._listeners:
            sql, params = listen(self._connection, self.cursor, sql, params, None, many)
        self.last = (sql, params)
        return sql, params


@contextmanager
def driver_cursor(connection: Connection, *, pipeline: bool = False) -> Iterator[DriverCursor]:
    """A :class:`DriverCursor` on ``connection`` (PostgreSQL, psycopg), its statements in one
    pipeline if asked (one round trip for all of them, results read at the end)."""
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    cursor = DriverCursor(connection, driver.cursor())
    try:
        if pipeline:
            with driver.pipeline():
                yield cursor
        else:
            yield cursor
    except dialect.loaded_dbapi.Error as error:
        invalidated = dialect.is_disconnect(error, driver, cursor.cursor)
        if invalidated:
            connection.invalidate(error)
        sql, params = cursor.last
        raise exc.DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=invalidated, dialect=dialect) from error
    finally:
        cursor.cursor.close()
