"""The "my claims" view: the reports the signed-in analyst holds now, in any state; not
another analyst's, not an expired claim; the home page counts them and links to the view."""

from __future__ import annotations

import re

from balise.demo import demo_image
from tests.exposure_support import analyst, claim, file_report, workbench


def _listed(page: str) -> set[str]:
    return set(re.findall(r'href="/ui/reports/([0-9a-f-]{36})"', page))


def test_my_claims_shows_what_i_hold_and_nothing_else(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        mine, _ = file_report(balise, key, [("a.jpg", demo_image(81, (640, 480)), "image/jpeg")])
        theirs, _ = file_report(balise, key, [("b.jpg", demo_image(82, (640, 480)), "image/jpeg")])
        free, _ = file_report(balise, key, [("c.jpg", demo_image(83, (640, 480)), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "bob") as bob:
            assert "You hold 0 claims." in ana.get("/ui/").text
            assert "You hold no claim." in ana.get("/ui/queue", params={"state": "all", "mine": "1"}).text
            claim(ana, mine)
            claim(bob, theirs)
            home = ana.get("/ui/").text
            assert "You hold 1 claim." in home and 'href="/ui/queue?state=all&amp;mine=1"' in home
            page = ana.get("/ui/queue?state=all&mine=1").text
            assert _listed(page) == {str(mine)} and "<h1>My claims</h1>" in page
            assert 'name="mine" value="1" checked' in page
            assert _listed(bob.get("/ui/queue?state=all&mine=1").text) == {str(theirs)}
            assert _listed(ana.get("/ui/queue").text) == {str(mine), str(theirs), str(free)}
            clock.advance(minutes=31)  # the claim lapsed
            assert _listed(ana.get("/ui/queue?state=all&mine=1").text) == set()
            assert "You hold 0 claims." in ana.get("/ui/").text
