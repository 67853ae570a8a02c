"""Proof that a refused request changed nothing: every row of every table, before and after,
except a credential's last-use time: a well-authenticated key or /ispws credential is noted as
used (at most once a minute) before its request's body is judged, and that is bookkeeping of
the credential, not something the refused request stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from balise.adapters.db.models import Base
from balise.container import Balise


BOOKKEEPING = {"last_used_at"}


def snapshot(app: Balise) -> dict[str, list[tuple[Any, ...]]]:
    with app.db.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(
                    select(*(c for c in table.columns if c.name not in BOOKKEEPING)))), key=repr)
                for table in Base.metadata.sorted_tables}


def assert_unchanged(app: Balise, before: dict[str, list[tuple[Any, ...]]]) -> None:
    after = snapshot(app)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"tables changed by a refused request: {changed}"
