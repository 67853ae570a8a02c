"""Send notice emails through an SMTP server (smtplib).

``BALISE_SMTP_URL`` names the server and how to talk to it:

* ``smtp://host:25`` — plain SMTP, for a relay on the same host or private network;
* ``smtp+starttls://user@host:587`` — STARTTLS, required: the send fails if the server does
  not offer it;
* ``smtps://user@host:465`` — TLS from the first byte.

The user name may be in the URL; the password never is (it would end up in process listings
and logs): it comes from ``BALISE_SMTP_PASSWORD`` or, better, ``BALISE_SMTP_PASSWORD_FILE``.
Certificates are verified against the system store, or only against ``BALISE_SMTP_CA_FILE``.

Each send is one connection with a per-operation timeout and an overall deadline, enforced by
a watchdog that shuts the socket down when the deadline passes (a server answering one byte at
a time cannot hold a worker forever). Failures become ``DeliveryError``: retryable for what
may pass (connection refused or lost, timeouts, SMTP 4xx), permanent for what will not
(SMTP 5xx, bad addresses, TLS verification or a missing STARTTLS, rejected credentials).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import datetime
from email.headerregistry import Address
from pathlib import Path

from balise.domain.mail import SmtpEndpoint
from balise.ports import DeliveryError, DeliveryResult, OutgoingEmail
from balise.takedown.adapters.mail import build_email, utc_now


class _Watchdog:
    """Shuts the connection's socket down once the overall deadline has passed."""

    def __init__(self, seconds: float, smtp: smtplib.SMTP) -> None:
        self.fired = False
        self._smtp = smtp
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        sock = self._smtp.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def check(self) -> None:
        # The deadline may pass while the socket does not exist yet (during connect), when
        # there is nothing to shut down: every step looks at the flag too.
        if self.fired:
            raise TimeoutError("overall deadline passed")

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _by_code(code: int, text: str, what: str) -> DeliveryError:
    # 4xx: try again later; 5xx: this will not work without a change.
    return DeliveryError(400 <= code < 500, "smtp_temporary" if 400 <= code < 500 else "smtp_permanent",
                         f"{what}: {code} {text}", status=code)


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:300]


class SmtpMailer:
    def __init__(self, endpoint: SmtpEndpoint, sender: Address, clock: Callable[[], datetime] = utc_now, *,
                 password: str | None = None, ca_file: Path | None = None, timeout_s: float = 10.0,
                 overall_timeout_s: float = 60.0, helo_name: str | None = None) -> None:
        if endpoint.username and not password:
            raise ValueError(f"{endpoint} names user {endpoint.username!r} but no password is set "
                             "(BALISE_SMTP_PASSWORD_FILE)")
        if password and not endpoint.username:
            raise ValueError("an SMTP password is set but BALISE_SMTP_URL names no user (user@host)")
        self.endpoint = endpoint
        self._sender = sender
        self._clock = clock
        self._password = password
        self._tls: ssl.SSLContext | None = None
        if endpoint.security != "plain":
            # Built once, here, so that an unreadable CA file is a configuration error at start
            # and not a send failure that looks like a network problem.
            try:
                self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"BALISE_SMTP_CA_FILE={ca_file}: cannot load certificates: {exc}") from exc
        self._timeout = timeout_s
        self._overall = overall_timeout_s
        # EHLO with the sender's domain: a fully qualified name that servers accept, found
        # without a DNS lookup (smtplib's default asks the resolver for this host's name).
        self._helo = helo_name or sender.domain

    def send(self, message: OutgoingEmail) -> DeliveryResult:
        msg = build_email(message, self._sender, self._clock())
        payload = msg.as_bytes()
        if self.endpoint.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(local_hostname=self._helo, timeout=self._timeout,
                                                  context=self._tls)
        else:
            smtp = smtplib.SMTP(local_hostname=self._helo, timeout=self._timeout)
        # Connecting later (under the watchdog) leaves the name TLS verifies empty: smtplib
        # only records it when the constructor connects.
        smtp._host = self.endpoint.host
        delivered: tuple[int, str] | None = None
        with _Watchdog(self._overall, smtp) as watchdog:
            try:
                delivered = self._converse(smtp, watchdog, message.to, payload)
            except DeliveryError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is classified below
                if watchdog.fired:
                    raise DeliveryError(True, "timeout", f"{self.endpoint} did not finish within "
                                                         f"{self._overall:g} s") from exc
                raise self._classify(exc) from exc
            finally:
                try:
                    if delivered is not None:
                        smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass  # the message was accepted; a failed goodbye changes nothing
                smtp.close()
        code, text = delivered
        return DeliveryResult(channel="smtp", message_id=str(msg["Message-ID"]), response=f"{code} {text}",
                              status=code)

    def _converse(self, smtp: smtplib.SMTP, watchdog: _Watchdog, recipient: str, payload: bytes) -> tuple[int, str]:
        smtp.connect(self.endpoint.host, self.endpoint.port)
        watchdog.check()
        smtp.ehlo()
        if self.endpoint.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(False, "starttls_unavailable",
                                    f"{self.endpoint} does not offer STARTTLS, which the URL requires")
            smtp.starttls(context=self._tls)
            smtp.ehlo()
        if self.endpoint.username:
            smtp.login(self.endpoint.username, self._password or "")
        watchdog.check()
        code, resp = smtp.mail(self._sender.addr_spec)
        if code != 250:
            raise _by_code(code, _text(resp), "sender refused")
        code, resp = smtp.rcpt(recipient)
        if code not in (250, 251):
            raise _by_code(code, _text(resp), f"recipient {recipient} refused")
        code, resp = smtp.data(payload)
        if code != 250:
            raise _by_code(code, _text(resp), "message refused")
        return code, _text(resp)

    def _classify(self, exc: BaseException) -> DeliveryError:
        where = str(self.endpoint)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(400 <= exc.smtp_code < 500, "smtp_auth",
                                 f"{where} refused the credentials: {exc.smtp_code} {_text(exc.smtp_error)}",
                                 status=exc.smtp_code)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(False, "smtp_unsupported", f"{where}: {exc}")
        if isinstance(exc, smtplib.SMTPResponseException):
            return _by_code(exc.smtp_code, _text(exc.smtp_error), where)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return DeliveryError(True, "disconnected", f"{where} closed the connection: {exc}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(False, "tls_verify", f"{where}: certificate not trusted: {exc.verify_message}")
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(False, "tls", f"{where}: TLS failed: {exc.reason or exc}")
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return DeliveryError(True, "timeout", f"{where} did not answer within {self._timeout:g} s")
        if isinstance(exc, socket.gaierror):
            return DeliveryError(True, "connect", f"{where}: name lookup failed: {exc.strerror}")
        if isinstance(exc, OSError):
            return DeliveryError(True, "connect", f"{where}: {exc.strerror or exc}")
        return DeliveryError(True, "smtp_error", f"{where}: {type(exc).__name__}: {exc}")
