"""An import into an algorithm that had no indicator when it began asks the database only about
keys it may have written itself (issue 19: the lookup of every page was 7 of a million-line
import's 47 s). A value repeated pages later is still found: the later line wins, as before."""

from __future__ import annotations

import io

from sqlalchemy import event, func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.detection.indicators import BATCH

ACTOR = Actor.system("test")


def _pdq(n: int) -> str:
    return f"{n:064x}"


def _watch(balise) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    event.listen(balise.db.engine, "before_cursor_execute", lambda c, cur, st, params, *r: seen.append((st, params)))
    return seen


def _lookups(seen: list[tuple[str, object]], algorithm: str = "pdq") -> int:
    # The existing-rows lookup of a page: it reads the value with the id, kind and status.
    return sum("FROM indicators" in st and "indicators.kind" in st and "indicators.value" in st
               and st.lstrip().upper().startswith("SELECT") and algorithm in str(params) for st, params in seen)


def test_a_fresh_algorithm_is_imported_without_lookups(balise):
    seen = _watch(balise)
    data = "".join(f"pdq {_pdq(n)}\n" for n in range(1, 3 * BATCH + 1)).encode()
    with balise.db.transaction() as s:
        report = balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt="te", source="fresh")
    assert report.imported == 3 * BATCH
    assert _lookups(seen) == 0


def test_a_value_repeated_pages_later_is_found_and_the_later_line_wins(balise):
    header = "signal_type,signal_value,status\n"
    rows = [f"pdq,{_pdq(n)},active\n" for n in range(1, 2 * BATCH + 1)]
    rows.append(f"pdq,{_pdq(5)},suspended\n")  # page 2: the value of line 6, now suspended
    seen = _watch(balise)
    with balise.db.transaction() as s:
        report = balise.indicators.import_stream(s, ACTOR, io.BytesIO((header + "".join(rows)).encode()),
                                                 fmt="csv", source="repeat")
    assert (report.imported, report.updated) == (2 * BATCH, 1)
    assert _lookups(seen) == 1  # only the page holding the repeated value, for that value
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Indicator)) == 2 * BATCH
        assert s.scalar(select(Indicator.status).where(Indicator.value == _pdq(5))) == "suspended"


def test_an_algorithm_that_had_indicators_is_looked_up_on_every_page(balise):
    with balise.db.transaction() as s:
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(f"pdq {_pdq(1)}\n".encode()), fmt="te", source="seed")
    seen = _watch(balise)
    data = "".join(f"pdq {_pdq(n)}\nmd5 {n:032x}\n" for n in range(1, BATCH + 1)).encode()
    with balise.db.transaction() as s:
        report = balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt="te", source="second")
    assert (report.imported, report.unchanged) == (2 * BATCH - 1, 1)
    assert _lookups(seen, "pdq") == 2  # both pages hold PDQ keys
    assert _lookups(seen, "md5") == 0  # md5 had no indicator: its keys are new without asking
