"""Only the analyst holding an active claim on a report gets anything of its items, even the
blurred view: a direct request without that claim (never claimed, held by someone else, expired)
is 403 and recorded as media:refuse, and nothing is decrypted."""

from __future__ import annotations

from balise.demo import demo_image
from tests.exposure_support import analyst, claim, events, file_report, reveal, workbench


def test_without_the_claim_an_analyst_gets_403_and_the_refusal_is_audited(tmp_path, db_url):
    picture = demo_image(71, (640, 480))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "bob", "senior-analyst") as bob:
            # Not claimed by anyone: the page shows no media, and asking directly is refused.
            page = ana.get(f"/ui/reports/{report_id}").text
            assert "/media" not in page and "Claim the report to see its items" in page
            attempts = [ana.get(f"/ui/items/{item_id}/media"), reveal(ana, item_id)]

            # Held by another analyst.
            claim(bob, report_id)
            assert bob.get(f"/ui/items/{item_id}/media").status_code == 200
            attempts += [ana.get(f"/ui/items/{item_id}/media"), reveal(ana, item_id)]

            # Bob's claim lapsed: he too is refused until he claims again.
            clock.advance(minutes=31)
            attempts += [bob.get(f"/ui/items/{item_id}/media"), reveal(bob, item_id)]

        for r in attempts:
            assert r.status_code == 403 and r.headers["content-type"].startswith("text/plain")
            assert picture[:64] not in r.content and b"PNG" not in r.content and "url" not in r.text
            assert r.headers["x-content-type-options"] == "nosniff"
        refusals = events(balise, "media:refuse")
        assert [(e.actor_id, e.subject_id, e.details["reason"], e.details["report"]) for e in refusals] == [
            (actor, str(item_id), "no_claim", str(report_id))
            for actor in [refusals[0].actor_id] * 4 + [refusals[4].actor_id] * 2]
        assert refusals[0].actor_id != refusals[4].actor_id
        # Only Bob's one view while he held the claim was decrypted.
        assert len(events(balise, "media:preview")) == 1 and not events(balise, "media:reveal")
