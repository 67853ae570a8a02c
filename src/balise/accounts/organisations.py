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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import ApiKey, ContactPoint, Organisation
from balise.domain.audit import AuditEvent
from balise.domain.model import OrgKind, Scope
from balise.governance.audit import AuditTrail

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
            "issue API key", {"organisation": str(org.id), "prefix": prefix, "scopes": list(wanted)},
        )
        return IssuedKey(key.id, f"bal_{prefix}_{secret}", wanted)

    def revoke_key(self, session: Session, actor: Actor, prefix: str) -> ApiKey:
        key = session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()
        if key is None:
            raise OrganisationError(f"no API key with prefix {prefix!r}")
        key.revoked_at = self._clock()
        self._audit.record(
            session, AuditEvent.APIKEY_REVOKE, actor, "apikey", str(key.id),
            "revoke API key", {"prefix": prefix},
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
                return cached[1]
        try:
            principal = self._authenticate(session, presented)
        except OrganisationSuspended as exc:
            self._remember(presented, epoch, (exc.name, exc.since))
            raise
        if principal is not None:
            self._remember(presented, epoch, principal)
        return principal

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
        return Principal(
            organisation_id=org.id, organisation_name=org.name, key_id=key.id,
            key_prefix=key.prefix, scopes=frozenset(key.scopes),
        )

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

    def _named(self, session: Session, name: str) -> Organisation:
        org = self.get_by_name(session, name)
        if org is None:
            raise OrganisationError(f"no organisation named {name!r}")
        return org


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OrganisationError("a reason is required (--reason) and cannot be empty")
    return reason
