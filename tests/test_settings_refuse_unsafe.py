"""Outside development the service refuses default or missing secrets, and says which."""

from __future__ import annotations

import base64
import os

import pytest

from balise.container import Balise
from balise.evidence.adapters.signing import write_new_key
from balise.settings import Settings, UnsafeConfiguration
from balise.web.app import create_app

GOOD_VAULT = base64.b64encode(os.urandom(32)).decode()
GOOD_SECRET = "x" * 48


def test_development_runs_on_the_defaults(tmp_path):
    Settings(env="development", data_dir=tmp_path).check_safe()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({}, ["BALISE_SECRET_KEY", "BALISE_VAULT_KEY"]),
        ({"vault_key": GOOD_VAULT}, ["BALISE_SECRET_KEY"]),
        ({"secret_key": GOOD_SECRET}, ["BALISE_VAULT_KEY"]),
        ({"secret_key": "short", "vault_key": GOOD_VAULT}, ["BALISE_SECRET_KEY is shorter"]),
    ],
)
def test_production_refuses_default_or_weak_secrets_naming_them(tmp_path, overrides, named):
    settings = Settings(env="production", data_dir=tmp_path, **overrides)
    with pytest.raises(UnsafeConfiguration) as err:
        settings.check_safe()
    for name in named:
        assert name in str(err.value)
    with pytest.raises(UnsafeConfiguration):
        create_app(Balise(settings))


def test_production_starts_with_real_secrets(tmp_path):
    write_new_key(tmp_path / "signing.pem")
    Settings(env="production", data_dir=tmp_path, secret_key=GOOD_SECRET, vault_key=GOOD_VAULT,
             signing_key_file=tmp_path / "signing.pem").check_safe()


def test_secrets_are_read_from_files_named_by_FILE_variables(tmp_path, monkeypatch):
    (tmp_path / "secret").write_text(GOOD_SECRET + "\n")
    (tmp_path / "vault").write_text(GOOD_VAULT)
    monkeypatch.setenv("BALISE_ENV", "production")
    monkeypatch.setenv("BALISE_SECRET_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("BALISE_VAULT_KEY_FILE", str(tmp_path / "vault"))
    monkeypatch.setenv("BALISE_DATA_DIR", str(tmp_path))
    write_new_key(tmp_path / "signing.pem")
    monkeypatch.setenv("BALISE_SIGNING_KEY_FILE", str(tmp_path / "signing.pem"))
    settings = Settings()
    assert settings.secret_key.get_secret_value() == GOOD_SECRET
    settings.check_safe()


def test_an_unreadable_secret_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BALISE_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(UnsafeConfiguration, match="BALISE_SECRET_KEY_FILE"):
        Settings()


def test_environment_variables_configure_the_database_and_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BALISE_DATA_DIR", str(tmp_path / "d"))
    assert Settings().sqlalchemy_url == f"sqlite:///{(tmp_path / 'd' / 'balise.sqlite3').resolve()}"
    assert Settings().vault_path == (tmp_path / "d" / "vault").resolve()
    monkeypatch.setenv("BALISE_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u@127.0.0.1/db"


def test_invalid_values_are_refused(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(env="staging")
    with pytest.raises(ValidationError):
        Settings(api_rate_limit="lots")
    with pytest.raises(ValidationError, match="base64"):
        Settings(vault_key="***not base64***")
