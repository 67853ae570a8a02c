"""Checkpoint settings: outside development, checkpoints without a usable key refuse to start
(naming BALISE_CHECKPOINT_KEY_FILE); development generates its own key once under the data
directory; malformed URLs and numbers are refused with the setting's name."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pydantic import ValidationError

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.evidence.adapters.signing import write_new_key
from balise.settings import Settings, UnsafeConfiguration
from balise.web.app import create_app
from tests.checkpoint_support import checkpoint_balise

GOOD = {"secret_key": "x" * 48, "vault_key": base64.b64encode(os.urandom(32)).decode()}


def _production(tmp_path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    signing = tmp_path / "signing.pem"
    if not signing.exists():
        write_new_key(signing)
    return Settings(env="production", data_dir=tmp_path / "data", signing_key_file=signing, **GOOD, **overrides)


def test_production_with_checkpoints_and_no_key_refuses_to_start(tmp_path):
    settings = _production(tmp_path, checkpoint_dir=tmp_path / "cp")
    with pytest.raises(UnsafeConfiguration, match="BALISE_CHECKPOINT_DIR is set but BALISE_CHECKPOINT_KEY_FILE is missing"):
        create_app(Balise(settings))
    with pytest.raises(UnsafeConfiguration, match="BALISE_CHECKPOINT_KEY_FILE"):
        Balise(settings).checkpoints
    assert not (tmp_path / "data" / "checkpoint-key.pem").exists()


def test_production_without_checkpoints_needs_no_checkpoint_key(tmp_path):
    assert _production(tmp_path).unsafe_reasons() == []


def test_production_with_a_checkpoint_key_starts(tmp_path):
    key = tmp_path / "checkpoint.pem"
    write_new_key(key)
    assert _production(tmp_path, checkpoint_dir=tmp_path / "cp", checkpoint_key_file=key).unsafe_reasons() == []


def test_a_key_that_is_not_ed25519_or_unreadable_is_named(tmp_path):
    rsa_key = tmp_path / "rsa.pem"
    rsa_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    reasons = _production(tmp_path, checkpoint_dir=tmp_path / "cp", checkpoint_key_file=rsa_key).unsafe_reasons()
    assert any("is not an unencrypted Ed25519 private key" in r and "BALISE_CHECKPOINT_KEY_FILE" in r for r in reasons)
    reasons = _production(tmp_path, checkpoint_dir=tmp_path / "cp",
                          checkpoint_key_file=tmp_path / "missing.pem").unsafe_reasons()
    assert any("cannot be read: No such file or directory" in r for r in reasons)


def test_development_generates_one_key_and_keeps_it(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url)
    try:
        first = balise.checkpoints.write(Actor.system("test")).checkpoint.key_id
    finally:
        balise.close()
    assert (tmp_path / "data" / "checkpoint-key.pem").stat().st_mode & 0o777 == 0o600
    again = checkpoint_balise(tmp_path, db_url)
    try:
        assert again.checkpoints.write(Actor.system("test")).checkpoint.key_id == first
        # Not the evidence-package key: the two keys have different jobs and different holders.
        assert again.checkpoint_signer.key_id != again.signer.key_id
    finally:
        again.close()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("tsa_url", "ftp://tsa.example/", "BALISE_TSA_URL must be an http:// or https:// URL"),
    ("checkpoint_webhook_url", "not a url", "BALISE_CHECKPOINT_WEBHOOK_URL must be an http:// or https:// URL"),
    ("checkpoint_interval_minutes", 0, "greater than or equal to 1"),
    ("match_log_batch_size", 0, "greater than or equal to 1"),
    ("match_log_flush_ms", 120_000, "less than or equal to 60000"),
    ("match_log_mode", "sometimes", "'batched' or 'audit-row'"),
])
def test_malformed_settings_are_refused(tmp_path, name, value, message):
    with pytest.raises(ValidationError, match=message):
        Settings(data_dir=tmp_path, **{name: value})


def test_the_cli_refuses_a_checkpoint_without_a_directory(tmp_path, db_url):
    from tests.cli_support import run_cli

    env = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url}
    result = run_cli(env, "audit", "checkpoint")
    assert result.returncode == 2 and "BALISE_CHECKPOINT_DIR is not set" in result.stderr
