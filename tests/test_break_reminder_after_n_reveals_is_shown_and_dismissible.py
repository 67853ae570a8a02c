"""After the number of reveals an analyst chose in their settings, the next page they open
carries a break reminder made by the server; dismissing it starts the count again, and 0 turns
it off. A number out of range is refused and changes nothing."""

from __future__ import annotations

from balise.demo import demo_image
from tests.exposure_support import (
    analyst,
    claim,
    events,
    file_report,
    reveal_url,
    token_of,
    workbench,
)

REMINDER = 'id="reveal-break"'


def _settings(client, **changes):
    form = {"csrftoken": token_of(client), "blur": "24", "greyscale": "1", "locale": "en", "break_minutes": "50",
            "reveal_seconds": "10", **changes}
    return client.post("/ui/settings", data=form, follow_redirects=False)


def test_the_reminder_comes_after_n_reveals_and_goes_when_dismissed(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item,) = file_report(balise, key, [("a.jpg", demo_image(511), "image/jpeg")])
        with analyst(balise, "ana") as ana:
            assert _settings(ana, break_after_reveals="3").status_code == 303
            claim(ana, report_id)
            for _ in range(2):
                ana.get(reveal_url(ana, item))
            assert REMINDER not in ana.get("/ui/queue").text
            ana.get(reveal_url(ana, item))
            page = ana.get("/ui/queue").text
            assert REMINDER in page and "You have revealed 3 items since your last break." in page

            clock.advance(seconds=1)
            dismissed = ana.post("/ui/wellness/break", data={"csrftoken": token_of(ana), "back": "/ui/queue"},
                                 follow_redirects=False)
            assert dismissed.status_code == 303 and dismissed.headers["location"] == "/ui/queue"
            assert REMINDER not in ana.get("/ui/queue").text
            assert events(balise, "user:preferences")[-1].purpose == "break reminder dismissed"
            # Saving settings is not a break: the count since the dismissal goes on.
            clock.advance(seconds=1)
            assert _settings(ana, break_after_reveals="3").status_code == 303
            for _ in range(2):
                ana.get(reveal_url(ana, item))
            assert REMINDER not in ana.get("/ui/queue").text
            ana.get(reveal_url(ana, item))
            assert REMINDER in ana.get("/ui/queue").text

            assert _settings(ana, break_after_reveals="0").status_code == 303  # never
            assert REMINDER not in ana.get("/ui/queue").text


def test_a_dismissal_goes_back_only_to_a_staff_page(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        with analyst(balise, "ana") as ana:
            for back in ("https://elsewhere.example/", "//elsewhere.example/ui/", "/ui/\\elsewhere", "/ui/queue\r\nSet-Cookie: x=1",
                         "/ui/../api/v1/reports"):
                r = ana.post("/ui/wellness/break", data={"csrftoken": token_of(ana), "back": back},
                             follow_redirects=False)
                assert r.status_code == 303 and r.headers["location"] == "/ui/", back


def test_a_break_number_out_of_range_is_refused_and_changes_nothing(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        with analyst(balise, "ana") as ana:
            assert _settings(ana, break_after_reveals="7").status_code == 303
            for bad in ("-1", "501", "many"):
                assert _settings(ana, break_after_reveals=bad).status_code == 422, bad
            assert 'id="break_after_reveals" name="break_after_reveals" type="number" min="0" max="500" value="7"' \
                in ana.get("/ui/settings").text
