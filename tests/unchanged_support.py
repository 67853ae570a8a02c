"""Proof that a refused request changed nothing: every row of every table, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from balise.adapters.db.models import Base
from balise.container import Balise


def snapshot(app: Balise) -> dict[str, list[tuple[Any, ...]]]:
    with app.db.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables}


def assert_unchanged(app: Balise, before: dict[str, list[tuple[Any, ...]]]) -> None:
    after = snapshot(app)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"tables changed by a refused request: {changed}"
