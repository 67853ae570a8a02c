"""Security keys (WebAuthn) as a second factor beside TOTP (docs/security.md#security-keys).

The ceremonies are py_webauthn's (options, attestation and assertion checks); what is kept here
is what the library leaves to the relying party: the credentials of each user, their sign
counts, and the challenges, which are single-use, short-lived and bound to one user and one
ceremony. Every refusal raises KeyRefused with the reason for the audit trail; the pages show
one generic message whatever the reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json, parse_client_data_json
from webauthn.helpers import parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from balise.accounts.actors import Actor
from balise.adapters.db.models import SecurityKey, User, WebauthnChallenge
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail

REGISTER = "register"
AUTHENTICATE = "authenticate"
CHALLENGE_SECONDS = 300
MAX_NAME = 100
# A browser's answer is a few kilobytes; anything much larger is not one.
MAX_CREDENTIAL_JSON = 64 * 1024
RP_NAME = "Balise"


class SecurityKeyError(ValueError):
    """A request about keys that is refused before anything is written (a bad name, an unknown
    key, a wrong password); the message says what to fix."""


class KeyRefused(Exception):
    """A key ceremony refused; ``reason`` goes to the audit trail, never to the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Relying:
    """Who the browser talks to: the host name and origin of BALISE_BASE_URL."""

    rp_id: str
    origin: str


class SecurityKeys:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], relying: Relying,
                 required_roles: frozenset[str]) -> None:
        self._audit = audit
        self._clock = clock
        self._rp = relying
        self.required_roles = required_roles

    # What the pages ask.

    def active(self, session: Session, user: User) -> list[SecurityKey]:
        return list(session.execute(select(SecurityKey).where(
            SecurityKey.user_id == user.id, SecurityKey.removed_at.is_(None)).order_by(SecurityKey.created_at)).scalars())

    def has_key(self, session: Session, user: User) -> bool:
        return session.execute(select(SecurityKey.id).where(
            SecurityKey.user_id == user.id, SecurityKey.removed_at.is_(None)).limit(1)).first() is not None

    def counts(self, session: Session) -> dict[uuid.UUID, int]:
        """Each user's number of keys (users without one are left out)."""
        from sqlalchemy import func

        return dict(session.execute(select(SecurityKey.user_id, func.count()).where(
            SecurityKey.removed_at.is_(None)).group_by(SecurityKey.user_id)).all())  # type: ignore[arg-type]

    def required_for(self, user: User) -> bool:
        """The user's role must sign in with a key (BALISE_WEBAUTHN_REQUIRED_ROLES)."""
        return user.role in self.required_roles

    # Registration.

    def registration_options(self, session: Session, user: User) -> str:
        """The options for navigator.credentials.create(), as JSON; their challenge is stored."""
        options = generate_registration_options(
            rp_id=self._rp.rp_id, rp_name=RP_NAME, user_name=user.username, user_id=user.id.bytes,
            user_display_name=user.display_name or user.username,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.DISCOURAGED,
                user_verification=UserVerificationRequirement.PREFERRED),
            # The same authenticator cannot be registered twice.
            exclude_credentials=[PublicKeyCredentialDescriptor(id=_b64decode(k.credential_id))
                                 for k in self.active(session, user)],
            timeout=CHALLENGE_SECONDS * 1000,
        )
        self._store_challenge(session, user, REGISTER, options.challenge)
        return options_to_json(options)

    def register(self, session: Session, user: User, name: str, credential_json: str) -> SecurityKey:
        name = " ".join((name or "").split())
        if not name:
            raise SecurityKeyError("give the key a name, for example where you keep it")
        if len(name) > MAX_NAME:
            raise SecurityKeyError(f"the name is longer than {MAX_NAME} characters")
        try:
            credential = parse_registration_credential_json(_bounded(credential_json))
            challenge = parse_client_data_json(credential.response.client_data_json).challenge
        except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
            self._refused(session, user, REGISTER, f"unreadable answer: {exc}")
            raise KeyRefused("unreadable answer") from None
        self._spend_challenge(session, user, REGISTER, challenge)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self._rp.rp_id,
                expected_origin=self._rp.origin)
        except WebAuthnException as exc:
            self._refused(session, user, REGISTER, str(exc))
            raise KeyRefused(str(exc)) from None
        credential_id = bytes_to_base64url(verified.credential_id)
        if session.execute(select(SecurityKey.id).where(SecurityKey.credential_id == credential_id)).first():
            self._refused(session, user, REGISTER, "credential already registered")
            raise KeyRefused("credential already registered")
        key = SecurityKey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                          sign_count=verified.sign_count, name=name, created_at=self._clock())
        session.add(key)
        session.flush()
        self._audit.record(session, AuditEvent.USER_SECURITY_KEY_ADD, _actor(user), "user", str(user.id),
                           "register security key", {"username": user.username, "key": str(key.id), "name": name})
        return key

    # Authentication (the second step of sign-in).

    def authentication_options(self, session: Session, user: User) -> str:
        options = generate_authentication_options(
            rp_id=self._rp.rp_id,
            allow_credentials=[PublicKeyCredentialDescriptor(id=_b64decode(k.credential_id))
                               for k in self.active(session, user)],
            user_verification=UserVerificationRequirement.PREFERRED,
            timeout=CHALLENGE_SECONDS * 1000,
        )
        self._store_challenge(session, user, AUTHENTICATE, options.challenge)
        return options_to_json(options)

    def authenticate(self, session: Session, user: User, credential_json: str) -> SecurityKey:
        """The key that signed the answer, its sign count and last use updated; KeyRefused (and
        user:security_key_refused recorded) for anything else."""
        try:
            credential = parse_authentication_credential_json(_bounded(credential_json))
            challenge = parse_client_data_json(credential.response.client_data_json).challenge
        except (WebAuthnException, ValueError, TypeError, AttributeError) as exc:
            self._refused(session, user, AUTHENTICATE, f"unreadable answer: {exc}")
            raise KeyRefused("unreadable answer") from None
        key = session.execute(select(SecurityKey).where(
            SecurityKey.credential_id == bytes_to_base64url(credential.raw_id)).with_for_update()).scalar_one_or_none()
        if key is None or key.user_id != user.id:
            self._refused(session, user, AUTHENTICATE, "unknown credential")
            raise KeyRefused("unknown credential")
        if key.removed_at is not None:
            self._refused(session, user, AUTHENTICATE, "revoked key", key)
            raise KeyRefused("revoked key")
        self._spend_challenge(session, user, AUTHENTICATE, challenge)
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self._rp.rp_id,
                expected_origin=self._rp.origin, credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count)
        except WebAuthnException as exc:
            self._refused(session, user, AUTHENTICATE, str(exc), key)
            raise KeyRefused(str(exc)) from None
        key.sign_count = verified.new_sign_count
        key.last_used_at = self._clock()
        return key

    # Removal.

    def remove(self, session: Session, actor: Actor, user: User, key_id: str, reason: str) -> SecurityKey:
        try:
            wanted = uuid.UUID(str(key_id).strip())
        except ValueError:
            raise SecurityKeyError(f"{key_id!r} is not a key id") from None
        key = session.get(SecurityKey, wanted)
        if key is None or key.user_id != user.id or key.removed_at is not None:
            raise SecurityKeyError(f"{user.username!r} has no security key {key_id!r}")
        key.removed_at = self._clock()
        self._audit.record(session, AuditEvent.USER_SECURITY_KEY_REMOVE, actor, "user", str(user.id),
                           "remove security key", {"username": user.username, "key": str(key.id), "name": key.name,
                                                   "reason": reason})
        return key

    # Challenges.

    def _store_challenge(self, session: Session, user: User, ceremony: str, challenge: bytes) -> None:
        now = self._clock()
        # One challenge per user and ceremony is open at a time: a newer page replaces it.
        session.execute(update(WebauthnChallenge).where(
            WebauthnChallenge.user_id == user.id, WebauthnChallenge.ceremony == ceremony,
            WebauthnChallenge.used_at.is_(None), WebauthnChallenge.expires_at > now).values(expires_at=now))
        session.add(WebauthnChallenge(user_id=user.id, ceremony=ceremony, challenge=bytes_to_base64url(challenge),
                                      created_at=now, expires_at=now + timedelta(seconds=CHALLENGE_SECONDS)))
        session.flush()

    def _spend_challenge(self, session: Session, user: User, ceremony: str, challenge: bytes) -> None:
        """Marks the challenge used, once: another answer with it (a replay) finds it spent."""
        now = self._clock()
        spent = session.execute(update(WebauthnChallenge).where(
            WebauthnChallenge.challenge == bytes_to_base64url(challenge), WebauthnChallenge.user_id == user.id,
            WebauthnChallenge.ceremony == ceremony, WebauthnChallenge.used_at.is_(None),
            WebauthnChallenge.expires_at > now).values(used_at=now)).rowcount
        if spent != 1:
            self._refused(session, user, ceremony, "challenge unknown, used or expired")
            raise KeyRefused("challenge unknown, used or expired")

    def _refused(self, session: Session, user: User, ceremony: str, reason: str, key: SecurityKey | None = None) -> None:
        details: dict[str, Any] = {"username": user.username, "ceremony": ceremony, "reason": reason[:300]}
        if key is not None:
            details["key"] = str(key.id)
        self._audit.record(session, AuditEvent.USER_SECURITY_KEY_REFUSED, _actor(user), "user", str(user.id),
                           "security key refused", details)


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _bounded(credential_json: str) -> str:
    if not credential_json or len(credential_json) > MAX_CREDENTIAL_JSON:
        raise ValueError("empty or too large")
    json.loads(credential_json)
    return credential_json


def _b64decode(value: str) -> bytes:
    from webauthn import base64url_to_bytes

    return base64url_to_bytes(value)
