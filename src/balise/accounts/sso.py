"""Staff single sign-on with OpenID Connect (docs/security.md#single-sign-on).

The relying party (adapters/oidc.py) proves who the provider says signed in; this service
decides what that means in Balise: the role from a claim (``role_claim`` values mapped by
``roles``, the first mapping the claim holds wins, re-read at every sign-in), the account
(linked by issuer and subject; a first sign-in links the account whose username is the
``username_claim``, or creates one when ``create_accounts`` is on), and refusals: no mapped
role, no account, a disabled account, an account linked to another identity. Every refusal is
audited with its reason; the person sees one generic message."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.accounts.adapters.oidc import OidcRelyingParty
from balise.accounts.ports import PendingSignIn, SsoRefused, VerifiedIdentity
from balise.accounts.users import USERNAME_RE, Users
from balise.adapters.db.models import User
from balise.domain.audit import AuditEvent
from balise.domain.model import Role
from balise.governance.audit import AuditTrail
from balise.settings import OidcProvider


class SingleSignOn:
    def __init__(self, providers: list[OidcProvider], users: Users, audit: AuditTrail,
                 clock: Callable[[], datetime]) -> None:
        self._configs = {p.name: p for p in providers}
        self._parties = {p.name: OidcRelyingParty(p) for p in providers}
        self._users = users
        self._audit = audit
        self._clock = clock

    def providers(self) -> list[tuple[str, str]]:
        """(name, label) of each configured issuer, for the sign-in page."""
        return [(p.name, p.label) for p in self._configs.values()]

    def start(self, name: str, redirect_uri: str) -> tuple[str, PendingSignIn]:
        party = self._parties.get(name)
        if party is None:
            raise SsoRefused(f"no provider named {name!r}")
        return party.start(redirect_uri)

    def finish(self, session: Session, pending: PendingSignIn | None, name: str, params: dict[str, str]) -> User:
        """The account the provider's answer signs in, or SsoRefused (nothing written but the audit)."""
        if pending is None or pending.provider != name:
            raise SsoRefused("no sign-in was started in this browser (or it expired)")
        if not hmac.compare_digest(pending.state, params.get("state") or ""):
            raise SsoRefused("state mismatch")
        if params.get("error"):
            raise SsoRefused(f"the provider answered {params['error'][:100]!r}")
        code = params.get("code") or ""
        if not code or len(code) > 2048:
            raise SsoRefused("the provider's answer has no code")
        identity = self._parties[name].finish(pending, code)
        return self._account(session, self._configs[name], identity)

    def refused(self, session: Session, name: str, refusal: SsoRefused) -> None:
        self._audit.record(session, AuditEvent.SSO_REFUSED, Actor.system(f"sso:{name}"), "sso_provider", name,
                           "staff single sign-on", {"reason": refusal.reason,
                                                     **({"subject": refusal.subject} if refusal.subject else {})})

    def _account(self, session: Session, config: OidcProvider, identity: VerifiedIdentity) -> User:
        role = _mapped_role(config, identity.claims.get(config.role_claim))
        actor = Actor.system(f"sso:{config.name}")
        user = session.execute(select(User).where(User.sso_issuer == identity.issuer,
                                                  User.sso_subject == identity.subject)).scalar_one_or_none()
        if user is None:
            username = str(identity.claims.get(config.username_claim) or "").strip().lower()
            user = self._users.get(session, username) if username else None
            if user is not None:
                if user.sso_subject is not None:
                    raise SsoRefused(f"the account {username!r} is linked to another identity", identity.subject)
                if role is None:
                    raise SsoRefused(f"no role: the claim {config.role_claim!r} holds no mapped value", identity.subject)
                user.sso_issuer, user.sso_subject = identity.issuer, identity.subject
                self._audit.record(session, AuditEvent.USER_SSO_LINK, actor, "user", str(user.id),
                                   "link single sign-on identity", {"username": user.username, "provider": config.name,
                                                                     "subject": identity.subject})
            elif config.create_accounts and role is not None and USERNAME_RE.match(username):
                new = self._users.create(session, actor, username=username, password=secrets.token_urlsafe(32),
                                         role=Role(role), display_name=_text(identity.claims.get("name")),
                                         email=_text(identity.claims.get("email")),
                                         reason=f"first single sign-on through {config.name}")
                user = new.user
                user.sso_issuer, user.sso_subject = identity.issuer, identity.subject
            else:
                raise SsoRefused("no Balise account for this identity" if role is not None
                                 else f"no role: the claim {config.role_claim!r} holds no mapped value",
                                 identity.subject)
        if not user.active:
            self._users.record_login(session, user, False, f"sso {config.name}: account disabled")
            raise SsoRefused("account disabled", identity.subject)
        if role is None:
            self._users.record_login(session, user, False, f"sso {config.name}: no mapped role")
            raise SsoRefused(f"no role: the claim {config.role_claim!r} holds no mapped value", identity.subject)
        if user.role != role:
            old, user.role = user.role, role
            self._audit.record(session, AuditEvent.USER_ROLE_CHANGE, actor, "user", str(user.id), "change staff role",
                               {"username": user.username, "from": old, "to": role,
                                "reason": f"the identity provider's claim {config.role_claim!r}"})
        self._users.record_login(session, user, True, f"sso {config.name}")
        return user


def _mapped_role(config: OidcProvider, value: Any) -> str | None:
    held = {str(v) for v in value} if isinstance(value, (list, tuple)) else ({str(value)} if value else set())
    for claim_value, role in config.roles.items():
        if claim_value in held:
            return role
    return None


def _text(value: Any) -> str | None:
    return str(value)[:200] if isinstance(value, str) and value.strip() else None
