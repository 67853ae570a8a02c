"""Staff passwords are hashed with argon2id at RFC 9106's low-memory parameters unless a test
suite asks for the cheapest ones, which a production configuration refuses to start with."""

from __future__ import annotations

import pytest

from balise.accounts.users import Users
from balise.adapters.secretbox import SecretBox
from balise.settings import Settings, UnsafeConfiguration
from balise.container import utc_now


def users(cost: str) -> Users:
    return Users(audit=None, totp_box=SecretBox("k" * 32, b"test"), clock=utc_now, hash_cost=cost)  # type: ignore[arg-type]


def test_the_default_hashes_with_rfc_9106_low_memory_parameters():
    assert Settings().password_hash_cost == "standard"
    stored = users(Settings().password_hash_cost)._hasher.hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_minimal_is_refused_outside_development():
    production = Settings(env="production", password_hash_cost="minimal")
    assert any("BALISE_PASSWORD_HASH_COST" in reason for reason in production.unsafe_reasons())
    with pytest.raises(UnsafeConfiguration, match="BALISE_PASSWORD_HASH_COST"):
        production.check_safe()
    assert not any("PASSWORD_HASH" in reason for reason in Settings(env="production").unsafe_reasons())


def test_a_standard_hash_still_verifies_under_minimal_and_is_rehashed():
    stored = users("standard")._hasher.hash("correct horse")
    minimal = users("minimal")
    minimal._hasher.verify(stored, "correct horse")
    assert minimal._hasher.check_needs_rehash(stored)
    assert minimal._hasher.hash("correct horse").startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_an_unknown_cost_is_refused_naming_the_setting_and_its_values(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("BALISE_PASSWORD_HASH_COST", "cheap")
    with pytest.raises(ValidationError) as refused:
        Settings()
    (error,) = refused.value.errors()
    assert error["loc"] == ("password_hash_cost",) and "'standard' or 'minimal'" in error["msg"]
