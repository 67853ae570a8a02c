"""A first load into empty PostgreSQL tables with their secondary indexes and foreign keys set
aside and rebuilt once at the end, as PostgreSQL's manual advises for populating a database
("Remove Indexes", "Remove Foreign Key Constraints").

Measured on a million indicators, each with its history row (docs/benchmarks.md, session 17):
PostgreSQL's own work went from 23.0 to 11.5 s. A foreign key checks each new row with a query of
its own; rebuilt, it is checked by one join over the table (0.1 to 0.7 s here). A secondary index
takes a random insert per row; rebuilt, one sort (about 0.25 s each).

What stays in place: primary keys and unique constraints. They refuse a bad row as it comes,
and the import's own lookup of rows it already wrote reads the unique index.

Why only empty tables: setting the indexes aside takes the tables for the transaction (ACCESS
EXCLUSIVE: readers wait until it commits). With no row there is nothing to read yet, and
rebuilding costs nothing beyond the new rows. The definitions come from PostgreSQL's catalog, so
a migration that adds an index needs no change here. Everything happens in a savepoint of the
caller's transaction: if anything fails, the schema and the rows are put back as they were."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# The statements that drop, then restore, what a table's rows maintain row by row. Each
# row: (drop, restore) built by PostgreSQL itself (format's %I and regclass quote names).
_SET_ASIDE = text("""
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname),
           format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                  pg_get_constraintdef(c.oid)),
           0 AS step
      FROM pg_constraint c
     WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype = 'f'
    UNION ALL
    SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid), 1
      FROM pg_index i
     WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
       AND NOT i.indisprimary AND NOT i.indisunique
       AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x')
     ORDER BY step, 1
""")


@contextmanager
def first_load(session: Session, tables: Sequence[str], *, lock_timeout: str = "2s") -> Iterator[bool]:
    """Run the body with ``tables``' secondary indexes and foreign keys set aside when every one
    of them is empty, rebuilt on leaving. Yields whether they were; when they were not (a table
    holds rows, another transaction holds a lock on them for more than ``lock_timeout``, or the
    role may not alter them) the body runs as usual. On an exception, the body's writes are
    rolled back with the schema change: the caller's transaction is left as it was before."""
    if session.get_bind().dialect.name != "postgresql" or _holds_rows(session, tables):
        yield False
        return
    savepoint = session.begin_nested()
    statements: list[tuple[str, str]] = []
    try:
        previous = session.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
        session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": lock_timeout})
        session.execute(text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
        session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": previous})
        empty = not _holds_rows(session, tables)  # still, now that no one else can write
        if empty:
            statements = [(drop, restore) for drop, restore, _ in
                          session.execute(_SET_ASIDE, {"tables": list(tables)}).all()]
            for drop, _restore in statements:
                session.execute(text(drop))
    except DBAPIError as exc:
        savepoint.rollback()
        log.info("first load: indexes kept in place (%s)", exc.orig)
        empty = False
    if not empty:
        if savepoint.is_active:
            savepoint.rollback()  # and with it the locks
        yield False
        return
    try:
        yield bool(statements)
        # Indexes before the foreign keys: the keys' checks may read them.
        for _drop, restore in sorted(statements, key=lambda s: s[1].startswith("ALTER")):
            session.execute(text(restore))
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()


def _holds_rows(session: Session, tables: Sequence[str]) -> bool:
    return any(session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar_one() for table in tables)
