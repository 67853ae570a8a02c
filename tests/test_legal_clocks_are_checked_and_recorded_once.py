"""The periodic clock check on a real database: a clock that runs out is recorded once (an
alert row and an audit event), a report whose provider never answers goes back to the queue,
a hold is flagged before it ends, and two checks racing record one alert."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, ClockAlert, Report
from balise.container import Balise
from balise.domain.clocks import ClockKind, ClockState
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.takedown_support import COMPLETE, Clock

POLICE = Actor.system("test-police-liaison")


def _app(tmp_path, db_url, clock: Clock) -> Balise:
    return Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0), clock=clock)


def _file(app: Balise, key: str, **fields: object) -> uuid.UUID:
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", json=minimal_report(**fields), headers=auth(key))
    assert r.status_code == 201, r.text
    app.run_jobs()
    return uuid.UUID(r.json()["id"])


def _check(app: Balise) -> int:
    with app.db.transaction() as s:
        return app.clocks.check(s)


def _alerts(app: Balise) -> list[tuple[str, str, str]]:
    with app.db.sessions() as s:
        return sorted((a.kind, a.subject_id, a.level) for a in s.execute(select(ClockAlert)).scalars())


def _events(app: Balise, event_type: str) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type == event_type)).scalar_one()


def test_an_urgent_report_waiting_past_one_hour_is_recorded_overdue_once(tmp_path, db_url):
    clock = Clock()
    app = _app(tmp_path, db_url, clock)
    _, key = make_provider(app)
    urgent = _file(app, key, urgent=True, **COMPLETE)
    normal = _file(app, key, **COMPLETE)
    with app.db.sessions() as s:
        states = {c.subject_id: c.state(clock.now) for c in app.clocks.running(s, [ClockKind.ASSESSMENT])}
    assert states == {str(urgent): ClockState.RUNNING, str(normal): ClockState.RUNNING}

    clock.advance(minutes=61)
    assert _check(app) == 1
    assert _alerts(app) == [("assessment", str(urgent), "overdue")]
    assert _check(app) == 0  # once
    assert _events(app, "clock:overdue") == 1

    clock.advance(hours=23)
    assert _check(app) == 1
    assert _alerts(app) == sorted([("assessment", str(urgent), "overdue"), ("assessment", str(normal), "overdue")])
    with app.db.transaction() as s:
        assert app.audit.verify(s).ok


def test_a_provider_that_never_answers_sends_the_report_back_to_the_queue(tmp_path, db_url):
    clock = Clock()
    app = _app(tmp_path, db_url, clock)
    _, key = make_provider(app)
    rid = _file(app, key)  # minimal: signature and contact point missing, so information is requested
    with app.db.sessions() as s:
        assert s.get(Report, rid).state == "information_requested"
    clock.advance(days=13, hours=23)
    assert _check(app) == 0
    with app.db.sessions() as s:
        assert s.get(Report, rid).state == "information_requested"

    clock.advance(hours=1)
    assert _check(app) == 1
    with app.db.sessions() as s:
        report = s.get(Report, rid)
        assert report.state == "in_assessment"
        assert report.missing_fields  # still recorded for the analyst
        last = report.events[-1]
        assert (last.from_state, last.to_state, last.actor_id) == ("information_requested", "in_assessment", "clocks")
        assert "within 14 days" in last.reason
    # Back in the queue, its assessment clock has long run out and is recorded too.
    assert _check(app) == 1
    assert [a[0] for a in _alerts(app)] == ["assessment", "information_request"]


def test_a_hold_is_flagged_before_it_ends_and_never_overdue(tmp_path, db_url):
    clock = Clock()
    app = _app(tmp_path, db_url, clock)
    _, key = make_provider(app)
    rid = _file(app, key, **COMPLETE)
    with app.db.transaction() as s:
        hold_id = app.holds.set(s, POLICE, rid, do_not_inform=True, do_not_remove=False, authority="DEMO police",
                                expires_at=clock.now + timedelta(days=90)).id
    clock.advance(days=59)
    with app.db.transaction() as s:
        app.clocks.check(s)
    assert ("hold_expiry", str(hold_id), "due_soon") not in _alerts(app)
    clock.advance(days=2)
    _check(app)
    assert ("hold_expiry", str(hold_id), "due_soon") in _alerts(app)
    assert _events(app, "clock:warning") == 1
    clock.advance(days=30)
    with app.db.transaction() as s:
        app.holds.expire(s, POLICE)
        kinds = {c.kind for c in app.clocks.running(s)}
    assert ClockKind.HOLD_EXPIRY not in kinds


def test_a_candidate_indicator_waits_one_calendar_month_for_its_second_analyst(tmp_path, db_url):
    clock = Clock()
    app = _app(tmp_path, db_url, clock)
    with app.db.transaction() as s:
        indicator = app.indicators.add(s, Actor.system("test"), algorithm=Algorithm.MD5, value="1" * 32,
                                       kind=IndicatorKind.NEW_CSAM, provenance={"source": "DEMO"}, media_type="image")
        indicator.status = "candidate"
        iid = str(indicator.id)
    with app.db.sessions() as s:
        (c,) = app.clocks.running(s, [ClockKind.INDICATOR_CONFIRMATION])
    assert c.subject_id == iid and 28 <= (c.deadline - clock.now).days <= 31
    clock.now = c.deadline
    assert _check(app) == 1 and _alerts(app) == [("indicator_confirmation", iid, "overdue")]


def test_two_checks_racing_record_one_alert(tmp_path, db_url):
    clock = Clock()
    app = _app(tmp_path, db_url, clock)
    _, key = make_provider(app)
    _file(app, key, urgent=True, **COMPLETE)
    clock.advance(hours=2)
    results: list[int] = []

    def second() -> None:
        with app.db.transaction() as s:
            results.append(app.clocks.check(s))

    with app.db.transaction() as s:
        results.append(app.clocks.check(s))
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(0.5)  # it waits for the first transaction's lock or commit, whichever the database uses
    racer.join(30)
    assert not racer.is_alive()
    assert sorted(results) == [0, 1]
    assert len(_alerts(app)) == 1 and _events(app, "clock:overdue") == 1
