"""Four eyes per item, not per hash: the candidate page shows one entry per item (its blurred
picture, the first analyst's classification in words, their note, its hashes and matches), one
confirmation turns all the item's candidate indicators active and is one audit event, and a
senior's home page counts the items waiting for them (not those they assessed)."""

from __future__ import annotations

import re

from sqlalchemy import select

from balise.adapters.db.models import Indicator
from balise.demo import demo_image
from tests.exposure_support import analyst, claim, events, file_report, report_items, token_of, workbench


def _classify(client, balise, report_id, item_id, note="Same series as last week's report; age clear."):
    claim(client, report_id)
    item = report_items(balise, report_id)[0]
    r = client.post(f"/ui/items/{item_id}/assess", data={
        "csrftoken": token_of(client), "revision": str(item.revision), "outcome": "illegal",
        "ncmec_category": "A2", "youngest_age_band": "7-12", "note": note}, follow_redirects=False)
    assert r.status_code == 303 and "err=" not in r.headers["location"], r.headers["location"]


def _indicators(balise):
    with balise.db.sessions() as s:
        return {i.algorithm: i for i in s.execute(select(Indicator)).scalars()}


def test_one_confirmation_covers_every_hash_of_the_item_and_is_audited_once(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", demo_image(61, (640, 480)), "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam:
            assert "No item waits for your confirmation" in sam.get("/ui/").text
            _classify(ana, balise, report_id, item_id)
            candidates = _indicators(balise)
            assert set(candidates) == {"pdq", "md5", "sha256"}
            assert {i.status for i in candidates.values()} == {"candidate"}

            home = sam.get("/ui/").text
            assert "1 item waits for your confirmation" in home and 'href="/ui/candidates"' in home

            page = sam.get("/ui/candidates").text
            assert len(re.findall(r'<article class="awaiting"', page)) == 1  # one entry, not one per hash
            assert f'src="/ui/candidates/items/{item_id}/media"' in page
            assert "A2: prepubescent child, lascivious exhibition" in page and "7 to 12 years" in page
            assert "Same series as last week&#39;s report; age clear." in page
            for name in ("PDQ", "MD5", "SHA-256"):
                assert name in page
            assert "no indicator matched" in page and "ana" in page
            assert len(re.findall(r'action="/ui/candidates/items/[^"]+/confirm"', page)) == 1

            r = sam.post(f"/ui/candidates/items/{item_id}/confirm",
                         data={"csrftoken": token_of(sam, "/ui/candidates"), "note": "agree"}, follow_redirects=True)
            assert "Item confirmed: its 3 hashes now wait for a coordinating authority&#39;s confirmation." in r.text
            confirmed = _indicators(balise)
            assert {i.status for i in confirmed.values()} == {"candidate_awaiting_authority"}
            assert len({i.version for i in confirmed.values()}) == 3  # each change has its version
            assert {i.provenance["confirmation"]["note"] for i in confirmed.values()} == {"agree"}

            audited = events(balise, "indicator:confirm")
            assert len(audited) == 1
            assert audited[0].subject_type == "item" and audited[0].subject_id == str(item_id)
            assert sorted(audited[0].details["indicators"]) == sorted(i.id for i in confirmed.values())
            assert "No item waits for your confirmation" in sam.get("/ui/").text
            assert "No candidate waiting." in sam.get("/ui/candidates").text

            # Decided once: a second confirmation (a stale page) changes nothing and says why.
            again = sam.post(f"/ui/candidates/items/{item_id}/reject", data={"csrftoken": token_of(sam)},
                             follow_redirects=True)
            assert "already decided" in again.text and {i.status for i in _indicators(balise).values()} == {"candidate_awaiting_authority"}
            assert len(events(balise, "indicator:reject")) == 0


def test_rejecting_an_item_rejects_all_its_hashes_and_the_assessor_cannot_decide(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", demo_image(62, (640, 480)), "image/jpeg")])
        with analyst(balise, "sara", "senior-analyst") as sara, analyst(balise, "sam", "senior-analyst") as sam:
            _classify(sara, balise, report_id, item_id, note="")
            # The senior who assessed it sees no count for it, no picture and no buttons.
            assert "No item waits for your confirmation" in sara.get("/ui/").text
            own = sara.get("/ui/candidates").text
            assert "another senior analyst must confirm" in own and "/ui/candidates/items/" not in own
            r = sara.post(f"/ui/candidates/items/{item_id}/confirm", data={"csrftoken": token_of(sara)},
                          follow_redirects=True)
            assert "four eyes" in r.text and {i.status for i in _indicators(balise).values()} == {"candidate"}

            assert "1 item waits for your confirmation" in sam.get("/ui/").text
            assert "no note" in sam.get("/ui/candidates").text
            r = sam.post(f"/ui/candidates/items/{item_id}/reject", data={"csrftoken": token_of(sam)},
                         follow_redirects=True)
            assert "Item rejected" in r.text
            assert {i.status for i in _indicators(balise).values()} == {"deleted"}
            assert len(events(balise, "indicator:reject")) == 1 and events(balise, "indicator:confirm") == []
