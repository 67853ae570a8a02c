"""Every secret setting can come from the file named by BALISE_<NAME>_FILE (compose and
Kubernetes secrets), so that no secret has to sit in a process environment."""

from __future__ import annotations

import base64
import os

import pytest
from pydantic import SecretStr

from balise.settings import SECRET_FIELDS, Settings, UnsafeConfiguration

# A value each secret accepts, and what a setting must hold for that secret to be allowed.
VALUES = {
    "secret_key": ("s" * 48, {}),
    "vault_key": (base64.b64encode(os.urandom(32)).decode(), {}),
    "smtp_password": ("smtp-password-from-a-file",
                      {"BALISE_SMTP_URL": "smtp+starttls://notices@127.0.0.1:2525",
                       "BALISE_MAIL_FROM": "Centre <notices@centre.example>"}),
    "database_url": ("postgresql+psycopg://balise:db-password@127.0.0.1:5432/balise", {}),
    "rate_limit_storage": ("redis://:redis-password@127.0.0.1:6379/0", {}),
    "metrics_token": ("m" * 40, {}),
}


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_secretstr_setting_is_listed_as_a_secret():
    # A new SecretStr setting that is not in SECRET_FIELDS would have no _FILE variable.
    typed = {name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)}
    assert typed <= set(SECRET_FIELDS)
    assert set(VALUES) == set(SECRET_FIELDS)


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_secret_is_read_from_its_file_and_wins_over_the_variable(name, tmp_path, monkeypatch):
    value, needs = VALUES[name]
    for key in list(os.environ):
        if key.startswith("BALISE_"):
            monkeypatch.delenv(key)
    for key, other in needs.items():
        monkeypatch.setenv(key, other)
    secret_file = tmp_path / name
    secret_file.write_text(value + "\n", encoding="utf-8")  # editors add a newline; it is not part of it
    monkeypatch.setenv(f"BALISE_{name.upper()}_FILE", str(secret_file))
    monkeypatch.setenv(f"BALISE_{name.upper()}", "the-variable-loses-" + "x" * 32)
    assert _plain(getattr(Settings(), name)) == value


@pytest.mark.parametrize("name", SECRET_FIELDS)
def test_an_unreadable_secret_file_is_refused_naming_the_variable(name, tmp_path, monkeypatch):
    monkeypatch.setenv(f"BALISE_{name.upper()}_FILE", str(tmp_path / "missing"))
    with pytest.raises(UnsafeConfiguration, match=f"BALISE_{name.upper()}_FILE=.*cannot be read"):
        Settings()


def test_a_short_metrics_token_is_refused(monkeypatch):
    monkeypatch.setenv("BALISE_METRICS_TOKEN", "short")
    with pytest.raises(ValueError, match="BALISE_METRICS_TOKEN must be at least 24 characters"):
        Settings()
