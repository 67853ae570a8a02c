"""Signed webhook deliveries to partners (httpx), and the check receivers run.

A delivery is one ``POST`` of a JSON body::

    {"event": "<event type>", "delivery": "<delivery id>", "sent_at": "<ISO 8601 UTC>", "data": {...}}

with the headers ``Balise-Event``, ``Balise-Delivery`` (the same values, for routing and
de-duplication before parsing) and ``Balise-Signature: t=<unix seconds>,v1=<hex>``, where
the hex is HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>." + body``. The event
and delivery id are inside the signed body too, so a receiver can trust them.

The sender follows no redirects (a moved endpoint is a configuration change, not something to
follow silently with a signed notice), asks for an uncompressed answer and reads at most
``max_response_bytes`` of it. A 2xx answer whose body is a JSON object is returned as the
receipt (for example ``{"received": true, "reference": "..."}``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import ssl
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from balise.ports import DeliveryError, DeliveryResult
from balise.takedown.adapters.fetcher import default_ssl_context

SIGNATURE_HEADER = "Balise-Signature"
EVENT_HEADER = "Balise-Event"
DELIVERY_HEADER = "Balise-Delivery"
USER_AGENT = "Balise-Webhook/1"
_EVENT = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}\Z")
_DELIVERY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# Signing and verifying ------------------------------------------------------------------------


class InvalidWebhookSignature(ValueError):
    """``reason`` is "malformed", "stale" or "mismatch"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign_webhook_body(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``v1`` value: hex HMAC-SHA256 of ``"<timestamp>." + body``."""
    return hmac.new(_key(secret), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str | bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign_webhook_body(secret, timestamp, body)}"


def _unix(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        return now.timestamp()
    return float(now)


def verify_webhook_signature(secret: str | bytes, header: str | None, body: bytes, tolerance_s: float = 300,
                             now: float | datetime | None = None) -> int:
    """Check a ``Balise-Signature`` header against the raw request body, as received (before
    any JSON parsing). Returns the signed timestamp; raises InvalidWebhookSignature when the
    header is malformed, the signature does not match (wrong secret or altered body), or the
    timestamp is more than ``tolerance_s`` seconds away from ``now`` (a replay)."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("verify the raw request body as bytes, not a decoded or re-serialised form")
    if not isinstance(header, str) or not header.strip():
        raise InvalidWebhookSignature("malformed", f"the {SIGNATURE_HEADER} header is missing")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidWebhookSignature("malformed", f"{SIGNATURE_HEADER} part {part.strip()[:40]!r} is not key=value")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
        # Other keys (a later scheme) are ignored, so that senders can add one.
    if len(timestamps) != 1 or not re.fullmatch(r"\d{1,12}", timestamps[0]):
        raise InvalidWebhookSignature("malformed", f"{SIGNATURE_HEADER} needs exactly one t=<unix seconds>")
    if not signatures or not all(re.fullmatch(r"[0-9a-f]{64}", s) for s in signatures):
        raise InvalidWebhookSignature("malformed", f"{SIGNATURE_HEADER} needs v1=<64 lowercase hex characters>")
    timestamp = int(timestamps[0])
    expected = sign_webhook_body(secret, timestamp, bytes(body))
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidWebhookSignature("mismatch", "the signature does not match this body and secret")
    age = _unix(now) - timestamp
    if abs(age) > tolerance_s:
        raise InvalidWebhookSignature("stale", f"the signature is {abs(age):.0f} s from now "
                                               f"(at most {tolerance_s:g} s allowed)")
    return timestamp


# Sending ----------------------------------------------------------------------------------------


class _Deadline(Exception):
    pass


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> str:
    """An https URL, or http on a loopback address (local receivers and tests)."""
    if not isinstance(endpoint, str) or any(c.isspace() for c in endpoint):
        raise DeliveryError(False, "invalid_endpoint", f"endpoint {str(endpoint)[:100]!r} is not a URL")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise DeliveryError(False, "invalid_endpoint", f"endpoint {endpoint[:100]!r}: {exc}") from exc
    if not parts.hostname or parts.username or parts.password:
        raise DeliveryError(False, "invalid_endpoint", f"endpoint {endpoint[:100]!r} needs a host and no user:password")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return endpoint
    raise DeliveryError(False, "invalid_endpoint",
                        f"endpoint {endpoint[:100]!r} must be https:// (http:// only on a loopback address)")


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    # httpx wraps httpcore's error, which wraps the ssl module's.
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _short(data: bytes) -> str:
    return " ".join(data[:300].decode("utf-8", "replace").split())


class HttpWebhookSender:
    def __init__(self, *, timeout_s: float = 10.0, overall_timeout_s: float = 30.0,
                 max_response_bytes: int = 64 * 1024, clock: Callable[[], datetime] = utc_now,
                 ca_file: Path | None = None) -> None:
        self._overall = overall_timeout_s
        self._max_response = max_response_bytes
        self._clock = clock
        # No proxies or .netrc from the environment: where a notice goes is the endpoint's
        # configuration, nothing else.
        # Certificates are checked against the system store, or only against ca_file.
        verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else default_ssl_context()
        self._client = httpx.Client(follow_redirects=False, timeout=httpx.Timeout(timeout_s), trust_env=False,
                                    verify=verify, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def send(self, endpoint: str, secret: str, event_type: str, payload: dict[str, Any],
             delivery_id: str) -> DeliveryResult:
        check_endpoint(endpoint)
        if not isinstance(secret, str) or not secret:
            raise DeliveryError(False, "invalid_secret", "the endpoint's secret is empty")
        if not isinstance(event_type, str) or not _EVENT.match(event_type):
            raise DeliveryError(False, "invalid_event", f"event type {str(event_type)[:70]!r} must match {_EVENT.pattern}")
        if not isinstance(delivery_id, str) or not _DELIVERY.match(delivery_id):
            raise DeliveryError(False, "invalid_delivery_id",
                                f"delivery id {str(delivery_id)[:140]!r} must match {_DELIVERY.pattern}")
        if not isinstance(payload, dict):
            raise DeliveryError(False, "invalid_payload", "the payload must be a JSON object (dict)")
        now = self._clock()
        envelope = {"event": event_type, "delivery": delivery_id,
                    "sent_at": now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"), "data": payload}
        try:
            body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise DeliveryError(False, "invalid_payload", f"the payload is not JSON: {exc}") from exc
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            EVENT_HEADER: event_type,
            DELIVERY_HEADER: delivery_id,
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        }
        deadline = time.monotonic() + self._overall
        try:
            with self._client.stream("POST", endpoint, content=body, headers=headers) as response:
                data, complete = self._read_capped(response, deadline)
        except _Deadline as exc:
            raise DeliveryError(True, "timeout", f"{endpoint} did not finish answering within {self._overall:g} s") from exc
        except httpx.TimeoutException as exc:
            raise DeliveryError(True, "timeout", f"{endpoint}: {type(exc).__name__}") from exc
        except httpx.ConnectError as exc:
            cause = _ssl_cause(exc)
            if isinstance(cause, ssl.SSLCertVerificationError):
                raise DeliveryError(False, "tls_verify", f"{endpoint}: certificate not trusted: {cause.verify_message}") from exc
            if cause is not None:
                raise DeliveryError(False, "tls", f"{endpoint}: TLS failed: {cause}") from exc
            raise DeliveryError(True, "connect", f"{endpoint}: {exc}") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise DeliveryError(False, "invalid_endpoint", f"{endpoint}: {exc}") from exc
        except httpx.TransportError as exc:  # the connection broke mid-way
            raise DeliveryError(True, "network", f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        return self._outcome(endpoint, delivery_id, response, data, complete)

    def _read_capped(self, response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
        # Raw bytes, never decompressed: a small compressed answer cannot inflate in memory.
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            if time.monotonic() > deadline:
                raise _Deadline()
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_response:
                return b"".join(chunks)[: self._max_response], False
        return b"".join(chunks), True

    def _outcome(self, endpoint: str, delivery_id: str, response: httpx.Response, data: bytes,
                 complete: bool) -> DeliveryResult:
        status = response.status_code
        if 200 <= status < 300:
            receipt = None
            encoding = response.headers.get("content-encoding", "identity").lower()
            if complete and encoding == "identity":
                try:
                    parsed = json.loads(data) if data else None
                except (ValueError, UnicodeDecodeError):
                    parsed = None
                receipt = parsed if isinstance(parsed, dict) else None
            note = "" if complete else f" (answer longer than {self._max_response} bytes, not read)"
            return DeliveryResult(channel="webhook", message_id=delivery_id, response=f"HTTP {status}{note}",
                                  status=status, receipt=receipt)
        retry_after = _retry_after(response.headers.get("retry-after"), self._clock())
        detail = f"{endpoint} answered HTTP {status}: {_short(data)}".rstrip(": ")
        if 300 <= status < 400:
            location = response.headers.get("location", "(no Location)")
            raise DeliveryError(False, "redirect", f"{endpoint} redirects to {location[:200]}; redirects are not "
                                                   "followed: update the endpoint", status=status)
        if status == 429:
            raise DeliveryError(True, "http_429", detail, status=status, retry_after=retry_after)
        if status == 408:
            raise DeliveryError(True, "http_408", detail, status=status, retry_after=retry_after)
        if 500 <= status < 600:
            raise DeliveryError(True, "http_5xx", detail, status=status, retry_after=retry_after)
        raise DeliveryError(False, "http_4xx" if 400 <= status < 500 else "http_status", detail, status=status)
