"""`balise demo --statistics N` (run by `make run`) files hash-only DEMO reports and has the
DEMO analysts decide them through the workbench's services, so the transparency report of the
current year has unfounded, forwarded and not-abuse reports, confirmed indicators, repeated
content, and says it is DEMO data."""

from __future__ import annotations

from balise import demo


def test_demo_statistics_are_decided_and_marked_as_demo(balise):
    demo.seed(balise, reports=0)
    decided = demo.seed_statistics(balise, reports=24)
    assert decided == 24
    with balise.db.sessions() as session:
        report = balise.transparency.build(session, balise.clock().year)
    assert report.demo
    h, withheld = report.headline, report.headline_withheld
    # Of 24 reports: 0, 8, 16 unfounded (adult content); 1, 2, 10, 17 (not known material) assessed
    # not abuse and closed as unfounded; the 17 others forwarded, their items illegal.
    assert h["reports"] == 24 and h["reports_forwarded"] == 17
    assert withheld["manifestly_unfounded"] == "suppressed" and withheld["not_abuse"] == "suppressed"
    # Their new indicators were confirmed by the DEMO senior analyst (four eyes).
    assert h["indicators_confirmed"] >= 10 and h["indicators_added"] >= 10
    # Six contents were reported twice: too few to publish.
    assert withheld["items_reported_more_than_once"] == "suppressed"
    assert {r.keys[0] for r in report.table("reports_forwarded_by_state").rows} >= {"FR", "DE", "NL"}
