"""The four-eyes view of an item's content: a senior analyst, who holds no claim on the report,
gets the blurred derivative (never the stored bytes) of an item whose new indicators wait for
their confirmation, audited as media:preview with the purpose "four eyes". Before the item is
assessed, after it is decided, for the senior who assessed it, for an analyst, and through the
ordinary media route without a claim: 403, audited as media:refuse, nothing served."""

from __future__ import annotations

import uuid

from balise.demo import demo_image
from balise.evidence.exposure import Refused, Viewer
from tests.exposure_support import analyst, claim, events, file_report, report_items, token_of, workbench

PNG = b"\x89PNG\r\n\x1a\n"


def _refusals(balise):
    return [e.details.get("reason") for e in events(balise, "media:refuse")]


def test_the_blurred_item_only_while_it_awaits_this_seniors_confirmation(tmp_path, db_url):
    picture = demo_image(63, (640, 480))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        url = f"/ui/candidates/items/{item_id}/media"
        with analyst(balise, "ana") as ana, analyst(balise, "sam", "senior-analyst") as sam, \
                analyst(balise, "sara", "senior-analyst") as sara:
            # Not assessed yet: nothing waits, nothing is shown.
            r = sam.get(url)
            assert r.status_code == 403 and PNG not in r.content and picture[:64] not in r.content
            assert _refusals(balise) == ["not_awaiting_confirmation"]

            claim(sara, report_id)
            item = report_items(balise, report_id)[0]
            r = sara.post(f"/ui/items/{item_id}/assess", data={
                "csrftoken": token_of(sara), "revision": str(item.revision), "outcome": "illegal"},
                follow_redirects=False)
            assert "err=" not in r.headers["location"]

            # The other senior, without any claim, sees it blurred; the view is audited.
            r = sam.get(url)
            assert r.status_code == 200 and r.content.startswith(PNG) and r.content != picture
            assert r.headers["cache-control"].startswith("no-store") and r.headers["x-content-type-options"] == "nosniff"
            previews = [e for e in events(balise, "media:preview") if e.actor_id == _id(balise, "sam")]
            assert len(previews) == 1 and previews[0].purpose == "four eyes"
            assert previews[0].details["item"] == str(item_id) and previews[0].details["indicators"]

            # The ordinary rule is unchanged: without the claim, the report's media route refuses.
            assert sam.get(f"/ui/items/{item_id}/media").status_code == 403
            assert sam.post(f"/ui/items/{item_id}/reveal", data={"purpose": "age"},
                            headers={"x-csrftoken": token_of(sam)}).status_code == 403
            # The senior who assessed it cannot be the second pair of eyes, not even to look.
            assert sara.get(url).status_code == 403
            # Analysts never reach the four-eyes route, and the service itself refuses them too.
            assert ana.get(url).status_code == 403
            assert _refusals(balise)[-3:] == ["no_claim", "no_claim", "own_assessment"]
            refused = balise.exposure.four_eyes_preview(Viewer(uuid.UUID(_id(balise, "ana")), "ana", 12), item_id)
            assert isinstance(refused, Refused) and refused.status == 403 and refused.reason == "not_senior"
            assert _refusals(balise)[-1] == "not_senior"

            sam.post(f"/ui/candidates/items/{item_id}/confirm", data={"csrftoken": token_of(sam, "/ui/candidates")})
            # Decided: it waits for no one any more.
            r = sam.get(url)
            assert r.status_code == 403 and PNG not in r.content
            assert _refusals(balise)[-1] == "not_awaiting_confirmation"


def _id(balise, username):
    with balise.db.sessions() as s:
        return str(balise.users.get(s, username).id)
