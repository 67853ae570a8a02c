"""An import on PostgreSQL plans each page's existing-rows lookup anew (a generic plan made on an
empty table would scan the table once per page), and only that lookup: the foreign-key checks
PostgreSQL runs for every row COPY writes keep their cached plans. Left on for the whole
transaction, the custom-plan mode re-planned those checks once per row, half of PostgreSQL's
time in a million-line import (docs/benchmarks.md)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import event, func, select, text

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.detection.indicators import BATCH

ACTOR = Actor.system("test")

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _lines(count: int) -> bytes:
    return "".join(f"pdq {n:064x}\n" for n in range(1, count + 1)).encode()


def _plan_mode(session) -> str:
    return session.execute(text("SHOW plan_cache_mode")).scalar_one()


def _seed(balise) -> None:
    # A table that already holds PDQ indicators: an import then looks up every page (into a
    # fresh algorithm it knows which keys are new without asking).
    with balise.db.transaction() as s:
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(b"pdq " + b"f" * 64 + b"\n"), fmt="te", source="seed")


def _lookups(balise, seen: list[str]) -> int:
    return sum("FROM indicators" in st and "indicators.value = ANY" in st for st in seen)


def test_an_import_of_several_pages_leaves_the_plan_cache_mode_as_it_found_it(balise):
    _seed(balise)
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute", lambda c, cur, st, *r: seen.append(st))
    with balise.db.transaction() as s:
        report = balise.indicators.import_stream(s, ACTOR, io.BytesIO(_lines(BATCH + 500)), fmt="te", source="pages")
        assert report.imported == BATCH + 500
        assert _plan_mode(s) == "auto"
    assert _lookups(balise, seen) == 2


def test_a_mode_the_transaction_had_chosen_is_put_back(balise):
    _seed(balise)
    with balise.db.transaction() as s:
        s.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(_lines(BATCH + 1)), fmt="te", source="pages")
        assert _plan_mode(s) == "force_generic_plan"


def test_a_second_import_of_the_same_pages_finds_every_row_it_wrote(balise):
    data = _lines(2 * BATCH + 10)
    with balise.db.transaction() as s:
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt="te", source="first")
    with balise.db.transaction() as s:
        again = balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt="te", source="second")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2 * BATCH + 10)
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Indicator)).scalar_one() == 2 * BATCH + 10
