"""The rules of signed requests between Balise installations (docs/federation.md), no I/O.

A request names its sender by the id of the sender's Ed25519 signing key (the key of its
exchange feed and evidence packages, ``GET /api/v1/exchange-key``) and carries a time stamp and a
single-use nonce. What is signed binds all of them to the method, the path and the exact bytes
of the body, so none can be changed or moved to another request; the body names its recipient
by the recipient's key id, so a request cannot be sent on to a third installation either.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

SENDER_HEADER = "Balise-Sender"
TIMESTAMP_HEADER = "Balise-Timestamp"
NONCE_HEADER = "Balise-Nonce"
SIGNATURE_HEADER = "Balise-Signature"
#: A request signed further than this from our clock is refused (stale_timestamp); nonces are
#: kept twice as long, so a replay inside the window always finds its nonce.
FRESHNESS = timedelta(minutes=5)
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEY_ID_RE = re.compile(r"[A-Za-z0-9_:.-]{1,64}")
OUTCOMES = ("removed", "not_illegal")
MAX_BODY = 64 * 1024


class FederationRuleError(ValueError):
    """A value that breaks a rule of federation; the message names the field."""


def signed_message(method: str, path: str, sender: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a federation request's signature covers."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(("balise-federation-v1", method.upper(), path, sender, timestamp, nonce, digest)).encode()


def timestamp_text(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def parse_timestamp(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", text or ""):
        raise FederationRuleError(f"{TIMESTAMP_HEADER}: seconds since 1970 (UTC)")
    return int(text)


def is_fresh(stamp: int, now: datetime) -> bool:
    return abs(now.timestamp() - stamp) <= FRESHNESS.total_seconds()


def check_base_url(url: str) -> str:
    """A partner's base URL: https, or http to a loopback address (tests and the demo); no
    user name, query or fragment. Returned without a trailing slash."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise FederationRuleError("base_url: not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise FederationRuleError("base_url: an http(s) URL with a host, such as https://balise.hotline.example")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FederationRuleError("base_url: no user name, password, query or fragment")
    if parts.scheme == "http":
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise FederationRuleError("base_url: https is required (http only to a loopback address, for tests)")
    return url.rstrip("/")


def check_country(value: str) -> str:
    from babel import Locale

    code = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code) or code == "ZZ" or code not in Locale.parse("en").territories:
        raise FederationRuleError(f"country: an ISO 3166-1 alpha-2 code such as NL, not {value[:20]!r}")
    return code


def check_name(value: str) -> str:
    name = (value or "").strip()
    if not 1 <= len(name) <= 100 or any(c.isspace() and c != " " for c in name):
        raise FederationRuleError("name: 1 to 100 characters on one line")
    return name
