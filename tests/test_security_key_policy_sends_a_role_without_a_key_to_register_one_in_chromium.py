"""BALISE_WEBAUTHN_REQUIRED_ROLES in Chromium: an analyst without a key, signed in with password
and code, reaches no page but the one to register a key (the queue, the home page, a report's
media all send them there); once the key is registered everything opens, and the next sign-in
asks for the key with no code alternative (the code step itself sends back to the key). An
administrator, whose role is not listed, is not asked. An administrator's second-factor reset
removes the analyst's keys (audited), which sends them back to register one. On SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from balise.accounts.actors import Actor
from tests.security_key_support import (
    chromium, events, new_user, password_step, register_key, served, sign_out, totp_step, with_authenticator,
)


@pytest.mark.e2e
def test_policy_requires_a_key_for_an_analyst_without_one(tmp_path, db_url):
    with served(tmp_path, db_url, webauthn_required_roles="analyst,senior-analyst") as (balise, base), \
            chromium() as browser:
        new_user(balise, "ana", "analyst")
        new_user(balise, "adam", "admin")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        with_authenticator(page)
        password_step(page, base, "ana")
        totp_step(page, base, balise, "ana")
        page.wait_for_url(f"{base}/ui/account/keys")
        assert "Your role must sign in with a security key." in page.inner_text("#key-required")
        for path in ("/ui/", "/ui/queue", "/ui/settings", f"/ui/items/{'0' * 8}-0000-0000-0000-{'0' * 12}/media"):
            page.goto(f"{base}{path}")
            assert page.url == f"{base}/ui/account/keys", path
        register_key(page, base, "Analyst key")
        assert "Continue to Balise" in page.inner_text("main")
        page.goto(f"{base}/ui/queue")
        assert page.url == f"{base}/ui/queue"

        sign_out(page)
        password_step(page, base, "ana")
        page.wait_for_url(f"{base}/ui/login/key")
        assert page.locator("#use-totp").count() == 0
        page.goto(f"{base}/ui/login/totp")
        assert page.url == f"{base}/ui/login/key"
        page.click("#key-sign-in button[type=submit]")
        page.wait_for_url(f"{base}/ui/")

        # A role not listed signs in with password and code and is not sent anywhere.
        admin = browser.new_context().new_page()
        password_step(admin, base, "adam")
        totp_step(admin, base, balise, "adam")
        admin.wait_for_url(f"{base}/ui/")

        # The recovery for a lost key: the administrator resets the second factor.
        with balise.db.transaction() as session:
            adam = balise.users.get(session, "adam")
            balise.users.reset_second_factor(session, Actor.staff(str(adam.id), "adam"), "ana", "key lost on a train")
        removed = events(balise, "user:security_key_remove")
        assert [(e["name"], e["reason"]) for e in removed] == [("Analyst key", "key lost on a train")]
        page.goto(f"{base}/ui/queue")
        assert page.url == f"{base}/ui/account/keys"
