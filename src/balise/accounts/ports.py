"""The values the accounts services exchange with their adapters (single sign-on)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SsoRefused(Exception):
    """A single sign-on attempt that does not sign anyone in. ``reason`` is for the audit trail
    only; the person is shown one generic message, whatever it is."""

    def __init__(self, reason: str, subject: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subject = subject


@dataclass(frozen=True)
class PendingSignIn:
    """What the sign-in keeps (in a short-lived signed cookie) between sending the browser to
    the provider and its return: the values the answer must match."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True)
class VerifiedIdentity:
    """The claims of an ID token whose signature, issuer, audience, expiry and nonce checked out."""

    issuer: str
    subject: str
    claims: dict[str, Any]
