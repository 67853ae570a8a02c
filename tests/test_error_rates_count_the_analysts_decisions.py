"""The measured error rates of a period count, per route and per indicator source, what the
analysts decided about the items received in it; first from rows written by hand with known
answers, then through the real intake, triage and workbench services."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from balise.adapters.db.models import Item
from balise.casework.assessment import Decision as ReportDecision
from balise.domain.error_rates import Dimension, Granularity, wilson_interval
from balise.domain.indicators import Algorithm
from balise.governance.error_rates import error_rate_series, error_rates_for_period
from balise.web.app import create_app
from tests.error_rates_support import OCT, SEPT, indicator, three_months
from tests.helpers import auth, make_provider, minimal_report
from tests.retention_support import classify, decide
from tests.takedown_support import COMPLETE


@pytest.fixture
def decided(balise):
    three_months(balise)
    return balise


def _by_key(rates):
    return {(r.dimension, r.key): r.tally for r in rates}


def test_the_figures_of_all_periods_count_each_route_and_source(decided):
    with decided.db.sessions() as session:
        rates = _by_key(error_rates_for_period(session, None, None))
    md5 = rates[(Dimension.ROUTE, "md5")]
    assert (md5.confirmed, md5.overturned, md5.cannot_assess, md5.unassessed) == (12, 3, 0, 1)
    assert md5.false_match_rate == pytest.approx(3 / 15)
    low, high = md5.interval
    assert (low, high) == pytest.approx(wilson_interval(3, 15))
    assert low == pytest.approx(0.0705, abs=5e-4) and high == pytest.approx(0.4519, abs=5e-4)
    assert rates[(Dimension.SOURCE, "list A")] == md5
    far = rates[(Dimension.ROUTE, "pdq:21-31")]
    assert (far.confirmed, far.overturned) == (3, 2) and far.false_match_rate is None  # 5 decisions: too few
    assert rates[(Dimension.ROUTE, "pdq:0")].cannot_assess == 1
    assert rates[(Dimension.SOURCE, "list B")].decided == 5
    flag = rates[(Dimension.ROUTE, "provider_flag")]
    assert (flag.confirmed, flag.overturned) == (1, 2)
    assert rates[(Dimension.ROUTE, "public_report")].confirmed == 1
    assert rates[(Dimension.SOURCE, "balise_assessment")].confirmed == 1
    assert rates[(Dimension.ROUTE, "any_indicator")].total == 16 + 6 + 1


def test_a_period_includes_its_first_instant_and_excludes_its_end(decided):
    with decided.db.sessions() as session:
        september = _by_key(error_rates_for_period(session, SEPT - timedelta(days=9), OCT))
        october = _by_key(error_rates_for_period(session, OCT, OCT + timedelta(days=31)))
    assert september[(Dimension.ROUTE, "md5")].total == 11
    assert (Dimension.ROUTE, "pdq:21-31") not in september
    md5 = october[(Dimension.ROUTE, "md5")]
    assert (md5.confirmed, md5.overturned) == (4, 1) and md5.false_match_rate is None


def test_the_series_has_every_month_of_the_period_even_an_empty_one(decided):
    with decided.db.sessions() as session:
        series = error_rate_series(session, datetime(2026, 8, 1, tzinfo=timezone.utc),
                                   datetime(2026, 12, 1, tzinfo=timezone.utc), Granularity.MONTH)
    assert [p.start.month for p in series] == [8, 9, 10, 11]
    assert series[0].rates == []
    md5 = [_by_key(p.rates).get((Dimension.ROUTE, "md5")) for p in series]
    assert md5[1].decided == 10 and md5[1].false_match_rate == pytest.approx(0.2)
    assert md5[2].decided == 5 and md5[3] is None


def _file(client, key, hashes):
    r = client.post("/api/v1/reports", json=minimal_report(items=[{"kind": "hash_only", "hashes": hashes}], **COMPLETE),
                    headers=auth(key))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def test_decisions_taken_in_the_workbench_are_counted_as_the_rules_say(balise):
    """Matched items inherit the indicator's classification at triage; forwarding lets it stand
    (confirmed), manifestly unfounded overturns it; an unmatched item classified not illegal
    overturns the provider's flag; an undecided report counts as unassessed."""
    _, key = make_provider(balise)
    md5 = "3" * 32
    indicator(balise, Algorithm.MD5, md5, "list C")
    with TestClient(create_app(balise)) as client:
        forwarded = _file(client, key, {"md5": md5})
        unfounded = _file(client, key, {"md5": md5})
        waiting = _file(client, key, {"md5": md5})
        flagged = _file(client, key, {"sha256": "4" * 64})
    balise.run_jobs()
    decide(balise, forwarded, ReportDecision("forward"))
    decide(balise, unfounded, ReportDecision("manifestly_unfounded", ("technical_error",)))
    with balise.db.sessions() as session:
        flagged_item = session.query(Item).filter(Item.report_id == flagged).one().id
        assert session.query(Item).filter(Item.report_id == waiting).one().assessment_source.startswith("reuse:")
    classify(balise, flagged_item, "not_illegal")
    with balise.db.sessions() as session:
        rates = _by_key(error_rates_for_period(session, None, None))
    exact = rates[(Dimension.ROUTE, "md5")]
    assert (exact.confirmed, exact.overturned, exact.unassessed) == (1, 1, 1)
    assert rates[(Dimension.SOURCE, "list C")] == exact
    flag = rates[(Dimension.ROUTE, "provider_flag")]
    assert (flag.confirmed, flag.overturned, flag.unassessed) == (0, 1, 0)
