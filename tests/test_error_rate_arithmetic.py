"""The arithmetic of the measured error rates: the Wilson interval against published values,
the decision read from what the analysts did, the routes and PDQ bands, and no rate below ten
decisions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from balise.domain.error_rates import (
    ANY_INDICATOR,
    MIN_DECISIONS,
    Decision,
    Dimension,
    ErrorRate,
    Granularity,
    ItemFacts,
    Tally,
    combine,
    decide,
    months_back,
    pdq_route,
    periods,
    routes_of,
    tally,
    wilson_interval,
)


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_the_wilson_interval_gives_newcombes_published_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=5e-5) and got[1] == pytest.approx(high, abs=5e-5)


def test_a_wilson_interval_without_trials_or_with_more_successes_than_trials_is_refused():
    with pytest.raises(ValueError):
        wilson_interval(0, 0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.mark.parametrize(("outcome", "source", "report", "expected"), [
    ("illegal", "analyst", None, Decision.CONFIRMED),
    ("not_illegal", "analyst", "forwarded", Decision.OVERTURNED),
    ("cannot_assess", "analyst", None, Decision.CANNOT_ASSESS),
    # The analyst's own classification wins over the report's decision.
    ("illegal", "analyst", "manifestly_unfounded", Decision.CONFIRMED),
    # Inherited from a confirmed indicator: only the analyst's report decision settles it.
    ("illegal", "reuse:indicator:7", None, Decision.UNASSESSED),
    ("illegal", "reuse:indicator:7", "forwarded", Decision.CONFIRMED),
    ("illegal", "reuse:indicator:7", "manifestly_unfounded", Decision.OVERTURNED),
    (None, None, "manifestly_unfounded", Decision.OVERTURNED),
    # Forwarded without any classification of this item: nobody said it is abuse.
    (None, None, "forwarded", Decision.UNASSESSED),
    (None, None, None, Decision.UNASSESSED),
])
def test_the_decision_is_the_analysts_never_the_machines(outcome, source, report, expected):
    assert decide(outcome, source, report) is expected


def test_pdq_bands_end_at_the_matching_threshold():
    assert [pdq_route(d) for d in (0, 1, 10, 11, 20, 21, 31, 32)] == [
        "pdq:0", "pdq:1-10", "pdq:1-10", "pdq:11-20", "pdq:11-20", "pdq:21-31", "pdq:21-31", "pdq:over-31"]


def test_an_item_counts_on_each_exact_algorithm_and_on_its_closest_pdq_band_or_else_on_its_channel():
    matches = [{"indicator_id": 1, "algorithm": "md5", "distance": 0},
               {"indicator_id": 2, "algorithm": "sha256", "distance": 0},
               {"indicator_id": 3, "algorithm": "pdq", "distance": 24},
               {"indicator_id": 4, "algorithm": "pdq", "distance": 9}]
    assert routes_of(matches, "provider_api") == ["md5", "sha256", "pdq:1-10"]
    assert routes_of([{"indicator_id": 5, "algorithm": "vpdq", "distance": 0}], "ncmec_xml") == ["vpdq"]
    assert routes_of(None, "provider_api") == ["provider_flag"]
    assert routes_of([], "ncmec_xml") == ["provider_flag"]
    assert routes_of(None, "public_form") == ["public_report"]
    assert routes_of(None, "hotline") == ["hotline_report"]


def _facts(decision: Decision, matches=None, source="provider_api") -> ItemFacts:
    outcome = {Decision.CONFIRMED: "illegal", Decision.OVERTURNED: "not_illegal",
               Decision.CANNOT_ASSESS: "cannot_assess", Decision.UNASSESSED: None}[decision]
    return ItemFacts(matches, source, outcome, "analyst" if outcome else None, None)


def test_counts_per_route_and_source_and_the_rate_only_from_ten_decisions():
    md5 = [{"indicator_id": 1, "algorithm": "md5", "distance": 0}]
    pdq = [{"indicator_id": 2, "algorithm": "pdq", "distance": 3}]
    items = ([_facts(Decision.CONFIRMED, md5)] * 9 + [_facts(Decision.OVERTURNED, md5)] * 3
             + [_facts(Decision.UNASSESSED, md5)] * 2 + [_facts(Decision.CANNOT_ASSESS, md5)]
             + [_facts(Decision.CONFIRMED, pdq)] * 8 + [_facts(Decision.OVERTURNED, pdq)]
             + [_facts(Decision.OVERTURNED)] * 4)
    rates = {(r.dimension, r.key): r.tally for r in tally(items, {1: "list A", 2: "list B"})}
    exact = rates[(Dimension.ROUTE, "md5")]
    assert (exact.confirmed, exact.overturned, exact.unassessed, exact.cannot_assess) == (9, 3, 2, 1)
    assert exact.false_match_rate == pytest.approx(3 / 12)
    assert exact.interval == pytest.approx(wilson_interval(3, 12))
    assert rates[(Dimension.SOURCE, "list A")] == exact
    band = rates[(Dimension.ROUTE, "pdq:1-10")]
    assert band.decided == 9 < MIN_DECISIONS and band.false_match_rate is None and band.interval is None
    assert rates[(Dimension.ROUTE, "provider_flag")].overturned == 4
    both = rates[(Dimension.ROUTE, ANY_INDICATOR)]
    assert (both.confirmed, both.overturned, both.unassessed) == (17, 4, 2)
    # An indicator whose row is gone still counts, under "unknown".
    assert tally([_facts(Decision.CONFIRMED, [{"indicator_id": 99, "algorithm": "md5"}])], {})[-1].key == "unknown"


def test_combined_periods_add_counts_and_compute_the_rate_from_the_sums():
    a = ErrorRate(Dimension.ROUTE, "md5", Tally(confirmed=5, overturned=1))
    b = ErrorRate(Dimension.ROUTE, "md5", Tally(confirmed=4, overturned=2, unassessed=3))
    (total,) = combine([a, b])
    assert (total.tally.confirmed, total.tally.overturned, total.tally.unassessed) == (9, 3, 3)
    assert total.tally.false_match_rate == pytest.approx(0.25)


def test_periods_are_whole_utc_months_and_monday_weeks():
    start = datetime(2026, 11, 18, 15, tzinfo=timezone.utc)
    end = datetime(2027, 1, 3, tzinfo=timezone.utc)
    assert [p[0].date().isoformat() for p in periods(start, end, Granularity.MONTH)] == [
        "2026-11-01", "2026-12-01", "2027-01-01"]
    weeks = periods(start, end, Granularity.WEEK)
    assert weeks[0][0].date().isoformat() == "2026-11-16" and all(w[0].weekday() == 0 for w in weeks)
    assert months_back(start, 11).date().isoformat() == "2025-12-01"
