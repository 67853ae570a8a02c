"""`balise demo --statistics N` (run by `make run`) files hash-only DEMO reports and has the
DEMO analysts decide them through the workbench's services, so the transparency report of the
current year has unfounded, forwarded and not-abuse reports, confirmed indicators, repeated
content, and says it is DEMO data."""

from __future__ import annotations

from balise import demo
from balise.governance.transparency import Transparency


def test_demo_statistics_are_decided_and_marked_as_demo(balise):
    # `demo.seed` also files the DEMO history behind the measured error rates, some of it in the
    # current year: the statistics reports are counted as what they add to that baseline.
    demo.seed(balise, reports=0)
    unwithheld = Transparency(balise.clock, threshold=1)  # the raw counts, to take differences
    with balise.db.sessions() as session:
        before = unwithheld.build(session, balise.clock().year).headline
    decided = demo.seed_statistics(balise, reports=24)
    assert decided == 24
    with balise.db.sessions() as session:
        report = balise.transparency.build(session, balise.clock().year)
        h = unwithheld.build(session, balise.clock().year).headline
    assert report.demo
    # Of 24 reports: 0, 8, 16 unfounded (adult content); 1, 2, 10, 17 (not known material) assessed
    # not abuse and closed as unfounded; the 17 others forwarded, their items illegal.
    assert h["reports"] - before["reports"] == 24
    assert h["reports_forwarded"] - before["reports_forwarded"] == 17
    # Their new indicators were confirmed by the DEMO senior analyst (four eyes).
    assert h["indicators_confirmed"] - before["indicators_confirmed"] >= 10
    assert h["indicators_added"] - before["indicators_added"] >= 10
    assert {r.keys[0] for r in report.table("reports_forwarded_by_state").rows} >= {"FR", "DE", "NL"}
