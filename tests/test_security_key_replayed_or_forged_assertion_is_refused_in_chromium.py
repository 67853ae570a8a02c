"""An assertion of a registered key (Chromium's virtual authenticator) is accepted once: posted
again to /ui/login/key, in the same sign-in or in a later one, it is refused (its challenge is
spent), and so is one for a fresh challenge whose signature was altered, one from a credential
the server never registered, and one checked against another origin. Each gets the generic
message, signs nobody in and is audited with its reason. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json

import pytest

from balise.accounts.security_keys import KeyRefused, Relying, SecurityKeys
from tests.security_key_support import (
    capture_assertion, chromium, events, new_user, password_step, post_assertion, register_key, served, sign_out,
    totp_step, with_authenticator,
)

GENERIC = "The security key was not accepted."


def reasons(balise) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["reason"] for e in events(balise, "user:security_key_refused")]


def altered(credential: str) -> str:
    """The same answer with the last byte of its signature flipped."""
    value = json.loads(credential)
    signature = bytearray(base64.urlsafe_b64decode(value["response"]["signature"] + "=="))
    signature[-1] ^= 0x01
    value["response"]["signature"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
    return json.dumps(value)


@pytest.mark.e2e
def test_replayed_altered_unknown_and_wrong_origin_assertions_are_refused(tmp_path, db_url):
    with served(tmp_path, db_url) as (balise, base), chromium() as browser:
        new_user(balise, "ana", "analyst")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        cdp, authenticator = with_authenticator(page)
        password_step(page, base, "ana")
        totp_step(page, base, balise, "ana")
        page.wait_for_url(f"{base}/ui/")
        register_key(page, base, "Desk key")
        sign_out(page)

        # A good answer signs in; the very same answer, posted again, does not.
        password_step(page, base, "ana")
        page.wait_for_url(f"{base}/ui/login/key")
        good = capture_assertion(page)
        post_assertion(page, good)
        page.wait_for_url(f"{base}/ui/")
        sign_out(page)
        password_step(page, base, "ana")
        page.wait_for_url(f"{base}/ui/login/key")
        post_assertion(page, good)
        assert GENERIC in page.inner_text("main") and page.url == f"{base}/ui/login/key"
        assert reasons(balise) == ["challenge unknown, used or expired"]

        # An answer to the page's fresh challenge with its signature altered.
        page.goto(f"{base}/ui/login/key")
        post_assertion(page, altered(capture_assertion(page)))
        assert GENERIC in page.inner_text("main")
        assert reasons(balise)[-1] == "Could not verify authentication signature"

        # The same answer posted twice within one sign-in: the second finds the challenge spent
        # (it would also fail the sign count, which did not grow).
        page.goto(f"{base}/ui/login/key")
        twice = capture_assertion(page)
        with balise.db.sessions() as session:
            count_before = balise.security_keys.active(session, balise.users.get(session, "ana"))[0].sign_count
        post_assertion(page, twice)
        page.wait_for_url(f"{base}/ui/")
        sign_out(page)
        password_step(page, base, "ana")
        page.wait_for_url(f"{base}/ui/login/key")
        post_assertion(page, twice)
        assert GENERIC in page.inner_text("main")
        assert reasons(balise)[-1] == "challenge unknown, used or expired"
        with balise.db.sessions() as session:
            assert balise.security_keys.active(session, balise.users.get(session, "ana"))[0].sign_count > count_before

        # A key the server never registered (a credential put on the authenticator directly).
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
        forged = dict(credentials[0], credentialId=base64.b64encode(b"never registered with balise").decode(),
                      signCount=1000)
        cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": forged})
        page.goto(f"{base}/ui/login/key")
        answer = page.evaluate("""() => {
          const f = (v) => Uint8Array.from(atob(v.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((v.length + 3) % 4)), c => c.charCodeAt(0)).buffer;
          const o = JSON.parse(document.getElementById('key-sign-in').getAttribute('data-options'));
          o.challenge = f(o.challenge);
          o.allowCredentials = [{type: 'public-key', id: new TextEncoder().encode('never registered with balise').buffer}];
          return navigator.credentials.get({publicKey: o}).then(c => JSON.stringify(c.toJSON()));
        }""")
        post_assertion(page, answer)
        assert GENERIC in page.inner_text("main")
        assert reasons(balise)[-1] == "unknown credential"
        cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
        cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credentials[0]})

        # The origin the browser signed for is checked: a server configured for another one refuses.
        page.goto(f"{base}/ui/login/key")
        fresh = capture_assertion(page)
        elsewhere = SecurityKeys(balise.audit, balise.clock, Relying("localhost", "https://localhost:9"), frozenset())
        with balise.db.transaction() as session:
            try:
                elsewhere.authenticate(session, balise.users.get(session, "ana"), fresh)
            except KeyRefused as refusal:
                assert "origin" in refusal.reason
            else:
                raise AssertionError("an answer for another origin was accepted")
        assert "origin" in reasons(balise)[-1]
        assert page.url == f"{base}/ui/login/key"
        assert all(e.get("step") == "security key" for e in events(balise, "user:login_failed"))
        assert len(events(balise, "user:login_failed")) == 4
