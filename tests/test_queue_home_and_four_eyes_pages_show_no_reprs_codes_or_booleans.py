"""The new queue views (search, filters, my claims, an error), the home page with its links and
four-eyes count, and the per-item four-eyes page: no Python repr, no raw code (states, sources,
hash algorithms, search fields), no True/False/None, in English and French."""

from __future__ import annotations


import pytest

from balise.demo import demo_image
from tests.exposure_support import analyst, claim, file_report, report_items, token_of, workbench
from tests.page_words import check_words

CODES = ("in_assessment", "provider_api", "information_requested", "sha256", "pdq", "md5", "video_md5",
         "not_awaiting_confirmation", "own_assessment", "senior-analyst", "hash_only", "search_field")


def check(page: str, where: str) -> str:
    return check_words(page, where, CODES)


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_queue_home_and_four_eyes_pages_speak_words(tmp_path, db_url, locale):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", demo_image(97, (640, 480)), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            for client in (ana, sam):
                client.post("/ui/settings", data={"csrftoken": token_of(client), "blur": "24", "greyscale": "1",
                                                  "locale": locale, "break_minutes": "50", "reveal_seconds": "10"})
            claim(ana, report_id)
            item = report_items(balise, report_id)[0]
            ana.post(f"/ui/items/{item_id}/assess", data={
                "csrftoken": token_of(ana), "revision": str(item.revision), "outcome": "illegal",
                "ncmec_category": "A2", "youngest_age_band": "7-12"})
            check(ana.get("/ui/").text, "home")
            check(ana.get("/ui/queue", params={"state": "all", "q": str(report_id)[:8]}).text, "search")
            check(ana.get("/ui/queue", params={"state": "all", "mine": "1", "source": "provider_api"}).text, "mine")
            check(ana.get("/ui/queue", params={"q": "zz", "field": "hash"}).text, "bad hash")
            check(ana.get("/ui/queue", params={"state": "nope"}).text, "bad state")
            check(sam.get("/ui/").text, "senior home")
            four_eyes = check(sam.get("/ui/candidates").text, "candidates")
            assert ("prepubescent child" if locale == "en" else "enfant prépubère") in four_eyes
            assert "SHA-256" in four_eyes and "PDQ" in four_eyes
