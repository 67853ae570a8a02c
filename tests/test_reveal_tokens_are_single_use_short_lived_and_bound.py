"""An item is seen unblurred only through a reveal: recorded first with its purpose (chosen or
typed), then a token that works once, for 60 seconds, for the analyst who asked, for that item,
under the claim they held. Anything else is 403, audited as media:refuse, with nothing served."""

from __future__ import annotations

import io

from PIL import Image

from balise.demo import demo_image
from tests.exposure_support import (
    analyst,
    claim,
    events,
    file_report,
    release,
    reveal,
    reveal_url,
    sha256,
    workbench,
)


def refused(response, stored: bytes, reason: str, balise) -> None:
    assert response.status_code == 403, (response.status_code, response.headers)
    assert stored[:64] not in response.content and not response.content.startswith(b"RIFF")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert events(balise, "media:refuse")[-1].details["reason"] == reason


def test_a_token_shows_the_item_once_to_its_analyst_and_is_audited_with_the_purpose(tmp_path, db_url):
    picture = demo_image(61, (640, 480))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            url = reveal_url(ana, item_id, "age")
            first = ana.get(url)
            assert first.status_code == 200 and first.headers["content-type"] == "image/webp"
            shown = Image.open(io.BytesIO(first.content))
            assert shown.mode == "RGB" and shown.size == (640, 480)  # unblurred, in colour
            assert sha256(first.content) != sha256(picture)  # re-encoded, not the stored bytes
            refused(ana.get(url), picture, "token_used", balise)

            typed = reveal(ana, item_id, "other", "compare the background with report 12")
            assert typed.status_code == 200
            assert ana.get(typed.json()["url"]).status_code == 200
            for purpose, detail in (("other", "why"), ("", "")):  # no purpose, or too short to say one
                r = reveal(ana, item_id, purpose, detail)
                assert r.status_code == 400 and "url" not in r.text
                assert events(balise, "media:refuse")[-1].details["reason"] == "no_purpose"

        reveals = events(balise, "media:reveal")
        assert [e.purpose for e in reveals] == ["estimate the age of the people shown",
                                                "compare the background with report 12"]
        assert all(e.subject_id == str(item_id) and e.details["report"] == str(report_id) for e in reveals)
        # The decryption is logged with the reveal's purpose and token, after the reveal.
        reads = [e for e in events(balise, "media:read") if e.actor_type == "staff"]
        assert [(e.purpose, e.details["token"]) for e in reads] == [(e.purpose, e.details["token"]) for e in reveals]
        assert all(read.seq > reveal_.seq for read, reveal_ in zip(reads, reveals))


def test_a_token_expires_after_a_minute(tmp_path, db_url):
    picture = demo_image(62, (320, 240))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", picture, "image/jpeg")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            url = reveal_url(ana, item_id)
            clock.advance(seconds=61)
            refused(ana.get(url), picture, "token_expired", balise)
            clock.advance(seconds=-61)
            # A token tried once is spent, even when it was refused.
            refused(ana.get(url), picture, "token_used", balise)
            assert ana.get(reveal_url(ana, item_id)).status_code == 200


def test_a_token_is_bound_to_its_analyst_item_and_claim(tmp_path, db_url):
    first, second = demo_image(63, (320, 240)), demo_image(64, (320, 240))
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_a, item_b) = file_report(balise, key, [("a.jpg", first, "image/jpeg"),
                                                                ("b.jpg", second, "image/jpeg")])
        with analyst(balise, "ana") as ana, analyst(balise, "bob") as bob:
            claim(ana, report_id)
            # Someone else's token: refused, and spent for its owner too.
            url = reveal_url(ana, item_a)
            refused(bob.get(url), first, "other_user", balise)
            refused(ana.get(url), first, "token_used", balise)

            # A token for item A does not open item B.
            url = reveal_url(ana, item_a)
            refused(ana.get(url.replace(str(item_a), str(item_b))), second, "other_item", balise)

            # An unknown token.
            refused(ana.get(f"/ui/items/{item_a}/reveal/{'x' * 43}"), first, "unknown_token", balise)

            # The claim ends: the token is void.
            url = reveal_url(ana, item_a)
            release(ana, report_id)
            refused(ana.get(url), first, "no_claim", balise)

            # Claimed again: a token issued under the earlier claim stays void.
            claim(ana, report_id)
            url = reveal_url(ana, item_a)
            clock.advance(seconds=1)
            release(ana, report_id)
            claim(ana, report_id)
            refused(ana.get(url), first, "claim_changed", balise)

            # Taken over by another analyst once the claim expired.
            url = reveal_url(ana, item_a)
            clock.advance(minutes=31)
            claim(bob, report_id)
            clock.advance(minutes=-31)
            refused(ana.get(url), first, "no_claim", balise)

        reasons = [e.details["reason"] for e in events(balise, "media:refuse")]
        assert reasons == ["other_user", "token_used", "other_item", "unknown_token", "no_claim", "claim_changed",
                           "no_claim"]
        assert not [e for e in events(balise, "media:read") if e.actor_type == "staff"]
