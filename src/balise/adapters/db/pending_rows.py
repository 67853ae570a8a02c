"""Rows stored later, all at once: an intake group's reports, items, jobs... written by one
statement per table and set of columns just before the group appends to the audit chain and
commits (``balise.intake.grouping``; issue 19). On SQLite each statement is one executemany
through SQLAlchemy; on PostgreSQL psycopg runs it for each row, every table's rows in one
pipeline (one round trip). A unit of such a group stores through :func:`pending_rows` (or
:func:`store`) instead of the session."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, event, inspect, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from balise.adapters.db.driver import driver_cursor

#: Where a session holds its pending rows (``Session.info``).
PENDING_ROWS = "balise.pending_rows"


class PendingRows:
    """The rows the units of a group store, written together by :meth:`write`: one statement
    per table and set of columns, the tables in the order of their foreign keys (a report before
    its items). Mapped objects are stored as what the ORM would insert: the attributes that were
    set (None included, which a JSON column stores as JSON ``null``, as the ORM does), the
    columns' defaults for the others; they stay outside the session."""

    def __init__(self) -> None:
        self._rows: dict[tuple[int, Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._added: list[tuple[int, Any, tuple[str, ...]]] = []

    def add(self, *objects: Any) -> None:
        """Store mapped objects (a Report, its Items...) with the group's rows."""
        for obj in objects:
            table, columns = _mapped_columns(type(obj))
            values = obj.__dict__
            self._add(_insert(table), table, {column: values[attr] for attr, column in columns if attr in values})

    def add_rows(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """Rows for an INSERT on one table (``insert(table)``, or an ``ON CONFLICT`` variant)."""
        for row in rows:
            self._add(statement, statement.table, row)

    def _add(self, statement: Any, table: Table, row: dict[str, Any]) -> None:
        key = (_table_order(table), statement, tuple(row))
        self._rows.setdefault(key, []).append(row)
        self._added.append(key)

    def mark(self) -> int:
        return len(self._added)

    def take_back(self, mark: int) -> None:
        """Forget what was added since :meth:`mark`: a failed unit's rows."""
        for key in reversed(self._added[mark:]):
            self._rows[key].pop()
        del self._added[mark:]

    def write(self, session: Session) -> None:
        # Sorted by table only; a table's statements keep the order they first appeared in.
        writes = [(statement, columns, rows)
                  for (_, statement, columns), rows in sorted(self._rows.items(), key=lambda kv: kv[0][0]) if rows]
        self._rows.clear()
        self._added.clear()
        if not writes:
            return
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            _write_pipelined(connection, writes)
        else:
            for statement, _, rows in writes:
                connection.execute(statement, rows)


def _write_pipelined(connection: Connection, writes: list[tuple[Any, tuple[str, ...], list[dict[str, Any]]]]
                     ) -> None:
    """PostgreSQL: every statement of the group in one pipeline of psycopg's, each table's rows
    by one ``executemany`` of the statement SQLAlchemy compiles for them, their values converted
    by the columns' own types (JSON, UTC times) and their defaults filled as SQLAlchemy does.
    Through SQLAlchemy's execution a group's six statements cost the committer twice the CPU and
    three times the wall time (one round trip each; issue 19). Listeners and errors are as
    through SQLAlchemy (adapters/db/driver.py)."""
    with driver_cursor(connection, pipeline=True) as cursor:
        for statement, columns, rows in writes:
            sql, prepare = _compiled(statement, columns, connection.dialect)
            cursor.executemany(sql, [prepare(row) for row in rows])


#: How a pending row becomes the parameters of its statement.
_Prepare = Callable[[dict[str, Any]], dict[str, Any]]


@functools.lru_cache(maxsize=512)
def _compiled(statement: Any, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, _Prepare]:
    """The SQL SQLAlchemy runs for rows of ``columns`` and how it turns a row into its parameters."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    # (A RETURNING the statement asks for is run and its rows left unread, as before.)
    filled = set(columns) | {column.key for column in compiled.insert_prefetch}
    if compiled.escaped_bind_names or compiled.positiontup or set(compiled.binds) - filled:
        raise RuntimeError(f"pending rows cannot be written by {compiled.string!r}")
    defaults = []
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not (default.is_scalar or default.is_callable):
            raise RuntimeError(f"pending rows cannot fill the default of {column}")
        defaults.append((column.key, default.arg if default.is_callable else (lambda _, value=default.arg: value)))
    convert = tuple(compiled._bind_processors.items())

    def prepare(row: dict[str, Any]) -> dict[str, Any]:
        params = dict(row)
        for key, default in defaults:
            params[key] = default(None)
        for key, processor in convert:
            params[key] = processor(params[key])
        return params

    return compiled.string, prepare


def pending_rows(session: Session) -> PendingRows | None:
    """The pending rows of the intake group (or lone unit) running in ``session``; None outside
    one (``balise.intake.grouping``), where a caller writes through the session as usual."""
    return session.info.get(PENDING_ROWS)


def store(session: Session, *objects: Any) -> None:
    """Store mapped objects with the group running in ``session`` (its pending rows), or, outside
    a group, through the session."""
    pending = pending_rows(session)
    if pending is None:
        session.add_all(objects)
    else:
        pending.add(*objects)


@functools.cache
def _mapped_columns(cls: type) -> tuple[Table, tuple[tuple[str, str], ...]]:
    mapper = inspect(cls)
    return mapper.local_table, tuple((prop.key, prop.columns[0].key) for prop in mapper.column_attrs)


@functools.cache
def _insert(table: Table) -> Any:
    return insert(table)


@functools.cache
def _table_order(table: Table) -> int:
    return table.metadata.sorted_tables.index(table)


@event.listens_for(Session, "before_flush")
def _refuse_writes_beside_pending_rows(session: Session, flush_context: Any, instances: Any) -> None:
    # What a unit writes through the session could not be taken back with its pending rows if
    # it failed in its group, and would reach the database before the rows it refers to.
    if PENDING_ROWS in session.info and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a unit of an intake group writes through its pending rows, not the session")
