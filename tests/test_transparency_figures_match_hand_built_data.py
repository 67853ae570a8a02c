"""The Article 83(3) figures of a year, computed in the database, equal what can be counted by
hand in tests/transparency_support.py, on SQLite and PostgreSQL; small counts are withheld and
a lone withheld cell takes a second one with it; other years' rows are not counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from balise.container import Balise
from balise.domain.transparency import SECONDARY, SUPPRESSED
from tests import transparency_support as data


@pytest.fixture
def built(settings) -> Iterator[tuple[Balise, data.Clock]]:  # type: ignore[no-untyped-def]
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    data.seed(app, clock)
    yield app, clock
    app.close()


def _report(app: Balise, year: int = 2026, threshold: int = 10):  # type: ignore[no-untyped-def]
    from balise.governance.transparency import Transparency

    with app.db.sessions() as session:
        return Transparency(app.clock, threshold).build(session, year)


def _rows(report, key):  # type: ignore[no-untyped-def]
    return {row.keys: (row.values, row.withheld) for row in report.table(key).rows}


def test_headline_counts_only_the_year(built):
    app, _ = built
    r = _report(app)
    assert r.period.partial and r.period.end == data.NOW
    h = r.headline
    assert h["reports"] == 26  # 12 + 3 + 11; the 2025 report is not counted
    assert h["reports_forwarded"] == 23
    assert h["items"] == 12 * 2 + 3 + 11
    assert h["indicators"] == 15  # 12 known active + 3 solicitation from 2025; deleted and candidate are not
    assert h["indicators_added"] == 12
    assert h["submissions"] == 0 and h["victims_assisted"] == 0
    assert h["notices_sent"] == 12
    # 3 unfounded reports, 3 assessed not abuse, 2 abuse addresses, 1 item reported more than once: withheld.
    for key in ("manifestly_unfounded", "not_abuse", "providers_notified", "items_reported_more_than_once"):
        assert h[key] is None and r.headline_withheld[key] == SUPPRESSED


def test_reports_by_provider_withhold_a_small_provider_and_the_cell_that_would_reveal_it(built):
    app, _ = built
    rows = _rows(_report(app), "reports_by_provider")
    assert rows[("provider_api", "Provider A")] == ((12,), (None,))
    assert rows[("provider_api", "Provider B")] == ((None,), (SUPPRESSED,))
    # 26 reports in all: showing the public form's 11 would give Provider B's 3 away.
    assert rows[("public_form", None)] == ((None,), (SECONDARY,))


def test_forwarded_by_member_state_and_items_by_type_state_and_service(built):
    app, _ = built
    r = _report(app)
    assert _rows(r, "reports_forwarded_by_state") == {("FR",): ((12,), (None,)), ("europol_only",): ((11,), (None,))}
    # 3 new-CSAM items are withheld, and with them the smallest figure shown (11), which the
    # total of 38 items would otherwise give away.
    assert _rows(r, "items_by_type") == {("known_csam",): ((24,), (None,)), ("solicitation",): ((None,), (SECONDARY,)),
                                         ("new_csam",): ((None,), (SUPPRESSED,))}
    by_state = _rows(r, "items_by_type_and_state")
    assert by_state[("known_csam", "FR")] == ((24,), (None,))
    assert by_state[("solicitation", None)] == ((None,), (SECONDARY,))
    assert _rows(r, "items_by_type_and_service")[("new_csam", "interpersonal_communication")][1] == (SUPPRESSED,)


def test_times_reported_counts_each_content_once_with_its_reports(built):
    app, _ = built
    rows = _rows(_report(app, threshold=1), "times_reported")
    # Media and hash-only originals: 3 (provider B) + 11 (public) reported once; provider A's content 12 times.
    assert rows == {("1",): ((14,), (None,)), ("2",): ((0,), (None,)), ("3-5",): ((0,), (None,)),
                    ("6-10",): ((0,), (None,)), ("11+",): ((1,), (None,))}
    rows = _rows(_report(app), "times_reported")
    assert rows[("11+",)] == ((None,), (SUPPRESSED,)) and rows[("1",)] == ((None,), (SECONDARY,))
    assert rows[("2",)] == ((0,), (None,))


def test_removal_median_and_shares_by_route(built):
    app, _ = built
    rows = _rows(_report(app), "removal_by_route")
    values, withheld = rows[("host_notice",)]
    # 12 notified, 11 removed after 2..12 hours: the median is 7 h; all 11 within 2.5 days of 12 notified.
    assert values == (12, 11, 7.0, 91.7, 91.7, 91.7)
    assert set(withheld) == {None}


def test_not_abuse_and_unfounded_are_withheld_below_the_threshold_and_shown_above_it(built):
    app, _ = built
    assert _rows(_report(app), "not_abuse_by_state") == {(None,): ((None,), (SUPPRESSED,))}
    assert _rows(_report(app, threshold=2), "not_abuse_by_state") == {(None,): ((3,), (None,))}
    assert _rows(_report(app, threshold=2), "manifestly_unfounded") == {("new_csam",): ((3,), (None,))}


def test_indicator_trend_by_year_end(built):
    app, _ = built
    rows = _rows(_report(app, threshold=2), "indicators_by_year")
    assert rows[("2025", "solicitation")] == ((3,), (None,))
    assert rows[("2025", "known_csam")] == ((0,), (None,))
    assert rows[("2026", "known_csam")] == ((12,), (None,))
    assert rows[("2026", "solicitation")] == ((3,), (None,))


def test_the_earlier_year_counts_only_its_own_report(built):
    app, _ = built
    r = _report(app, year=2025, threshold=1)
    assert not r.period.partial
    assert r.headline["reports"] == 1 and r.headline["items"] == 1


def test_what_does_not_exist_yet_is_zero_with_its_reason(built):
    app, _ = built
    r = _report(app)
    assert r.table("victims_assisted").note == "victims_not_recorded"
    assert r.table("searches_by_hosting_state").note == "searches_not_made"
    # The items are counted per detection route, but no analyst decided any: no rate is measured.
    assert r.table("error_rates").note == "error_rates_not_measured"
    assert {row.keys[0] for row in r.table("error_rates").rows} == {"provider_flag", "public_report"}
