"""Which mailer the settings choose (the outbox unless BALISE_SMTP_URL is set), and every way
the mail settings can be wrong refused at start with the setting named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from balise.container import Balise, mailer_from_settings
from balise.settings import Settings
from balise.takedown.adapters.mail_outbox import OutboxMailer
from balise.takedown.adapters.mail_smtp import SmtpMailer
from balise.takedown.adapters.webhook import HttpWebhookSender


def test_by_default_mail_goes_to_the_outbox_in_the_data_dir(tmp_path):
    mailer = mailer_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(mailer, OutboxMailer)
    assert mailer.directory == tmp_path / "outbox"


def test_the_container_offers_the_chosen_mailer_and_a_webhook_sender(tmp_path):
    balise = Balise(Settings(data_dir=tmp_path))
    try:
        assert isinstance(balise.mailer, OutboxMailer)
        assert isinstance(balise.webhooks, HttpWebhookSender)
    finally:
        balise.close()


def test_an_smtp_url_chooses_smtp_with_the_password_from_its_file(tmp_path, monkeypatch):
    (tmp_path / "smtp-password").write_text("demo-smtp-password\n")
    monkeypatch.setenv("BALISE_SMTP_URL", "smtp+starttls://notices%40centre@mail.centre.example:2587")
    monkeypatch.setenv("BALISE_SMTP_PASSWORD_FILE", str(tmp_path / "smtp-password"))
    monkeypatch.setenv("BALISE_MAIL_FROM", "Centre DEMO <notices@centre.example>")
    settings = Settings(data_dir=tmp_path)
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "demo-smtp-password"
    mailer = mailer_from_settings(settings)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.endpoint.security, mailer.endpoint.host, mailer.endpoint.port, mailer.endpoint.username) == (
        "starttls", "mail.centre.example", 2587, "notices@centre")


@pytest.mark.parametrize(("url", "port", "security"), [
    ("smtp://relay.internal", 25, "plain"),
    ("smtp+starttls://relay.internal", 587, "starttls"),
    ("smtps://relay.internal", 465, "tls"),
])
def test_each_scheme_has_its_default_port(tmp_path, url, port, security):
    mailer = mailer_from_settings(Settings(data_dir=tmp_path, smtp_url=url, mail_from="notices@centre.example"))
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.endpoint.port, mailer.endpoint.security) == (port, security)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"smtp_url": "http://mail.example"}, "BALISE_SMTP_URL: scheme must be one of"),
    ({"smtp_url": "smtp://user:secret@mail.example"}, "must not contain a password"),
    ({"smtp_url": "smtp://"}, "names no host"),
    ({"smtp_url": "smtp://mail.example/path"}, "must be only scheme"),
    ({"smtp_url": "smtp://mail.example?starttls=1"}, "must be only scheme"),
    ({"smtp_url": "smtp://mail.example:99999"}, "BALISE_SMTP_URL"),
    ({"smtp_url": "smtp://mail.example"}, "BALISE_MAIL_FROM must be set"),
    ({"smtp_url": "smtp+starttls://notices@mail.example", "mail_from": "a@centre.example"}, "BALISE_SMTP_PASSWORD_FILE"),
    ({"smtp_url": "smtp://mail.example", "mail_from": "a@centre.example", "smtp_password": "pw"}, "names no user"),
    ({"mail_from": "not an address"}, "BALISE_MAIL_FROM"),
    ({"mail_from": "a@centre.example, b@centre.example"}, "BALISE_MAIL_FROM"),
    ({"smtp_ca_file": "/nonexistent/ca.pem"}, "BALISE_SMTP_CA_FILE"),
    ({"smtp_timeout_seconds": 0}, "smtp_timeout_seconds"),
    ({"webhook_max_response_bytes": -1}, "webhook_max_response_bytes"),
])
def test_wrong_mail_settings_are_refused_naming_the_setting(tmp_path, overrides, message):
    with pytest.raises(ValidationError, match=message):
        Settings(data_dir=tmp_path, **overrides)
