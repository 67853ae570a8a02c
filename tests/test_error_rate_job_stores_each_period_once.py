"""The nightly error-rate job, run by the job queue, stores the figures of every month and ISO
week of its window and replaces them on the next run: the same data gives the same rows, a new
decision changes them, a route that disappeared leaves no row behind; months before the window
keep what was stored. Its next run is at the configured hour, UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from balise.adapters.db.models import ErrorRateFigure, Indicator, Item, Job
from balise.container import Balise
from balise.domain.indicators import Algorithm
from tests.conftest import make_settings
from tests.error_rates_support import indicator, item, md5_match, pdq_match
from tests.takedown_support import Clock

NOW = datetime(2026, 11, 15, 10, tzinfo=timezone.utc)
JUNE = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path, db_url):
    clock = Clock(NOW)
    app = Balise(make_settings(tmp_path, db_url, error_rates_months=3, error_rates_hour_utc=2), clock=clock)
    a = indicator(app, Algorithm.MD5, "6" * 32, "list A")
    b = indicator(app, Algorithm.PDQ, "e" * 64, "list B")
    item(app, datetime(2026, 6, 20, tzinfo=timezone.utc), matches=md5_match(a), outcome="illegal",
         assessment_source="analyst")  # before the window
    item(app, datetime(2026, 9, 2, tzinfo=timezone.utc), matches=md5_match(a), outcome="illegal",
         assessment_source="analyst")
    item(app, datetime(2026, 10, 7, tzinfo=timezone.utc), matches=md5_match(a), outcome="not_illegal",
         assessment_source="analyst")
    item(app, datetime(2026, 11, 3, tzinfo=timezone.utc), matches=md5_match(a))
    item(app, datetime(2026, 11, 4, tzinfo=timezone.utc), matches=pdq_match(b, 14), outcome="illegal",
         assessment_source="analyst")
    with app.db.transaction() as session:  # what a run in June stored, long ago
        session.add(ErrorRateFigure(granularity="month", period_start=JUNE, dimension="route", key="md5", confirmed=7,
                                    overturned=0, cannot_assess=0, unassessed=0, computed_at=JUNE))
    yield app
    app.close()


def _stored(app):
    with app.db.sessions() as session:
        rows = session.execute(select(ErrorRateFigure)).scalars().all()
    return sorted((r.granularity, r.period_start, r.dimension, r.key, r.confirmed, r.overturned, r.cannot_assess,
                   r.unassessed) for r in rows)


def _month(rows, month, key):
    return [r[4:] for r in rows if r[0] == "month" and r[1].month == month and r[3] == key]


def test_the_queue_runs_the_job_which_stores_months_and_weeks_and_schedules_the_next_night(app):
    app.periodic.ensure()
    app.run_jobs()
    rows = _stored(app)
    assert _month(rows, 9, "md5") == [(1, 0, 0, 0)]
    assert _month(rows, 10, "md5") == [(0, 1, 0, 0)]
    assert _month(rows, 11, "md5") == [(0, 0, 0, 1)]
    assert _month(rows, 11, "pdq:11-20") == [(1, 0, 0, 0)] and _month(rows, 11, "list B") == [(1, 0, 0, 0)]
    assert _month(rows, 6, "md5") == [(7, 0, 0, 0)]  # outside the window: kept as stored
    weeks = [r for r in rows if r[0] == "week" and r[3] == "md5"]
    assert [(r[1].date().isoformat(), r[4:]) for r in weeks] == [
        ("2026-08-31", (1, 0, 0, 0)), ("2026-10-05", (0, 1, 0, 0)), ("2026-11-02", (0, 0, 0, 1))]
    with app.db.sessions() as session:
        nxt = session.execute(select(Job).where(Job.kind == "periodic.error_rates", Job.status == "pending")).scalar_one()
    assert nxt.run_at == datetime(2026, 11, 16, 2, tzinfo=timezone.utc)


def test_a_second_run_stores_the_same_rows_and_a_new_decision_replaces_them(app):
    for _ in range(2):
        with app.db.transaction() as session:
            app.error_rates.store_recent(session)
    first = _stored(app)
    with app.db.transaction() as session:
        app.error_rates.store_recent(session)
    assert _stored(app) == first
    with app.db.transaction() as session:
        list_a = session.execute(select(Indicator.id).where(Indicator.algorithm == "md5")).scalar_one()
        session.execute(update(Item).where(Item.created_at == datetime(2026, 11, 3, tzinfo=timezone.utc))
                        .values(outcome="not_illegal", assessment_source="analyst"))
        session.execute(update(Item).where(Item.created_at == datetime(2026, 11, 4, tzinfo=timezone.utc))
                        .values(matches=md5_match(list_a)))
    with app.db.transaction() as session:
        app.error_rates.store_recent(session)
    rows = _stored(app)
    assert _month(rows, 11, "md5") == [(1, 1, 0, 0)]
    assert _month(rows, 11, "pdq:11-20") == [] and _month(rows, 11, "list B") == []
    assert len([r for r in rows if r[0] == "month" and r[1].month == 11]) == len(
        [r for r in first if r[0] == "month" and r[1].month == 11]) - 2
