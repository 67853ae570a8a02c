"""The centre's own candidate, confirmed by four eyes, does not join the database: it waits for a
coordinating authority (state `candidate_awaiting_authority`) on a clock of 1 calendar month,
extendable once to 2 (CSAR Art. 36(3)), shown with the other clocks and recorded overdue once;
the authority's submission naming its hash makes it active, and its history keeps each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import ClockAlert, Indicator, IndicatorHistory, User
from balise.container import Balise
from balise.detection.submissions import SubmissionConflict
from balise.domain.clocks import ClockKind, add_months
from balise.domain.model import OrgKind
from balise.domain.submissions import SubmissionChannel, check_submission
from tests.conftest import make_settings
from tests.helpers import make_user
from tests.takedown_support import Clock

PDQ = "f" * 32 + "0" * 32


def test_four_eyes_send_the_candidate_to_the_authority_whose_month_can_become_two(tmp_path, db_url):
    clock = Clock()
    app = Balise(make_settings(tmp_path, db_url), clock=clock)
    make_user(app, "ana", "analyst")
    make_user(app, "sam", "senior-analyst")
    with app.db.transaction() as s:
        ana = s.execute(select(User).where(User.username == "ana")).scalar_one()
        s.add(Indicator(kind="new_csam", media_type="image", algorithm="pdq", value=PDQ, status="candidate",
                        provenance={"assessment": {"assessed_by": str(ana.id), "report": "r-1"}},
                        version=app.indicators.reserve_versions(s, 1), created_at=clock.now, updated_at=clock.now))
    with app.db.transaction() as s:
        sam = s.execute(select(User).where(User.username == "sam")).scalar_one()
        iid = s.execute(select(Indicator.id)).scalar_one()
        confirmed = app.assessment.confirm(s, sam, iid, accept=True, note="agree")
        assert confirmed.status == "candidate_awaiting_authority"
    started = clock.now
    with app.db.sessions() as s:
        (c,) = app.clocks.running(s, [ClockKind.AUTHORITY_CONFIRMATION])
        assert not app.clocks.running(s, [ClockKind.INDICATOR_CONFIRMATION])
    assert (c.subject_id, c.started_at, c.deadline, c.report_id) == (str(iid), started, add_months(started, 1), "r-1")

    with pytest.raises(Exception, match="reason"), app.db.transaction() as s:
        app.submissions.extend_clock(s, Actor.system("test"), iid, "  ")
    with app.db.transaction() as s:
        app.submissions.extend_clock(s, Actor.system("test"), iid, "complex series: the authority asked for time")
    with pytest.raises(SubmissionConflict, match="already extended"), app.db.transaction() as s:
        app.submissions.extend_clock(s, Actor.system("test"), iid, "again")
    with app.db.sessions() as s:
        (c,) = app.clocks.running(s, [ClockKind.AUTHORITY_CONFIRMATION])
    assert c.deadline == add_months(started, 2) and c.detail == "extended"

    clock.now = c.deadline + timedelta(minutes=1)
    with app.db.transaction() as s:
        assert app.clocks.check(s) == 1
    with app.db.sessions() as s:
        assert [(a.kind, a.level) for a in s.execute(select(ClockAlert)).scalars()] == [
            ("authority_confirmation", "overdue")]

    # Late, but the authority confirms: it joins the database, and its clock stops.
    terms = check_submission(reference="CA-FR-2026-77", kind="new_csam", authority="x",
                             hashes=[{"algorithm": "pdq", "value": PDQ}])
    with app.db.transaction() as s:
        org = app.organisations.create(s, Actor.system("test"), name="DEMO authority", kind=OrgKind.COORDINATING_AUTHORITY,
                                       country="FR")
        result = app.submissions.submit(s, Actor.organisation(str(org.id), org.name), terms,
                                        channel=SubmissionChannel.API, organisation_id=org.id)
        assert [i.id for i in result.confirmed] == [iid] and not result.created
    with app.db.sessions() as s:
        ind = s.get(Indicator, iid)
        assert (ind.status, ind.awaiting_since, ind.submission_id) == ("active", None, result.submission.id)
        assert ind.kind == "new_csam" and ind.provenance["confirmation"]["note"] == "agree"
        assert not app.clocks.running(s, [ClockKind.AUTHORITY_CONFIRMATION])
        history = [(h.action, h.status) for h in s.execute(
            select(IndicatorHistory).where(IndicatorHistory.indicator_id == iid).order_by(IndicatorHistory.id)).scalars()]
    assert history == [("four_eyes", "candidate_awaiting_authority"),
                       ("clock_extended", "candidate_awaiting_authority"), ("authority_confirmed", "active")]
    app.close()
