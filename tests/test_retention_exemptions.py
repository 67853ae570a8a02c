"""A report past its retention is kept while a reason to keep it holds — a law-enforcement hold,
a takedown still being verified, an indicator it is the source of, a notice still to deliver,
or simply not being closed — and is redacted by the first run after that reason ends. Each
exemption is named, with its reason, in the run's result and counted in the status."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator, Item, Report, Takedown
from balise.casework.assessment import Decision
from balise.domain.indicators import IndicatorStatus
from balise.domain.retention import Exemption, Rule
from tests.helpers import make_provider, make_user
from tests.retention_support import app_on_clock, classify, close_unfounded, decide, file_media_report, picture
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)

POLICE = Actor.system("test-police-liaison")


def _redacted(app, report_id) -> bool:
    with app.db.sessions() as s:
        return s.get(Report, report_id).redacted_at is not None


def _exempt(result, code: Exemption) -> dict[str, str]:
    return dict(result.exempt[code])


def _status_exempt(app, rule: Rule) -> dict[str, int]:
    return dict(next(r for r in app.retention.status().rules if r.rule is rule).exempt)


def _closed_unfounded(tmp_path, db_url, clock):
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(31))
    app.run_jobs()
    close_unfounded(app, report_id)
    app.run_jobs()
    return app, report_id


def test_a_hold_keeps_the_report_until_it_is_lifted(tmp_path, db_url):
    clock = Clock()
    app, report_id = _closed_unfounded(tmp_path, db_url, clock)
    with app.db.transaction() as s:
        hold = app.holds.set(s, POLICE, report_id, do_not_inform=True, do_not_remove=False, authority="DEMO unit",
                             expires_at=clock.now + timedelta(days=300))
        hold_id = hold.id
    clock.advance(days=91)
    result = app.retention.run()
    assert _exempt(result, Exemption.HOLD) == {str(report_id): f"hold until {clock.now + timedelta(days=209):%Y-%m-%d}"}
    assert not _redacted(app, report_id)
    assert _status_exempt(app, Rule.UNFOUNDED) == {"law_enforcement_hold": 1}

    with app.db.transaction() as s:
        app.holds.lift(s, POLICE, hold_id, "investigation closed")
    result = app.retention.run()
    assert result.exempt[Exemption.HOLD] == [] and _redacted(app, report_id)
    # The hold's record stays (who asked, until when), without its free-text reason.
    with app.db.transaction() as s:
        [kept] = app.holds.for_report(s, report_id)
        assert (kept.authority, kept.reason, kept.lifted_at is not None) == ("DEMO unit", None, True)
    app.close()


def test_a_hold_that_expires_releases_the_report_even_before_the_expiry_is_recorded(tmp_path, db_url):
    clock = Clock()
    app, report_id = _closed_unfounded(tmp_path, db_url, clock)
    with app.db.transaction() as s:
        app.holds.set(s, POLICE, report_id, do_not_inform=False, do_not_remove=True, authority="DEMO unit",
                      expires_at=clock.now + timedelta(days=120))
    clock.advance(days=119)
    assert str(report_id) in _exempt(app.retention.run(), Exemption.HOLD)
    clock.advance(days=2)  # the hold ran out; the periodic hold expiry has not run yet
    app.retention.run()
    assert _redacted(app, report_id)
    app.close()


def test_a_report_that_generated_an_indicator_is_kept_as_long_as_the_indicator(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(32), type="new_csam")
    app.run_jobs()
    with app.db.sessions() as s:
        [item] = s.get(Report, report_id).items
        item_id = item.id
    # New material assessed illegal becomes a candidate indicator whose provenance is this report.
    classify(app, item_id, "illegal", {"ncmec_category": "A1"})
    decide(app, report_id, Decision("forward"))
    app.run_jobs()
    with app.db.sessions() as s:
        indicators = s.execute(select(Indicator).order_by(Indicator.id)).scalars().all()
        assert indicators and all(i.provenance["assessment"]["report"] == str(report_id) for i in indicators)
        assert {i.status for i in indicators} == {"candidate"}
    ids = [i.id for i in indicators]

    clock.advance(days=731)
    result = app.retention.run()
    assert _exempt(result, Exemption.INDICATOR) == {str(report_id): "indicator(s) " + ", ".join(f"#{i}" for i in ids)}
    # Confirmed by a second, senior analyst: still the source of a live indicator.
    make_user(app, "sam", "senior-analyst")
    with app.db.transaction() as s:
        for indicator_id in ids:
            app.assessment.confirm(s, app.users.get(s, "sam"), indicator_id, accept=True)
    assert str(report_id) in _exempt(app.retention.run(), Exemption.INDICATOR)
    with app.db.transaction() as s:
        for indicator_id in ids[:-1]:
            app.indicators.set_status(s, Actor.system("test"), indicator_id, IndicatorStatus.DELETED, "DEMO: inaccurate")
        app.indicators.set_status(s, Actor.system("test"), ids[-1], IndicatorStatus.SUSPENDED, "DEMO: under review")
    assert str(report_id) in _exempt(app.retention.run(), Exemption.INDICATOR)  # suspended still counts
    assert not _redacted(app, report_id)
    with app.db.transaction() as s:
        app.indicators.set_status(s, Actor.system("test"), ids[-1], IndicatorStatus.DELETED, "DEMO: no longer needed")
    app.retention.run()
    assert _redacted(app, report_id)
    with app.db.sessions() as s:
        # The indicators' own records and hashes are untouched by the report's redaction.
        assert [i.provenance["assessment"]["report"] for i in s.execute(select(Indicator)).scalars()] == \
            [str(report_id)] * len(ids)
        assert s.get(Item, item_id).md5 is not None
    app.close()


def test_a_takedown_still_watched_keeps_the_report_until_the_removal_is_seen(tmp_path, db_url):
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, Actor.system("test"))
        url = site.serve("/t/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()  # host notice sent: the URL is watched
        with app.db.sessions() as s:
            assert s.execute(select(Takedown.status).where(Takedown.report_id == report_id)).scalar_one() == "watching"
        clock.advance(days=731)
        result = app.retention.run()
        assert _exempt(result, Exemption.TAKEDOWN) == {str(report_id): "1 URL(s) watching"}
        assert _status_exempt(app, Rule.FORWARDED) == {"takedown_open": 1}
        site.take_down("/t/1.jpg")
        app.run_jobs()  # the overdue check sees the removal
        with app.db.sessions() as s:
            assert s.execute(select(Takedown.status).where(Takedown.report_id == report_id)).scalar_one() == "removed"
        app.retention.run()
        assert _redacted(app, report_id)
        app.close()


def test_a_notice_still_to_deliver_keeps_the_report_until_it_is_delivered(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(33))
    app.run_jobs()
    close_unfounded(app, report_id)  # the feedback notice to the provider is queued, not yet sent
    clock.advance(days=91)
    result = app.retention.run()
    assert _exempt(result, Exemption.DELIVERY) == {str(report_id): "1 notice(s) pending"}
    assert not _redacted(app, report_id)
    app.run_jobs()  # delivered (to the outbox)
    app.retention.run()
    assert _redacted(app, report_id)
    app.close()


def test_a_report_not_closed_is_never_redacted_however_old_and_is_once_closed(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(34))
    app.run_jobs()
    clock.advance(days=5000)
    result = app.retention.run()
    assert all(ids == [] for ids in result.redacted.values()) and not _redacted(app, report_id)
    status = app.retention.status()
    assert status.open_reports == 1 and sum(r.due_now for r in status.rules if r.rule is Rule.UNFOUNDED) == 0
    # Retention counts from the decision, not from the filing: closed now, due in 90 days.
    close_unfounded(app, report_id)
    app.run_jobs()
    app.retention.run()
    assert not _redacted(app, report_id)
    [unfounded] = [r for r in app.retention.status().rules if r.rule is Rule.UNFOUNDED]
    assert unfounded.next_due == clock.now + timedelta(days=90)
    clock.advance(days=90)
    app.retention.run()
    assert _redacted(app, report_id)
    app.close()


def test_demo_reports_follow_the_same_rules(tmp_path, db_url):
    from balise import demo

    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    demo.seed(app, reports=2)
    app.run_jobs()
    with app.db.sessions() as s:
        reports = s.execute(select(Report).where(Report.is_demo.is_(True))).scalars().all()
        assert reports
        open_ids = [r.id for r in reports if r.state == "in_assessment"]
    close_unfounded(app, open_ids[0])
    app.run_jobs()
    # The DEMO history behind the measured error rates holds reports closed as unfounded too: they
    # fall due under the same rule, and no other DEMO report does.
    with app.db.sessions() as s:
        unfounded = {str(i) for i in s.execute(select(Report.id).where(
            Report.is_demo.is_(True), Report.state == "manifestly_unfounded")).scalars()}
    assert str(open_ids[0]) in unfounded
    clock.advance(days=91)
    result = app.retention.run()
    redacted = {r for ids in result.redacted.values() for r in ids}
    exempt = {r for pairs in result.exempt.values() for r, _ in pairs}
    assert str(open_ids[0]) in redacted and redacted <= unfounded
    assert unfounded - redacted <= exempt  # kept only for a stated exemption
    app.close()


def test_exempt_reports_never_hold_up_the_ones_behind_them(tmp_path, db_url):
    """Batches of one: whatever the order of the ids, the due report behind two exempt ones is
    reached in the same run."""
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock, retention_batch_size=1)
    _, key = make_provider(app)
    ids = [file_media_report(app, key, picture(35 + n)) for n in range(3)]
    app.run_jobs()
    for report_id in ids:
        close_unfounded(app, report_id)
    app.run_jobs()
    with app.db.transaction() as s:
        for report_id in sorted(ids)[:2]:  # the two first in id order, whichever they are
            app.holds.set(s, POLICE, report_id, do_not_inform=True, do_not_remove=False, authority="DEMO unit",
                          expires_at=clock.now + timedelta(days=300))
    clock.advance(days=91)
    result = app.retention.run()
    assert result.redacted[Rule.UNFOUNDED] == [str(sorted(ids)[2])]
    assert sorted(result.exempt[Exemption.HOLD]) == sorted((str(i), result.exempt[Exemption.HOLD][0][1])
                                                           for i in sorted(ids)[:2])
    app.close()
