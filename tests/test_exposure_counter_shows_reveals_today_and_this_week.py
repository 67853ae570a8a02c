"""Each analyst sees how many items they revealed today and this week (in the header on every
page and on their settings page); senior analysts see the same for their team. Counted from
the audit trail's media:reveal events: a refused reveal or a blurred preview does not count,
and last week's reveals leave this week's count."""

from __future__ import annotations

import re

from balise.demo import demo_image
from tests.exposure_support import (
    analyst,
    claim,
    file_report,
    reveal,
    reveal_url,
    workbench,
)


def _header(page: str) -> tuple[int, int]:
    m = re.search(r"Revealed today: (\d+) · this week: (\d+)", page)
    assert m, "no exposure counter on the page"
    return int(m.group(1)), int(m.group(2))


def test_the_counter_counts_my_reveals_and_my_senior_sees_the_team(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        # A Monday at noon UTC, then the next day: both in one ISO week.
        clock.now = clock.now.replace(year=2026, month=11, day=30, hour=12)
        report_id, (item,) = file_report(balise, key, [("a.jpg", demo_image(521), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "bob") as bob, \
                analyst(balise, "sam", "senior-analyst") as sam:
            assert _header(ana.get("/ui/queue").text) == (0, 0)
            claim(ana, report_id)
            assert ana.get(f"/ui/items/{item}/media").status_code == 200  # a blurred preview: not a reveal
            ana.get(reveal_url(ana, item))
            ana.get(reveal_url(ana, item))
            assert reveal(bob, item).status_code == 403  # no claim: refused, not counted
            assert _header(ana.get("/ui/queue").text) == (2, 2)
            assert _header(bob.get("/ui/queue").text) == (0, 0)
            assert "You revealed 2 items today and 2 this week (UTC)." in ana.get("/ui/settings").text

            clock.advance(hours=6)  # Monday 18:00
            team = sam.get("/ui/wellness").text
            assert re.search(r"<td>ana</td><td>analyst</td><td>2</td><td>2</td>", team)
            assert re.search(r"<td>bob</td><td>analyst</td><td>0</td><td>0</td>", team)


def test_the_week_starts_on_monday_and_the_day_at_midnight_utc(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        clock.now = clock.now.replace(year=2026, month=12, day=6, hour=20)  # a Sunday evening
        report_id, (item,) = file_report(balise, key, [("a.jpg", demo_image(522), "image/jpeg")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            ana.get(reveal_url(ana, item))
            assert _header(ana.get("/ui/queue").text) == (1, 1)
            clock.advance(hours=5)  # Monday 01:00: a new day and a new week
            assert _header(ana.get("/ui/queue").text) == (0, 0)
            claim(ana, report_id)
            ana.get(reveal_url(ana, item))
            clock.advance(hours=2)
            assert _header(ana.get("/ui/queue").text) == (1, 1)
