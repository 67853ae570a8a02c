"""With BALISE_REVEAL_DAILY_CAP set, an analyst's reveals past the cap are refused (403, with
Balise's own message, audited exposure:cap_reached; no token, nothing decrypted, nothing
served) until a senior analyst lifts the cap for them, for the day only (exposure:cap_lift,
with the reason). Bad lifts change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from balise.adapters.db.models import RevealToken, User
from balise.demo import demo_image
from tests.exposure_support import (
    analyst,
    claim,
    events,
    file_report,
    reveal,
    reveal_url,
    token_of,
    workbench,
)


def _tokens(balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(RevealToken)).scalar_one()


def _user_id(balise, username):
    with balise.db.sessions() as s:
        return s.execute(select(User.id).where(User.username == username)).scalar_one()


def test_the_cap_refuses_reveals_and_a_senior_lifts_it_for_the_day(tmp_path, db_url):
    with workbench(tmp_path, db_url, reveal_daily_cap=2) as (balise, clock, key):
        clock.now = clock.now.replace(hour=21)  # so that the next day starts within a signed-in session
        report_id, (item,) = file_report(balise, key, [("a.jpg", demo_image(501), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            claim(ana, report_id)
            for _ in range(2):
                assert ana.get(reveal_url(ana, item)).status_code == 200
            page = ana.get("/ui/settings").text
            assert "Revealed today: 2 · this week: 2 · cap 2" in page
            assert "You reached today's cap of 2 reveals" in page  # shown on the next page

            tokens, reads = _tokens(balise), len(events(balise, "media:read"))
            refused = reveal(ana, item)
            assert refused.status_code == 403
            assert refused.json() == {"refused": "daily_cap", "message": (
                "You reached today's cap of 2 reveals. Items stay blurred until a senior analyst lifts the cap "
                "for you for today.")}
            assert _tokens(balise) == tokens and len(events(balise, "media:read")) == reads  # nothing issued or read
            (reached,) = events(balise, "exposure:cap_reached")
            assert reached.subject_id == str(item) and reached.details["revealed_today"] == 2
            assert reached.details["cap"] == 2 and reached.actor_id == str(_user_id(balise, "ana"))

            team = sam.get("/ui/wellness")
            assert team.status_code == 200 and "reached" in team.text
            lifted = sam.post(f"/ui/wellness/{_user_id(balise, 'ana')}/lift",
                              data={"csrftoken": token_of(sam), "reason": "urgent report, checked in with ana"},
                              follow_redirects=False)
            assert lifted.status_code == 303
            (lift,) = events(balise, "exposure:cap_lift")
            assert lift.actor_id == str(_user_id(balise, "sam")) and lift.subject_id == str(_user_id(balise, "ana"))
            assert lift.purpose == "urgent report, checked in with ana" and lift.details["revealed_today"] == 2
            assert "lifted for today" in sam.get("/ui/wellness").text

            assert ana.get(reveal_url(ana, item)).status_code == 200  # lifted: the third reveal is served
            assert "A senior analyst lifted it for today." in ana.get("/ui/settings").text

            # The lift is for that day only: the next day counts from zero, capped again at 2.
            clock.advance(hours=4)
            claim(ana, report_id)
            for _ in range(2):
                assert ana.get(reveal_url(ana, item)).status_code == 200
            assert reveal(ana, item).status_code == 403
            assert len(events(balise, "exposure:cap_reached")) == 2


def test_a_cap_is_lifted_only_by_another_senior_with_a_reason(tmp_path, db_url):
    with workbench(tmp_path, db_url, reveal_daily_cap=1) as (balise, clock, key):
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            ana_id, sam_id = _user_id(balise, "ana"), _user_id(balise, "sam")
            no_reason = sam.post(f"/ui/wellness/{ana_id}/lift", data={"csrftoken": token_of(sam), "reason": " ok "})
            assert no_reason.status_code == 400 and "at least 5 characters" in no_reason.text
            own = sam.post(f"/ui/wellness/{sam_id}/lift", data={"csrftoken": token_of(sam), "reason": "I am fine"})
            assert own.status_code == 403 and "your own cap" in own.text
            unknown = sam.post("/ui/wellness/00000000-0000-4000-8000-000000000000/lift",
                               data={"csrftoken": token_of(sam), "reason": "who is this"})
            assert unknown.status_code == 404
            by_analyst = ana.post(f"/ui/wellness/{ana_id}/lift", data={"csrftoken": token_of(ana), "reason": "myself"},
                                  follow_redirects=False)
            assert by_analyst.status_code == 403
            assert ana.get("/ui/wellness").status_code == 403  # the team page is the seniors'
            assert events(balise, "exposure:cap_lift") == []


def test_without_a_cap_nothing_is_refused_and_nothing_can_be_lifted(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item,) = file_report(balise, key, [("a.jpg", demo_image(502), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            claim(ana, report_id)
            for _ in range(5):
                assert ana.get(reveal_url(ana, item)).status_code == 200
            assert "This installation sets no daily cap." in sam.get("/ui/wellness").text
            r = sam.post(f"/ui/wellness/{_user_id(balise, 'ana')}/lift",
                         data={"csrftoken": token_of(sam), "reason": "nothing to lift"})
            assert r.status_code == 409 and events(balise, "exposure:cap_lift") == []
            assert events(balise, "exposure:cap_reached") == []
