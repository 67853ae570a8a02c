"""The DEMO data shows Article 36 in use: indicators born of the DEMO coordinating authority's
submissions and of a court decision, one with a later change in its history; the centre's own
new material confirmed by four eyes and then by the authority, except the newest item, which
waits for the authority on a running (not overdue) Art. 36(3) clock; no candidate left without
its second analyst; and the URL list with its evidence, one entry taken off it."""

from __future__ import annotations

from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import Indicator, IndicatorHistory, IndicatorSubmission, UrlListEntry
from balise.domain.clocks import ClockKind, ClockState


def test_demo_indicators_come_from_submissions_and_one_candidate_awaits_the_authority(balise):
    demo.seed(balise, reports=0)
    now = balise.clock()
    with balise.db.sessions() as s:
        submissions = s.execute(select(IndicatorSubmission)).scalars().all()
        assert {x.process for x in submissions} == {"authority_confirmation", "court_decision"}
        pdq = s.execute(select(Indicator).where(Indicator.algorithm == "pdq", Indicator.kind == "known_csam")
                        ).scalar_one()
        assert pdq.status == "active" and pdq.submission_id is not None
        actions = [h.action for h in s.execute(select(IndicatorHistory).where(
            IndicatorHistory.indicator_id == pdq.id).order_by(IndicatorHistory.id)).scalars()]
        assert actions == ["created", "reconfirmed"]
        assert s.execute(select(Indicator).where(Indicator.status == "candidate")).first() is None
        clocks = balise.clocks.running(s)
        assert not [c for c in clocks if c.kind is ClockKind.INDICATOR_CONFIRMATION]
        waiting = [c for c in clocks if c.kind is ClockKind.AUTHORITY_CONFIRMATION]
        assert waiting and {c.state(now) for c in waiting} == {ClockState.RUNNING}
        confirmed_by_authority = s.execute(select(IndicatorHistory).where(
            IndicatorHistory.action == "authority_confirmed")).scalars().all()
        assert confirmed_by_authority
        entries = s.execute(select(UrlListEntry).order_by(UrlListEntry.id)).scalars().all()
        assert [e.state for e in entries] == ["listed", "listed", "removed"]
        assert all(e.evidence["refusal"].startswith("DEMO") and e.host_country not in ("FR", "DE") for e in entries)
