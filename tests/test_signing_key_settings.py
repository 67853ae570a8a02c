"""The evidence-package signing key: production refuses to start without a usable one and
names BALISE_SIGNING_KEY_FILE; development generates one once (0600) and keeps using it."""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat

from balise.container import Balise
from balise.evidence.adapters.signing import write_new_key
from balise.settings import Settings, UnsafeConfiguration
from balise.web.app import create_app
from tests.servers import BALISE, clean_env, free_port

GOOD = {"secret_key": "x" * 48, "vault_key": base64.b64encode(os.urandom(32)).decode()}


def _production(tmp_path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(env="production", data_dir=tmp_path / "data", **GOOD, **overrides)


def test_production_without_a_signing_key_refuses_to_start_naming_the_setting(tmp_path):
    settings = _production(tmp_path)
    with pytest.raises(UnsafeConfiguration, match="BALISE_SIGNING_KEY_FILE is missing"):
        settings.check_safe()
    with pytest.raises(UnsafeConfiguration, match="BALISE_SIGNING_KEY_FILE"):
        create_app(Balise(settings))
    with pytest.raises(UnsafeConfiguration, match="BALISE_SIGNING_KEY_FILE"):
        Balise(settings).signer  # noqa: B018 - building a package would need it
    # Production never falls back to generating a key of its own.
    assert not (tmp_path / "data").exists()


def _pem_file(tmp_path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: t / "missing.pem", "cannot be read: No such file or directory"),
        (lambda t: t, "cannot be read: Is a directory"),
        (lambda t: _pem_file(t, "junk.pem", b"not a key\n"), "is not an unencrypted Ed25519 private key in PEM"),
        (lambda t: _pem_file(t, "rsa.pem", rsa.generate_private_key(65537, 2048).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())),
         "is not an unencrypted Ed25519 private key in PEM"),
        (lambda t: _pem_file(t, "locked.pem", Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"a passphrase"))),
         "is not an unencrypted Ed25519 private key in PEM"),
    ],
)
def test_an_unusable_key_file_is_refused_naming_the_setting_and_the_file(tmp_path, make, message):
    path = make(tmp_path)
    settings = _production(tmp_path, signing_key_file=path)
    with pytest.raises(UnsafeConfiguration) as err:
        settings.check_safe()
    assert f"BALISE_SIGNING_KEY_FILE={str(path)!r}" in str(err.value) and message in str(err.value)
    # Set explicitly, a broken key is refused in development too: nothing is signed with it.
    with pytest.raises(UnsafeConfiguration, match="BALISE_SIGNING_KEY_FILE"):
        Balise(Settings(env="development", data_dir=tmp_path / "dev", signing_key_file=path)).signer  # noqa: B018


def test_production_with_a_key_file_starts_and_signs_with_it(tmp_path):
    written = write_new_key(tmp_path / "signing.pem")
    settings = _production(tmp_path, signing_key_file=tmp_path / "signing.pem")
    settings.check_safe()
    create_app(Balise(settings))
    signer = Balise(settings).signer
    assert signer.key_id == written.key_id
    signer.public_key.verify(signer.sign(b"manifest"), b"manifest")


def test_the_key_file_is_named_by_an_environment_variable(tmp_path, monkeypatch):
    write_new_key(tmp_path / "signing.pem")
    monkeypatch.setenv("BALISE_SIGNING_KEY_FILE", str(tmp_path / "signing.pem"))
    assert Settings().signing_key_file == tmp_path / "signing.pem"


def test_development_generates_a_private_key_once_and_reuses_it(tmp_path):
    settings = Settings(env="development", data_dir=tmp_path / "data")
    settings.check_safe()
    first = Balise(settings).signer
    path = tmp_path / "data" / "signing-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()
    again = Balise(Settings(env="development", data_dir=tmp_path / "data")).signer
    assert again.key_id == first.key_id
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["signing-key.pem"]  # no temporary file left


def test_a_damaged_development_key_is_named_not_replaced(tmp_path):
    path = tmp_path / "data" / "signing-key.pem"
    path.parent.mkdir()
    path.write_text("damaged\n")
    with pytest.raises(UnsafeConfiguration, match="delete it to generate a new one"):
        Balise(Settings(env="development", data_dir=tmp_path / "data")).signer  # noqa: B018
    assert path.read_text() == "damaged\n"


@pytest.mark.e2e
def test_serve_in_production_without_a_signing_key_exits_naming_it(tmp_path):
    env = {**clean_env(tmp_path / "data"), "BALISE_ENV": "production", "BALISE_SECRET_KEY": GOOD["secret_key"],
           "BALISE_VAULT_KEY": GOOD["vault_key"]}
    result = subprocess.run([BALISE, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "BALISE_SIGNING_KEY_FILE is missing" in result.stderr
    assert "BALISE_SECRET_KEY" not in result.stderr  # the other secrets are fine: only the key is named


def test_an_empty_centre_name_is_refused(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="centre_name"):
        Settings(env="development", data_dir=tmp_path, centre_name="")
