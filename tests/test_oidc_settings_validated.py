"""BALISE_OIDC_PROVIDERS: a well-formed list is accepted; a provider with an unknown role, no
secret or two secrets, an unreadable secret file, a bad issuer or a duplicate name is refused at
start naming what is wrong; outside development an http:// issuer or an inline secret makes the
configuration unsafe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from balise.settings import Settings

GOOD = {"name": "centre", "label": "Centre ID", "issuer": "https://id.centre.example/realms/staff/",
        "client_id": "balise", "client_secret": "dev-secret", "roles": {"g-analysts": "analyst"}}


def settings(tmp_path, *providers, env="development", **extra):  # type: ignore[no-untyped-def]
    return Settings(env=env, data_dir=tmp_path, oidc_providers=list(providers), **extra)


def test_a_well_formed_provider_is_read(tmp_path):
    secret = tmp_path / "oidc-secret"
    secret.write_text("from-a-file\n")
    provider = settings(tmp_path, {**GOOD, "client_secret": None, "client_secret_file": str(secret)}).oidc_providers[0]
    assert provider.issuer == "https://id.centre.example/realms/staff" and provider.secret() == "from-a-file"
    assert provider.create_accounts is False and provider.role_claim == "groups"


@pytest.mark.parametrize(("change", "problem"), [
    ({"roles": {"g": "king"}}, "unknown roles"),
    ({"roles": {}}, "roles"),
    ({"client_secret": None}, "give client_secret_file"),
    ({"client_secret_file": "/etc/hostname"}, "give client_secret_file"),
    ({"client_secret": None, "client_secret_file": "/nonexistent/secret"}, "client_secret_file cannot be read"),
    ({"issuer": "id.centre.example"}, "issuer must be an http"),
    ({"name": "Centre ID"}, "name"),
    ({"surprise": 1}, "surprise"),
])
def test_a_bad_provider_is_refused_naming_the_problem(tmp_path, change, problem):
    with pytest.raises(ValidationError, match=problem):
        settings(tmp_path, {**GOOD, **change})


def test_names_are_unique(tmp_path):
    with pytest.raises(ValidationError, match="names must be unique"):
        settings(tmp_path, GOOD, {**GOOD, "label": "Other"})


def test_outside_development_http_issuers_and_inline_secrets_are_unsafe(tmp_path):
    reasons = settings(tmp_path, {**GOOD, "issuer": "http://id.centre.example"}, env="production").unsafe_reasons()
    assert "BALISE_OIDC_PROVIDERS: the issuer of 'centre' is not https://" in reasons
    assert "BALISE_OIDC_PROVIDERS: 'centre' has an inline client_secret (use client_secret_file)" in reasons
