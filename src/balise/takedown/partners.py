"""The partner directory: who receives what, in which language, over which channel."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Partner
from balise.adapters.secretbox import SecretBox
from balise.domain.audit import AuditEvent
from balise.domain.partners import Channel, PartnerKind, seed_partners
from balise.governance.audit import AuditTrail

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
LANG_RE = re.compile(r"^[a-z]{2}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
SLUG_RE = re.compile(r"[^a-z0-9]+")


class PartnerError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PartnerChanges:
    """Only the fields given change; webhook_secret is write-only."""

    name: str | None = None
    channel: str | None = None
    endpoint: str | None = None
    webhook_secret: str | None = None
    languages: list[str] | None = None
    active: bool | None = None
    verified: bool | None = None
    notes: str | None = None


def slug(partner: Partner) -> str:
    return f"{partner.id}-" + SLUG_RE.sub("-", partner.name.lower()).strip("-")[:60]


def check_endpoint(channel: str, endpoint: str | None) -> str | None:
    endpoint = (endpoint or "").strip() or None
    if channel == Channel.EMAIL:
        if not endpoint or not EMAIL_RE.match(endpoint):
            raise PartnerError("endpoint", "an email channel needs an email address like abuse@example.org")
    elif channel == Channel.WEBHOOK:
        if not endpoint:
            raise PartnerError("endpoint", "a webhook channel needs an http(s) URL")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or len(endpoint) > 2000:
            raise PartnerError("endpoint", "a webhook endpoint must be an http(s) URL without credentials")
    elif channel in (Channel.EXPORT, Channel.NONE):
        if endpoint is not None:
            raise PartnerError("endpoint", f"the {channel} channel takes no endpoint")
    else:
        raise PartnerError("channel", f"unknown channel {channel!r}; one of {', '.join(c.value for c in Channel)}")
    return endpoint


def check_languages(languages: list[str]) -> list[str]:
    if not languages or any(not LANG_RE.match(x) for x in languages):
        raise PartnerError("languages", "give one or more ISO 639-1 codes such as fr, de, nl")
    return list(dict.fromkeys(languages))


class Partners:
    def __init__(self, audit: AuditTrail, box: SecretBox, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._box = box
        self._clock = clock

    # -- reading -------------------------------------------------------------------------

    def list(self, session: Session, *, kind: str | None = None, country: str | None = None) -> list[Partner]:
        query = select(Partner).order_by(Partner.country.is_not(None), Partner.country, Partner.kind, Partner.name)
        if kind:
            query = query.where(Partner.kind == kind)
        if country:
            query = query.where(Partner.country == country.upper())
        return list(session.execute(query).scalars())

    def get(self, session: Session, partner_id: int) -> Partner | None:
        return session.get(Partner, partner_id)

    def find(self, session: Session, kind: PartnerKind, country: str | None) -> list[Partner]:
        """Active partners of a kind for a country (Europol: country None), verified first."""
        query = select(Partner).where(Partner.kind == kind.value, Partner.active.is_(True))
        query = query.where(Partner.country.is_(None) if country is None else Partner.country == country)
        return list(session.execute(query.order_by(Partner.verified.desc(), Partner.id)).scalars())

    def webhook_secret(self, partner: Partner) -> str | None:
        return self._box.open(partner.webhook_secret) if partner.webhook_secret else None

    # -- writing -------------------------------------------------------------------------

    def seed(self, session: Session, actor: Actor) -> int:
        """Add every seed entry not yet present (by kind, country and name). Idempotent."""
        existing = {(p.kind, p.country, p.name) for p in session.execute(select(Partner)).scalars()}
        now = self._clock()
        added = 0
        for seed in seed_partners():
            if (seed.kind.value, seed.country, seed.name) in existing:
                continue
            session.add(Partner(kind=seed.kind.value, country=seed.country, name=seed.name,
                                channel=Channel.EXPORT.value, endpoint=None, languages=list(seed.languages),
                                active=True, verified=False, seeded=True, created_at=now, updated_at=now,
                                notes="Seeded: confirm the organisation and configure its channel before use."))
            added += 1
        session.flush()
        self._audit.record(session, AuditEvent.PARTNER_SEED, actor, "partner", "directory",
                           "seed the partner directory", {"added": added})
        return added

    def create(self, session: Session, actor: Actor, *, kind: str, country: str | None, name: str, channel: str,
               endpoint: str | None = None, languages: list[str], webhook_secret: str | None = None,
               verified: bool = False, notes: str | None = None) -> Partner:
        try:
            kind = PartnerKind(kind).value
        except ValueError:
            raise PartnerError("kind", f"unknown kind {kind!r}; one of {', '.join(k.value for k in PartnerKind)}") from None
        if kind == PartnerKind.EUROPOL:
            country = None
        elif not country or not COUNTRY_RE.match(country.upper()):
            raise PartnerError("country", "give the ISO 3166 alpha-2 code of the partner's country, e.g. FR")
        country = country.upper() if country else None
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise PartnerError("name", "give a name of 1 to 200 characters")
        endpoint = check_endpoint(channel, endpoint)
        if channel == Channel.WEBHOOK and not webhook_secret:
            raise PartnerError("webhook_secret", "a webhook needs a shared secret to sign deliveries")
        duplicate = session.execute(select(Partner.id).where(
            Partner.kind == kind, Partner.name == name,
            Partner.country.is_(None) if country is None else Partner.country == country)).first()
        if duplicate:
            raise PartnerError("name", "this partner is already in the directory")
        now = self._clock()
        partner = Partner(kind=kind, country=country, name=name, channel=channel, endpoint=endpoint,
                          webhook_secret=self._box.seal(webhook_secret) if webhook_secret else None,
                          languages=check_languages(languages), active=True, verified=verified, seeded=False,
                          notes=notes, created_at=now, updated_at=now)
        session.add(partner)
        session.flush()
        self._audit.record(session, AuditEvent.PARTNER_CREATE, actor, "partner", str(partner.id), "add a partner",
                           {"kind": kind, "country": country, "channel": channel})
        return partner

    def update(self, session: Session, actor: Actor, partner_id: int, changes: PartnerChanges) -> Partner:
        partner = session.get(Partner, partner_id, with_for_update=True)
        if partner is None:
            raise PartnerError("id", f"no partner {partner_id}")
        changed: dict[str, Any] = {}
        channel = changes.channel if changes.channel is not None else partner.channel
        if changes.channel is not None or changes.endpoint is not None:
            endpoint = changes.endpoint if changes.endpoint is not None else partner.endpoint
            if changes.channel is not None and changes.channel != partner.channel and changes.endpoint is None:
                endpoint = None
            endpoint = check_endpoint(channel, endpoint)
            if (channel, endpoint) != (partner.channel, partner.endpoint):
                changed["channel"], changed["endpoint_changed"] = channel, endpoint != partner.endpoint
                partner.channel, partner.endpoint = channel, endpoint
                # A new endpoint must be verified again before it is trusted.
                if changes.verified is None:
                    partner.verified = False
        if changes.webhook_secret:
            partner.webhook_secret = self._box.seal(changes.webhook_secret)
            changed["webhook_secret"] = "replaced"
        if channel == Channel.WEBHOOK and not partner.webhook_secret:
            raise PartnerError("webhook_secret", "a webhook needs a shared secret to sign deliveries")
        if changes.name is not None:
            name = changes.name.strip()
            if not name or len(name) > 200:
                raise PartnerError("name", "give a name of 1 to 200 characters")
            partner.name, changed["name"] = name, name
        if changes.languages is not None:
            partner.languages = changed["languages"] = check_languages(changes.languages)
        for field in ("active", "verified", "notes"):
            value = getattr(changes, field)
            if value is not None and value != getattr(partner, field):
                setattr(partner, field, value)
                changed[field] = value if field != "notes" else "changed"
        if changed:
            partner.updated_at = self._clock()
            self._audit.record(session, AuditEvent.PARTNER_UPDATE, actor, "partner", str(partner.id),
                               "change a partner", changed)
        return partner
