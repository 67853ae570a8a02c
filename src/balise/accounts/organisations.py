"""Organisations, their contact points and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import ApiKey, ContactPoint, Organisation
from balise.domain.audit import AuditEvent
from balise.domain.mail import is_address
from balise.domain.model import OrgKind, Scope
from balise.governance.audit import AuditTrail

# An API key's last use is written at most this often (a write per call would cost the match
# path a write transaction per request); the administration page shows it to the minute.
LAST_USE_EVERY_SECONDS = 60
CONTACT_PURPOSES = ("general", "technical", "legal", "emergency")

# bal_<12 hex prefix>_<43 url-safe chars>. The secret half has 256 bits of entropy, so a
# single SHA-256 stores it safely; a slow password hash would only slow every API call.
KEY_RE = re.compile(r"^bal_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class OrganisationError(ValueError):
    pass


class OrganisationSuspended(Exception):
    """Right credentials of a suspended organisation: refused (403), never authenticated."""

    def __init__(self, name: str, since: datetime) -> None:
        self.name, self.since = name, since
        super().__init__(f"the organisation {name!r} is suspended since {since:%Y-%m-%d %H:%M} UTC; "
                         "its credentials do not work until it is reinstated")


@dataclass(frozen=True)
class IssuedKey:
    key_id: uuid.UUID
    plaintext: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """An authenticated API caller."""

    organisation_id: uuid.UUID
    organisation_name: str
    key_id: uuid.UUID
    key_prefix: str
    scopes: frozenset[str]

    @property
    def actor(self) -> Actor:
        return Actor.organisation(str(self.organisation_id), self.organisation_name)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


#: Authenticated keys kept per process; past this many the cache starts again empty.
CACHE_LIMIT = 10_000


class Organisations:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock
        # presented key -> (credential epoch, principal or (name, since) of its suspended organisation)
        self._cache: dict[str, tuple[int, Principal | tuple[str, datetime]]] = {}
        self._last_use: dict[uuid.UUID, datetime] = {}

    def create(
        self,
        session: Session,
        actor: Actor,
        *,
        name: str,
        kind: OrgKind,
        country: str | None = None,
        contact_email: str | None = None,
        contact_name: str | None = None,
        contact_phone: str | None = None,
        legal_representative: str | None = None,
        is_demo: bool = False,
    ) -> Organisation:
        name = name.strip()
        if not name:
            raise OrganisationError("an organisation needs a name")
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            raise OrganisationError(f"country must be an ISO 3166-1 alpha-2 code, not {country!r}")
        if session.execute(select(Organisation).where(Organisation.name == name)).first():
            raise OrganisationError(f"an organisation named {name!r} already exists")
        org = Organisation(
            name=name, kind=kind.value, country=country,
            legal_representative=legal_representative, is_demo=is_demo,
        )
        if contact_email or contact_name or contact_phone:
            org.contact_points.append(
                ContactPoint(name=contact_name, email=contact_email, phone=contact_phone)
            )
        session.add(org)
        session.flush()
        self._audit.record(
            session, AuditEvent.ORG_CREATE, actor, "organisation", str(org.id),
            "register organisation", {"name": name, "kind": kind.value},
        )
        return org

    def issue_key(
        self,
        session: Session,
        actor: Actor,
        org: Organisation,
        scopes: Iterable[Scope | str],
        label: str | None = None,
        reason: str | None = None,
    ) -> IssuedKey:
        wanted = tuple(sorted({Scope(s).value for s in scopes}))
        if not wanted:
            raise OrganisationError("an API key needs at least one scope")
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            organisation_id=org.id, prefix=prefix, secret_hash=_hash_secret(secret),
            scopes=list(wanted), label=label,
        )
        session.add(key)
        session.flush()
        self._audit.record(
            session, AuditEvent.APIKEY_CREATE, actor, "apikey", str(key.id),
            "issue API key", {"organisation": str(org.id), "prefix": prefix, "scopes": list(wanted),
                              **({"reason": reason} if reason else {})},
        )
        return IssuedKey(key.id, f"bal_{prefix}_{secret}", wanted)

    def revoke_key(self, session: Session, actor: Actor, prefix: str, reason: str | None = None) -> ApiKey:
        key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
        if key is None:
            raise OrganisationError(f"no API key with prefix {prefix!r}")
        if key.revoked_at is not None:
            raise OrganisationError(f"the API key {prefix!r} is already revoked")
        key.revoked_at = self._clock()
        self._audit.record(
            session, AuditEvent.APIKEY_REVOKE, actor, "apikey", str(key.id),
            "revoke API key", {"prefix": prefix, **({"reason": reason} if reason else {})},
        )
        return key

    def authenticate(self, session: Session, presented: str, epoch: int | None = None) -> Principal | None:
        """The principal for a presented key, or None. Unknown, malformed and revoked keys
        are indistinguishable to the caller; a valid key of a suspended organisation raises
        OrganisationSuspended.

        With ``epoch`` (the credential epoch read in this session, adapters/db/epoch.py), a key
        authenticated before at the same epoch is answered from this process's memory, without
        reading the key or its organisation again nor hashing its secret: any change to a key,
        an organisation's suspension or a grant raises the epoch, so the next request reads again.
        Unknown keys are never cached (they cost a read each, as before)."""
        if epoch is not None:
            cached = self._cache.get(presented)
            if cached is not None and cached[0] == epoch:
                if isinstance(cached[1], tuple):
                    raise OrganisationSuspended(*cached[1])
                self._note_use(session, cached[1].key_id, None)
                return cached[1]
        try:
            principal = self._authenticate(session, presented)
        except OrganisationSuspended as exc:
            self._remember(presented, epoch, (exc.name, exc.since))
            raise
        if principal is not None:
            self._remember(presented, epoch, principal)
        return principal

    def from_memory(self, presented: str, epoch: int) -> Principal | None:
        """The principal of a key authenticated before at ``epoch``, if answering it needs
        nothing written either (its last use was noted within the minute); else None, and the
        caller authenticates with a session (:meth:`authenticate`). Reads and changes nothing:
        for the event loop (web/api/match.py)."""
        cached = self._cache.get(presented)
        if cached is None or cached[0] != epoch or isinstance(cached[1], tuple):
            return None
        principal = cached[1]
        last = self._last_use.get(principal.key_id)
        if last is None or self._use_due(last):
            return None
        return principal

    def _use_due(self, last: datetime) -> bool:
        return (self._clock() - last).total_seconds() >= LAST_USE_EVERY_SECONDS

    def _note_use(self, session: Session, key_id: uuid.UUID, stored: datetime | None) -> None:
        """A key's last use, written at most once a minute per key and process, also when the
        key was answered from the cache. Written when the caller's session commits (web/api/
        deps.py commits it); last_used_at is not a watched column, so the epoch does not move."""
        last = self._last_use.get(key_id, stored)
        if last is None or self._use_due(last):
            now = self._clock()
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            self._last_use[key_id] = now

    def _remember(self, presented: str, epoch: int | None, outcome: Principal | tuple[str, datetime]) -> None:
        if epoch is None:
            return
        if len(self._cache) >= CACHE_LIMIT:
            self._cache = {}
        self._cache[presented] = (epoch, outcome)

    def _authenticate(self, session: Session, presented: str) -> Principal | None:
        match = KEY_RE.match(presented or "")
        if not match:
            return None
        prefix, secret = match.groups()
        row = session.execute(
            select(ApiKey, Organisation)
            .join(Organisation, Organisation.id == ApiKey.organisation_id)
            .where(ApiKey.prefix == prefix)
        ).first()
        if row is None:
            return None
        key, org = row
        if not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
            return None
        if key.revoked_at is not None:
            return None
        if org.suspended_at is not None:
            raise OrganisationSuspended(org.name, org.suspended_at)
        self._note_use(session, key.id, key.last_used_at)
        return Principal(
            organisation_id=org.id, organisation_name=org.name, key_id=key.id,
            key_prefix=key.prefix, scopes=frozenset(key.scopes),
        )

    def record_refusal(self, session: Session, presented: str) -> None:
        """Audit a refused key whose prefix exists (revoked, or the wrong secret): the caller got
        the same 401 as for an unknown key. Unknown or malformed keys name nothing to audit."""
        match = KEY_RE.match(presented or "")
        key = session.execute(select(ApiKey).where(ApiKey.prefix == match.group(1))).scalar_one_or_none() \
            if match else None
        if key is None:
            return
        wrong = not hmac.compare_digest(key.secret_hash, _hash_secret(match.group(2)))  # type: ignore[union-attr]
        self._audit.record(session, AuditEvent.APIKEY_REFUSED, Actor.system("api"), "apikey", str(key.id),
                           "API authentication", {"prefix": key.prefix,
                                                  "reason": "wrong secret" if wrong else "revoked"})

    def get_by_name(self, session: Session, name: str) -> Organisation | None:
        return session.execute(select(Organisation).where(Organisation.name == name)).scalar_one_or_none()

    def list_all(self, session: Session) -> list[Organisation]:
        return list(session.execute(select(Organisation).order_by(Organisation.name)).scalars())

    def live_key_counts(self, session: Session) -> dict[uuid.UUID, int]:
        """Unrevoked API keys per organisation (organisations without any are absent)."""
        rows = session.execute(select(ApiKey.organisation_id, func.count()).where(ApiKey.revoked_at.is_(None))
                               .group_by(ApiKey.organisation_id)).all()
        return {org_id: count for org_id, count in rows}

    def suspend(self, session: Session, actor: Actor, name: str, reason: str) -> Organisation:
        reason = _reason(reason)
        org = self._named(session, name)
        if org.suspended_at is not None:
            raise OrganisationError(f"{name!r} is already suspended")
        org.suspended_at = self._clock()
        self._audit.record(session, AuditEvent.ORG_SUSPEND, actor, "organisation", str(org.id),
                           "suspend organisation", {"name": org.name, "reason": reason})
        return org

    def reinstate(self, session: Session, actor: Actor, name: str, reason: str) -> Organisation:
        reason = _reason(reason)
        org = self._named(session, name)
        if org.suspended_at is None:
            raise OrganisationError(f"{name!r} is not suspended")
        org.suspended_at = None
        self._audit.record(session, AuditEvent.ORG_REINSTATE, actor, "organisation", str(org.id),
                           "reinstate organisation", {"name": org.name, "reason": reason})
        return org

    def get(self, session: Session, org_id: uuid.UUID) -> Organisation | None:
        return session.get(Organisation, org_id)

    def keys_of(self, session: Session, org_id: uuid.UUID) -> list[ApiKey]:
        return list(session.execute(select(ApiKey).where(ApiKey.organisation_id == org_id)
                                    .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())).scalars())

    # Contact points (the Organisations page): each change needs a reason and is audited.

    def add_contact(self, session: Session, actor: Actor, org: Organisation, *, name: str, email: str, phone: str,
                    purpose: str, reason: str) -> ContactPoint:
        reason = _reason(reason)
        values = _contact_values(name, email, phone, purpose)
        point = ContactPoint(organisation_id=org.id, **values)
        session.add(point)
        session.flush()
        self._audit.record(session, AuditEvent.ORG_CONTACT_UPDATE, actor, "organisation", str(org.id),
                           "add contact point", {"contact_point": point.id, "change": "add", "reason": reason})
        return point

    def update_contact(self, session: Session, actor: Actor, org: Organisation, point_id: int, *, name: str,
                       email: str, phone: str, purpose: str, reason: str) -> ContactPoint:
        reason = _reason(reason)
        values = _contact_values(name, email, phone, purpose)
        point = self._contact(session, org, point_id)
        for field, value in values.items():
            setattr(point, field, value)
        self._audit.record(session, AuditEvent.ORG_CONTACT_UPDATE, actor, "organisation", str(org.id),
                           "change contact point", {"contact_point": point.id, "change": "update", "reason": reason})
        return point

    def remove_contact(self, session: Session, actor: Actor, org: Organisation, point_id: int, reason: str) -> None:
        reason = _reason(reason)
        point = self._contact(session, org, point_id)
        session.delete(point)
        self._audit.record(session, AuditEvent.ORG_CONTACT_UPDATE, actor, "organisation", str(org.id),
                           "remove contact point", {"contact_point": point_id, "change": "remove", "reason": reason})

    @staticmethod
    def _contact(session: Session, org: Organisation, point_id: int) -> ContactPoint:
        point = session.get(ContactPoint, point_id)
        if point is None or point.organisation_id != org.id:
            raise OrganisationError(f"{org.name!r} has no contact point {point_id}")
        return point

    def _named(self, session: Session, name: str) -> Organisation:
        org = self.get_by_name(session, name)
        if org is None:
            raise OrganisationError(f"no organisation named {name!r}")
        return org


def _contact_values(name: str, email: str, phone: str, purpose: str) -> dict[str, str | None]:
    name, email, phone = (name or "").strip(), (email or "").strip(), (phone or "").strip()
    if not (email or phone):
        raise OrganisationError("a contact point needs an email address or a phone number")
    if email and (len(email) > 320 or not is_address(email)):
        raise OrganisationError(f"email: {email!r} is not an email address")
    if phone and not re.fullmatch(r"\+?[0-9 ()./-]{3,40}", phone):
        raise OrganisationError(f"phone: {phone!r} is not a phone number (digits, spaces, + ( ) . / -)")
    if len(name) > 200:
        raise OrganisationError("name: at most 200 characters")
    if purpose not in CONTACT_PURPOSES:
        raise OrganisationError(f"purpose: one of {', '.join(CONTACT_PURPOSES)}, not {purpose!r}")
    return {"name": name or None, "email": email or None, "phone": phone or None, "purpose": purpose}


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OrganisationError("a reason is required (--reason) and cannot be empty")
    return reason
