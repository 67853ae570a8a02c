"""The analyst's first screens (home, queue, report, four eyes) say things in words, in English
and French: no Python repr, no raw code (own_motion, 2c_iii, drawing_cgi,
forwarded_europol_only…), no True/False/None; the queue counts the items to assess."""

from __future__ import annotations

import re

import pytest

from balise.demo import demo_image
from balise.domain.exposure import REVEAL_PURPOSES
from balise.web.ui.labels import VOCABULARIES
from tests.exposure_support import analyst, claim, file_report, report_items, token_of, workbench
from tests.page_words import check_words

CODES = ("own_motion", "2c_iii", "drawing_cgi", "forwarded_europol_only", "in_assessment", "known_csam",
         "hash_only", "reported_user", "senior-analyst", "ncmec_category", "not_illegal", "provider_api")
ENGLISH = ("its own initiative", "Art. 2(c)(iii): a person appearing to be a child", "drawing or computer-generated",
           "A1: prepubescent child, sex act", "in assessment")
FRENCH = ("sa propre initiative", "Art. 2, point c) iii) : une personne paraissant être un enfant",
          "dessin ou image de synthèse", "A1 : enfant prépubère, acte sexuel", "en évaluation")


def check(page: str, where: str) -> str:
    return check_words(page, where, CODES)


def test_reveal_purposes_have_labels():
    assert VOCABULARIES["reveal_purpose"] == REVEAL_PURPOSES


@pytest.mark.parametrize("locale,words", [("en", ENGLISH), ("fr", FRENCH)])
def test_queue_report_and_four_eyes_pages_speak_words(tmp_path, db_url, locale, words):
    picture = demo_image(95, (640, 480))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            for client in (ana, sam):
                client.post("/ui/settings", data={"csrftoken": token_of(client), "blur": "24", "greyscale": "1",
                                                  "locale": locale, "break_minutes": "50", "reveal_seconds": "10"})
            check(ana.get("/ui/").text, "home")
            queue = check(ana.get("/ui/queue").text, "queue")
            assert re.search(r"\b1 / 1\b", queue)  # items to assess / items
            claim(ana, report_id)
            item = report_items(balise, report_id)[0]
            r = ana.post(f"/ui/items/{item_id}/assess", data={
                "csrftoken": token_of(ana), "revision": str(item.revision), "outcome": "illegal",
                "ncmec_category": "A1", "directive_2011_93": ["2c_iii"], "flags": ["drawing_cgi"],
                "national": "FR=illegal"}, follow_redirects=False)
            assert r.status_code == 303 and "err=" not in r.headers["location"]
            report = check(ana.get(f"/ui/reports/{report_id}").text, "report")
            for word in words:
                assert word in report, word
            assert ("no" if locale == "en" else "non") in report.split()
            candidates = check(sam.get("/ui/candidates").text, "candidates")
            assert words[1] in candidates and words[2] in candidates
            with balise.db.sessions() as s:
                from balise.adapters.db.models import Report
                revision = s.get(Report, report_id).revision
            r = ana.post(f"/ui/reports/{report_id}/decide", data={"csrftoken": token_of(ana), "revision": str(revision),
                                                                 "decision": "forward"}, follow_redirects=False)
            assert r.status_code == 303
            decided = check(ana.get(f"/ui/reports/{report_id}").text, "decided report")
            assert ("forwarded to Europol only" if locale == "en" else "transmis à Europol seulement") in decided
