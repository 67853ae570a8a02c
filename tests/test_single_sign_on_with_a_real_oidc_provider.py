"""Staff single sign-on end to end over real HTTP: Balise (uvicorn on loopback) and an OpenID
Connect provider built from authlib's server parts (tests/oidc_provider.py, also on loopback),
the browser's part played by an HTTP client following the redirects. A first sign-in links the
account whose username the provider names, with the role its groups map to; the role follows the
groups; just-in-time accounts are off unless configured; local accounts still sign in.

Refused with one generic message, audited as sso:refused with the reason, and never signing
anyone in: a state mismatch (the code is not even exchanged), a replayed code, an ID token for
another audience, an expired one, one signed by another key, no mapped role, no account, a
disabled account. The callback is rate limited."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, User
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import make_user, sign_in
from tests.oidc_provider import Client, Provider, running_provider
from tests.servers import free_port, wait_for

GENERIC = "Single sign-on did not work."
ROLES = {"balise-admins": "admin", "balise-seniors": "senior-analyst", "balise-analysts": "analyst"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


def serve(balise: Balise) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(balise), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def balise_with(tmp_path, db_url, provider: Provider, **overrides) -> Balise:  # type: ignore[no-untyped-def]
    config = {"name": "centre", "label": "Centre ID", "issuer": provider.issuer, "client_id": "balise",
              "client_secret": "s3cret-of-the-client", "roles": ROLES, **overrides.pop("oidc", {})}
    return Balise(make_settings(tmp_path, db_url, oidc_providers=[config], **overrides))


@pytest.fixture
def site(tmp_path, db_url, provider) -> Iterator[tuple[Balise, str]]:
    balise = balise_with(tmp_path, db_url, provider)
    for base in serve(balise):
        provider.clients["balise"] = Client("balise", "s3cret-of-the-client", f"{base}/ui/login/sso/centre/callback")
        yield balise, base
    balise.close()


def start(browser: httpx.Client, base: str) -> str:
    """Sign-in started at Balise, answered by the provider: the callback URL it sends back."""
    to_provider = browser.get(f"{base}/ui/login/sso/centre")
    assert to_provider.status_code == 303, to_provider.text
    back = browser.get(to_provider.headers["location"])
    assert back.status_code == 302, back.text
    return back.headers["location"]


def sso_sign_in(browser: httpx.Client, base: str) -> httpx.Response:
    return browser.get(start(browser, base))


def refusals(balise: Balise) -> list[str]:
    with balise.db.sessions() as s:
        return [r.details["reason"] for r in s.execute(select(AuditRecord).where(
            AuditRecord.event_type == "sso:refused").order_by(AuditRecord.seq)).scalars()]


def signed_in(browser: httpx.Client, base: str) -> bool:
    return browser.get(f"{base}/ui/", follow_redirects=False).status_code == 200


def test_first_sign_in_links_the_account_and_the_role_follows_the_groups(site, provider):
    balise, base = site
    make_user(balise, "ana", "analyst")
    provider.user = {"sub": "idp-0001", "preferred_username": "ana", "groups": ["staff", "balise-seniors"]}
    with httpx.Client(timeout=60) as browser:
        assert "Sign in with Centre ID" in browser.get(f"{base}/ui/login").text
        answer = sso_sign_in(browser, base)
        assert answer.status_code == 200 and "Signed in" in answer.text, answer.text
        assert signed_in(browser, base)
        assert "senior analyst" in browser.get(f"{base}/ui/").text
    with balise.db.sessions() as s:
        ana = s.execute(select(User).where(User.username == "ana")).scalar_one()
        assert (ana.sso_issuer, ana.sso_subject, ana.role) == (provider.issuer, "idp-0001", "senior-analyst")
        kinds = [r.event_type for r in s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()]
    assert {"user:sso_link", "user:role_change", "user:login"} <= set(kinds)

    # Later sign-ins find the account by its subject, whatever the username claim says now.
    provider.user = {"sub": "idp-0001", "preferred_username": "ana.renamed", "groups": ["balise-analysts"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 200 and signed_in(browser, base)
    with balise.db.sessions() as s:
        assert s.execute(select(User.role).where(User.username == "ana")).scalar_one() == "analyst"
    # Local accounts still sign in with password and code beside single sign-on.
    make_user(balise, "local", "auditor")
    with httpx.Client(base_url=base, timeout=60) as browser:
        sign_in(browser, balise, "local")


def test_refusals_are_generic_audited_and_sign_nobody_in(site, provider):
    balise, base = site
    make_user(balise, "ana", "analyst")
    provider.user = {"sub": "idp-0001", "preferred_username": "ana", "groups": ["balise-analysts"]}

    # State mismatch: the code is never exchanged.
    with httpx.Client(timeout=60) as browser:
        callback = start(browser, base)
        before = provider.token_requests
        forged = callback.replace("state=", "state=x")
        answer = browser.get(forged)
        assert answer.status_code == 401 and GENERIC in answer.text and not signed_in(browser, base)
        assert provider.token_requests == before
        # ...and the state is spent: the genuine answer afterwards finds no sign-in to finish.
        assert browser.get(callback).status_code == 401

    # A replayed code: used once by a real sign-in, then presented with a fresh state.
    with httpx.Client(timeout=60) as browser:
        callback = start(browser, base)
        assert browser.get(callback).status_code == 200
    code = parse_qs(urlsplit(callback).query)["code"][0]
    with httpx.Client(timeout=60) as attacker:
        fresh = start(attacker, base)
        state = parse_qs(urlsplit(fresh).query)["state"][0]
        replay = attacker.get(f"{base}/ui/login/sso/centre/callback", params={"code": code, "state": state})
        assert replay.status_code == 401 and GENERIC in replay.text and not signed_in(attacker, base)

    for knob, value in (("audience", "another-client"), ("lifetime", -600), ("sign_with_other_key", True)):
        setattr(provider, knob, value)
        with httpx.Client(timeout=60) as browser:
            answer = sso_sign_in(browser, base)
            assert answer.status_code == 401 and GENERIC in answer.text and not signed_in(browser, base), knob
        setattr(provider, knob, Provider().__dict__[knob])

    provider.user = {"sub": "idp-0002", "preferred_username": "nobody", "groups": ["balise-analysts"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 401
    provider.user = {"sub": "idp-0001", "preferred_username": "ana", "groups": ["cleaners"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 401
    with balise.db.transaction() as s:
        s.execute(select(User).where(User.username == "ana")).scalar_one().active = False
    provider.user = {"sub": "idp-0001", "preferred_username": "ana", "groups": ["balise-analysts"]}
    with httpx.Client(timeout=60) as browser:
        assert sso_sign_in(browser, base).status_code == 401 and not signed_in(browser, base)

    reasons = refusals(balise)
    assert reasons[0] == "state mismatch"
    assert reasons[1] == "no sign-in was started in this browser (or it expired)"
    assert reasons[2] == "the provider refused the code (invalid_grant)"
    assert "aud" in reasons[3] and reasons[3].startswith("ID token refused")
    assert "expired" in reasons[4].lower() and reasons[4].startswith("ID token refused")
    assert reasons[5].startswith("ID token refused") and "signature" in reasons[5].lower()
    assert reasons[6:] == ["no Balise account for this identity", "no role: the claim 'groups' holds no mapped value",
                           "account disabled"]


def test_just_in_time_accounts_only_when_configured(tmp_path, db_url, provider):
    provider.user = {"sub": "idp-0009", "preferred_username": "newcomer", "name": "New Comer",
                     "groups": ["balise-analysts"]}
    for create, expected in ((False, None), (True, "analyst")):
        balise = balise_with(tmp_path / str(create), db_url, provider, oidc={"create_accounts": create})
        try:
            for base in serve(balise):
                provider.clients["balise"] = Client("balise", "s3cret-of-the-client",
                                                    f"{base}/ui/login/sso/centre/callback")
                with httpx.Client(timeout=60) as browser:
                    answer = sso_sign_in(browser, base)
                    assert answer.status_code == (200 if create else 401)
                    assert signed_in(browser, base) is create
            with balise.db.sessions() as s:
                found = s.execute(select(User).where(User.username == "newcomer")).scalar_one_or_none()
            assert (found.role if found else None) == expected
            if found:
                assert (found.display_name, found.sso_subject) == ("New Comer", "idp-0009")
        finally:
            balise.close()
        if db_url.startswith("postgresql"):
            break  # one database per parameter run: the second Balise would share the first's tables


def test_the_callback_is_rate_limited(tmp_path, db_url, provider):
    balise = balise_with(tmp_path, db_url, provider, login_rate_limit="2/minute")
    try:
        for base in serve(balise):
            with httpx.Client(timeout=60) as browser:
                answers = [browser.get(f"{base}/ui/login/sso/centre/callback", params={"state": "x", "code": "y"})
                           for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
    finally:
        balise.close()
