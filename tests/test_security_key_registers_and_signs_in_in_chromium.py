"""A security key (Chromium's virtual authenticator) is registered on /ui/account/keys, then
signs its user in after the password; the page lists it with its use. A key removed (with the
password) is refused afterwards with the generic message, and the refusal is audited as a
revoked key. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.page_words import check_words
from tests.security_key_support import (
    PASSWORD, authenticator_credentials, capture_assertion, chromium, events, new_user, password_step, post_assertion, register_key, served,
    sign_out, totp_step, with_authenticator,
)

GENERIC = "The security key was not accepted."
SHOTS = os.environ.get("BALISE_SCREENSHOTS_DIR")


def shot(page, db_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS and db_url.startswith("sqlite"):
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.e2e
def test_register_a_key_then_sign_in_with_password_and_key(tmp_path, db_url):
    with served(tmp_path, db_url) as (balise, base), chromium() as browser:
        new_user(balise, "ana", "analyst")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        with_authenticator(page)
        password_step(page, base, "ana")
        totp_step(page, base, balise, "ana")
        page.wait_for_url(f"{base}/ui/")
        page.goto(f"{base}/ui/account/keys")
        assert "You have no security key yet." in page.inner_text("main")
        register_key(page, base, "Blue key on my keyring")
        text = " ".join(check_words(page.content(), "keys page", ()).split())
        assert "The security key was added." in text and "Blue key on my keyring" in text and "not yet" in text
        added = events(balise, "user:security_key_add")
        assert len(added) == 1 and added[0]["name"] == "Blue key on my keyring"

        sign_out(page)
        page.wait_for_url(f"{base}/ui/login")
        password_step(page, base, "ana")
        # With a key, the key is asked first; the code stays an alternative for this role.
        page.wait_for_url(f"{base}/ui/login/key")
        assert page.locator("#use-totp").count() == 1
        shot(page, db_url, "22-security-key-sign-in")
        page.click("#key-sign-in button[type=submit]")
        page.wait_for_url(f"{base}/ui/")
        assert "Welcome" in page.inner_text("main")
        assert [e for e in events(balise, "user:login") if e.get("step") == "security key"]
        page.goto(f"{base}/ui/account/keys")
        assert "not yet" not in page.inner_text("#keys")
        shot(page, db_url, "21-security-keys")
        with balise.db.sessions() as session:
            key = balise.security_keys.active(session, balise.users.get(session, "ana"))[0]
            assert key.sign_count > 0 and key.last_used_at is not None


@pytest.mark.e2e
def test_a_removed_key_is_refused(tmp_path, db_url):
    with served(tmp_path, db_url) as (balise, base), chromium() as browser:
        new_user(balise, "ana", "analyst")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        first_cdp, first_authenticator = with_authenticator(page)
        password_step(page, base, "ana")
        totp_step(page, base, balise, "ana")
        page.wait_for_url(f"{base}/ui/")
        register_key(page, base, "Work key")

        # A wrong password removes nothing.
        page.fill("#password-1", "not my password at all")
        page.click("form.remove-key button[type=submit]")
        assert "Wrong password: the key was not removed." in page.inner_text("main")
        assert "Work key" in page.inner_text("#keys")

        # In a second browser context (the same authenticator), the key answers a sign-in; before
        # that answer arrives, the user removes the key on the page of their open session.
        other = page.context.browser.new_context().new_page()
        cdp, authenticator = with_authenticator(other)
        for credential in authenticator_credentials(page, first_cdp, first_authenticator):
            cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": credential})
        password_step(other, base, "ana")
        other.wait_for_url(f"{base}/ui/login/key")
        answer = capture_assertion(other)
        with balise.db.sessions() as session:
            key = balise.security_keys.active(session, balise.users.get(session, "ana"))[0]
        page.fill("#password-1", PASSWORD)
        page.click("form.remove-key button[type=submit]")
        page.wait_for_url(f"{base}/ui/account/keys?removed=1")
        assert "You have no security key yet." in page.inner_text("main")
        removed = events(balise, "user:security_key_remove")
        assert len(removed) == 1 and removed[0]["key"] == str(key.id)

        post_assertion(other, answer)
        assert GENERIC in other.inner_text("main")
        assert not other.url.endswith("/ui/")
        refused = events(balise, "user:security_key_refused")
        assert [r["reason"] for r in refused] == ["revoked key"]
        assert any(e.get("step") == "security key" for e in events(balise, "user:login_failed"))
