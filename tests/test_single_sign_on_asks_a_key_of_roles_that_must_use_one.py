"""Single sign-on and BALISE_WEBAUTHN_REQUIRED_ROLES, against the loopback OpenID Connect
provider: an analyst with a key who signs in through the provider is not signed in yet: the
answer leads to /ui/login/key (no code alternative: single sign-on has no TOTP step). Without
a key, the provider's sign-in opens only the page to register one. A role not listed is signed
in at once. The setting refuses names that are not staff roles."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from balise.settings import Settings
from tests.helpers import make_user
from tests.oidc_provider import Client
from tests.test_security_key_answers_with_bad_input_are_refused_generically_and_audited import with_key
from tests.test_single_sign_on_with_a_real_oidc_provider import balise_with, provider, serve, signed_in, sso_sign_in

__all__ = ["provider"]


@pytest.fixture
def site(tmp_path, db_url, provider):  # type: ignore[no-untyped-def]
    balise = balise_with(tmp_path, db_url, provider, webauthn_required_roles="analyst")
    for base in serve(balise):
        provider.clients["balise"] = Client("balise", "s3cret-of-the-client", f"{base}/ui/login/sso/centre/callback")
        yield balise, base
    balise.close()


def test_a_single_sign_on_is_followed_by_the_key_for_a_role_that_must_use_one(site, provider):
    balise, base = site
    make_user(balise, "ana", "analyst")
    with_key(balise, "ana")
    provider.user = {"sub": "idp-ana", "preferred_username": "ana", "groups": ["balise-analysts"]}
    with httpx.Client(timeout=60) as browser:
        answer = sso_sign_in(browser, base)
        assert answer.status_code == 200 and 'href="/ui/login/key"' in answer.text
        key_page = browser.get(f"{base}/ui/login/key")
        assert key_page.status_code == 200 and "Use my security key" in key_page.text
        assert 'id="use-totp"' not in key_page.text
        totp = browser.get(f"{base}/ui/login/totp", follow_redirects=False)
        assert totp.status_code == 303 and totp.headers["location"] == "/ui/login/key"
        assert not signed_in(browser, base)


def test_without_a_key_the_sign_on_opens_only_the_key_page(site, provider):
    balise, base = site
    make_user(balise, "bea", "analyst")
    make_user(balise, "sam", "senior-analyst")
    provider.user = {"sub": "idp-bea", "preferred_username": "bea", "groups": ["balise-analysts"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 200
        home = browser.get(f"{base}/ui/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/ui/account/keys"
        keys = browser.get(f"{base}/ui/account/keys")
        assert keys.status_code == 200 and "Your role must sign in with a security key." in keys.text
    # senior-analyst is not listed in this configuration.
    provider.user = {"sub": "idp-sam", "preferred_username": "sam", "groups": ["balise-seniors"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 200 and signed_in(browser, base)


def test_the_setting_defaults_by_environment_and_refuses_unknown_roles(tmp_path):
    assert Settings(env="development").security_key_roles == frozenset()
    assert Settings(env="production").security_key_roles == {"analyst", "senior-analyst"}
    assert Settings(env="production", webauthn_required_roles="").security_key_roles == frozenset()
    assert Settings(webauthn_required_roles="admin, auditor").security_key_roles == {"admin", "auditor"}
    with pytest.raises(ValidationError, match="'analysts' is not a staff role"):
        Settings(webauthn_required_roles="analyst,analysts")
    relying = Settings(base_url="https://balise.centre.example:8443/")
    assert (relying.webauthn_rp_id, relying.webauthn_origin) == ("balise.centre.example", "https://balise.centre.example:8443")
