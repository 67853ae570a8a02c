"""Items of different reports whose pictures are near-duplicates (PDQ within 31) are linked
into one series at hashing time; a different picture is not. A report whose item lands in a
known series ranks higher while the victim is not identified, and its priority says so in
words; once a law-enforcement liaison marks the series identified (case reference only), a
new item of it is said to be identified and gets no points for it. Every step is audited."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Series
from balise.demo import demo_image
from balise.domain.series import reference
from tests.helpers import make_provider
from tests.series_support import file_report, report_row, series_of_report, variant


def test_near_duplicates_form_one_series_across_reports(balise, client):
    _, key = make_provider(balise)
    first = file_report(client, key, {"a": variant(7, 1)})
    other = file_report(client, key, {"x": demo_image(99, (640, 480))})
    balise.run_jobs()
    assert series_of_report(balise, first) == {None}  # alone: no series yet
    second = file_report(client, key, {"b": variant(7, 2)})
    balise.run_jobs()
    (sid,) = series_of_report(balise, second)
    assert sid is not None and series_of_report(balise, first) == {sid}
    assert series_of_report(balise, other) == {None}
    with balise.db.sessions() as s:
        series = s.get(Series, sid)
        assert series.status == "proposed" and series.item_count == 2 and not series.identified
        events = [r.event_type for r in s.execute(select(AuditRecord).where(AuditRecord.event_type.like("series:%"))
                                                  .order_by(AuditRecord.seq)).scalars()]
    assert events == ["series:create", "series:link"]

    # The second report landed in a series known from another report: it ranks higher, in words.
    reasons = {r["code"]: r for r in report_row(balise, second).priority_reasons}
    assert reasons["known_series_unidentified"]["points"] == 2500
    assert reference(sid) in reasons["known_series_unidentified"]["detail"]
    assert "not identified" in reasons["known_series_unidentified"]["detail"]

    # A liaison marks it identified: a third copy is linked, said identified, and not ranked up.
    with balise.db.transaction() as s:
        balise.series.identify(s, Actor.staff("u1", "liaison"), sid, "FR-OCRVP-2026-0142",
                               "victim identified by the national unit")
    third = file_report(client, key, {"c": variant(7, 3)})
    balise.run_jobs()
    assert series_of_report(balise, third) == {sid}
    reasons = {r["code"]: r for r in report_row(balise, third).priority_reasons}
    assert "known_series_unidentified" not in reasons
    assert reasons["known_series_identified"]["points"] == 0
    with balise.db.sessions() as s:
        assert s.get(Series, sid).item_count == 3
        identify = s.execute(select(AuditRecord).where(AuditRecord.event_type == "series:identify")).scalar_one()
        assert identify.details["case_reference"] == "FR-OCRVP-2026-0142"
