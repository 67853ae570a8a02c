"""Notice emails through a real SMTP server (aiosmtpd) on loopback: what arrives, and how each
kind of failure is classified for the retry queue."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from balise.domain.mail import SmtpEndpoint, parse_sender
from balise.ports import DeliveryError, OutgoingEmail
from balise.takedown.adapters.mail_smtp import SmtpMailer
from tests.servers import free_port
from tests.tls_support import make_pki

SENDER = parse_sender("Balise DEMO Centre <notices@centre.example>")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
REFERENCE = "BAL-N-20261123-ABCDEFGH"


def clock() -> datetime:
    return NOW


def notice(**overrides: object) -> OutgoingEmail:
    values: dict[str, object] = {
        "to": "abuse@host.example",
        "subject": f"Notification de matériel – réf. {REFERENCE}",
        "body": "Démo : aucun contenu, seulement des références.\nhttps://host.example/demo\n",
        "reference": REFERENCE,
        "reply_to": "replies@centre.example",
        "language": "fr",
    }
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


class Recorder:
    """Accepts mail, except for recipients whose local part asks for a rejection."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.startswith("reject@"):
            return "550 5.1.1 DEMO mailbox unavailable"
        if address.startswith("busy@"):
            return "451 4.3.0 DEMO try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued as DEMO1"

    def authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            if auth_data.login == b"notices" and auth_data.password == b"demo-smtp-password":
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextmanager
def smtp_server(**smtp_options: object) -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=recorder.authenticate,
                            **smtp_options)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def mailer(url: str, **options: object) -> SmtpMailer:
    options.setdefault("timeout_s", 5.0)
    return SmtpMailer(SmtpEndpoint.parse(url), SENDER, clock, **options)  # type: ignore[arg-type]


def test_message_arrives_with_reference_headers_and_body():
    with smtp_server() as (server, port):
        result = mailer(f"smtp://127.0.0.1:{port}").send(notice())
    assert result.channel == "smtp" and result.status == 250
    assert "queued as DEMO1" in result.response
    assert result.message_id == f"<{REFERENCE}@centre.example>"
    [(mail_from, rcpt_tos, content)] = server.envelopes
    assert mail_from == "notices@centre.example" and rcpt_tos == ["abuse@host.example"]
    received = email.message_from_bytes(content, policy=email.policy.default)
    assert received["Message-ID"] == f"<{REFERENCE}@centre.example>"
    assert received["X-Balise-Reference"] == REFERENCE
    assert received["Subject"] == f"Notification de matériel – réf. {REFERENCE}"
    assert received["From"] == "Balise DEMO Centre <notices@centre.example>"
    assert received["To"] == "abuse@host.example"
    assert received["Reply-To"] == "replies@centre.example"
    assert received["Content-Language"] == "fr"
    assert received["Date"].datetime == NOW
    assert received.get_content_type() == "text/plain"
    assert received.get_content().replace("\r\n", "\n") == notice().body  # CRLF on the wire


def test_a_retried_send_carries_the_same_message_id():
    with smtp_server() as (server, port):
        sender = mailer(f"smtp://127.0.0.1:{port}")
        first = sender.send(notice())
        second = sender.send(notice())
    ids = [email.message_from_bytes(c, policy=email.policy.default)["Message-ID"] for _, _, c in server.envelopes]
    assert first.message_id == second.message_id == ids[0] == ids[1]


def test_unreachable_server_is_retryable():
    port = free_port()  # nothing listens there
    with pytest.raises(DeliveryError) as err:
        mailer(f"smtp://127.0.0.1:{port}").send(notice())
    assert err.value.retryable and err.value.code == "connect"


def test_550_rejection_is_permanent_and_nothing_is_delivered():
    with smtp_server() as (server, port):
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp://127.0.0.1:{port}").send(notice(to="reject@host.example"))
    assert not err.value.retryable
    assert err.value.code == "smtp_permanent" and err.value.status == 550
    assert "mailbox unavailable" in err.value.message
    assert server.envelopes == []


def test_451_temporary_rejection_is_retryable():
    with smtp_server() as (server, port):
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp://127.0.0.1:{port}").send(notice(to="busy@host.example"))
    assert err.value.retryable and err.value.code == "smtp_temporary" and err.value.status == 451
    assert server.envelopes == []


@pytest.mark.parametrize(("field", "value", "code"), [
    ("to", "not an address", "invalid_address"),
    ("to", "abuse@host.example\r\nBcc: someone@else.example", "invalid_address"),
    ("reply_to", "replies at centre", "invalid_address"),
    ("subject", "Subject\r\nBcc: someone@else.example", "invalid_message"),
    ("subject", "   ", "invalid_message"),
    ("body", "", "invalid_message"),
    ("reference", "../../etc/passwd", "invalid_message"),
    ("language", "fr;evil", "invalid_message"),
])
def test_bad_messages_are_refused_permanently_before_any_connection(field, value, code):
    # The port has no server: had the mailer connected first, the error would be "connect".
    with pytest.raises(DeliveryError) as err:
        mailer(f"smtp://127.0.0.1:{free_port()}").send(notice(**{field: value}))
    assert not err.value.retryable and err.value.code == code


def test_a_server_that_never_answers_is_cut_off_at_the_overall_deadline():
    # A listening socket that never accepts: the connection completes in the kernel and the
    # greeting never comes. The per-operation timeout is long, so only the deadline can end it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp://127.0.0.1:{port}", timeout_s=60.0, overall_timeout_s=0.5).send(notice())
    assert err.value.retryable and err.value.code == "timeout"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_starttls_with_login_delivers(pki):
    with smtp_server(tls_context=pki.server_context(), require_starttls=True) as (server, port):
        result = mailer(f"smtp+starttls://notices@127.0.0.1:{port}", ca_file=pki.ca_file,
                        password="demo-smtp-password").send(notice())
    assert result.status == 250
    assert server.logins == [(b"notices", b"demo-smtp-password")]
    assert len(server.envelopes) == 1


def test_smtps_implicit_tls_delivers(pki):
    with smtp_server(ssl_context=pki.server_context(), server_hostname="127.0.0.1") as (server, port):
        result = mailer(f"smtps://127.0.0.1:{port}", ca_file=pki.ca_file).send(notice())
    assert result.status == 250 and len(server.envelopes) == 1


def test_untrusted_certificate_is_permanent(pki):
    # Without BALISE_SMTP_CA_FILE the system store is used, which does not know the test CA.
    with smtp_server(tls_context=pki.server_context(), require_starttls=True) as (server, port):
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp+starttls://127.0.0.1:{port}").send(notice())
    assert not err.value.retryable and err.value.code == "tls_verify"
    assert server.envelopes == []


def test_starttls_required_but_not_offered_is_permanent():
    with smtp_server() as (server, port):
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp+starttls://127.0.0.1:{port}").send(notice())
    assert not err.value.retryable and err.value.code == "starttls_unavailable"
    assert server.envelopes == []


def test_rejected_password_is_permanent(pki):
    with smtp_server(tls_context=pki.server_context(), require_starttls=True) as (server, port):
        with pytest.raises(DeliveryError) as err:
            mailer(f"smtp+starttls://notices@127.0.0.1:{port}", ca_file=pki.ca_file,
                   password="wrong-password").send(notice())
    assert not err.value.retryable and err.value.code == "smtp_auth" and err.value.status == 535
    assert server.envelopes == []


def test_unreadable_ca_file_is_refused_when_the_mailer_is_built(tmp_path: Path):
    with pytest.raises(ValueError, match="BALISE_SMTP_CA_FILE"):
        SmtpMailer(SmtpEndpoint.parse("smtps://127.0.0.1:465"), SENDER, clock, ca_file=tmp_path / "missing.pem")


def test_user_without_password_is_refused_when_the_mailer_is_built():
    with pytest.raises(ValueError, match="no password"):
        SmtpMailer(SmtpEndpoint.parse("smtp+starttls://notices@127.0.0.1:587"), SENDER, clock)
