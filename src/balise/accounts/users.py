"""Staff accounts: argon2id passwords and a TOTP second factor."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import EnrolmentLink, SecurityKey, User
from balise.adapters.secretbox import SecretBox
from balise.domain.audit import AuditEvent
from balise.domain.model import ActorType, Role
from balise.governance.audit import AuditTrail

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
ISSUER = "Balise"


class UserError(ValueError):
    pass


class EnrolmentError(UserError):
    """An enrolment link that is unknown, used, expired or of a disabled account: one answer
    for all, so a link cannot be probed."""

    def __init__(self) -> None:
        super().__init__("this enrolment link is not valid: it may have expired or been used already")


# Why an enrolment link was issued: a new account chooses its password and enrols a second
# factor; after a reset, the user confirms their password and enrols a new second factor.
ENROL_ACCOUNT = "account"
ENROL_SECOND_FACTOR = "second_factor"


@dataclass(frozen=True)
class IssuedLink:
    """An enrolment link's token, shown once to the administrator (only its SHA-256 is kept)."""

    user: User
    token: str
    purpose: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenLink:
    """What the enrolment page shows for a valid link: the account and the second factor to enrol."""

    user: User
    purpose: str
    expires_at: datetime
    totp_secret: str
    provisioning_uri: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewUser:
    user: User
    totp_secret: str
    provisioning_uri: str


class Users:
    def __init__(
        self, audit: AuditTrail, totp_box: SecretBox, clock: Callable[[], datetime], enrolment_hours: int = 72,
        hash_cost: Literal["standard", "minimal"] = "standard",
    ) -> None:
        self._audit = audit
        self._enrolment_ttl = timedelta(hours=enrolment_hours)
        self._box = totp_box
        self._clock = clock
        # argon2id with the library's current recommended parameters (RFC 9106 low-memory);
        # "minimal" (~0.1 ms instead of ~110 ms a hash) only lets test suites create many
        # accounts; Settings refuses it outside development.
        self._hasher = (PasswordHasher.from_parameters(profiles.CHEAPEST) if hash_cost == "minimal"
                        else PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY))
        # A real hash to verify against for unknown users, so timing does not reveal them.
        self._dummy = self._hasher.hash("not-a-real-password-for-timing")

    def create(
        self,
        session: Session,
        actor: Actor,
        *,
        username: str,
        password: str,
        role: Role,
        display_name: str | None = None,
        email: str | None = None,
        is_demo: bool = False,
        reason: str | None = None,
    ) -> NewUser:
        if not USERNAME_RE.match(username):
            raise UserError(
                "username must be 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
            )
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password must have at least {MIN_PASSWORD} characters")
        if session.execute(select(User).where(User.username == username)).first():
            raise UserError(f"a user named {username!r} already exists")
        secret = pyotp.random_base32()
        user = User(
            username=username, display_name=display_name, email=email, role=Role(role).value,
            password_hash=self._hasher.hash(password), totp_secret_enc=self._box.seal(secret),
            is_demo=is_demo,
        )
        session.add(user)
        session.flush()
        self._audit.record(
            session, AuditEvent.USER_CREATE, actor, "user", str(user.id),
            "create staff account",
            {"username": username, "role": user.role, **({"reason": reason} if reason else {})},
        )
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
        return NewUser(user, secret, uri)

    # Enrolment links (the staff UI's way to create accounts and reset second factors): the
    # administrator never sees a password or a TOTP secret; the user opens the link once, before
    # it expires, chooses a password (a new account) or confirms theirs (a reset), and proves the
    # new second factor with a current code.

    def invite(self, session: Session, actor: Actor, *, username: str, role: Role | str, reason: str,
               display_name: str | None = None, email: str | None = None) -> IssuedLink:
        """A new account that cannot sign in until its user enrols through the returned link."""
        reason = _reason(reason)
        try:
            role = Role(role)
        except ValueError:
            raise UserError(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
        # Nobody knows this password: the account is unusable until it is enrolled.
        new = self.create(session, actor, username=username, password=secrets.token_urlsafe(32), role=role,
                          display_name=(display_name or "").strip() or None, email=(email or "").strip() or None,
                          reason=reason)
        return self._issue_link(session, actor, new.user, ENROL_ACCOUNT, reason)

    def reset_second_factor(self, session: Session, actor: Actor, username: str, reason: str) -> IssuedLink:
        """The old second factor stops working at once; the user enrols a new one through the link."""
        new = self.reset_totp(session, actor, username, reason)
        return self._issue_link(session, actor, new.user, ENROL_SECOND_FACTOR, _reason(reason))

    def pending_enrolments(self, session: Session) -> dict[object, datetime]:
        """Users with an unused, unexpired link, and when it expires."""
        now = self._clock()
        rows = session.execute(select(EnrolmentLink.user_id, EnrolmentLink.expires_at).where(
            EnrolmentLink.used_at.is_(None), EnrolmentLink.expires_at > now)).all()
        return {user_id: expires for user_id, expires in rows}

    def open_link(self, session: Session, token: str) -> OpenLink:
        link, user = self._valid_link(session, token)
        secret = self._box.open(user.totp_secret_enc)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
        return OpenLink(user, link.purpose, link.expires_at, secret, uri)

    def enrol(self, session: Session, token: str, *, password: str, password_again: str = "", code: str) -> User:
        """Spend the link: set the password (a new account) or check it (a reset), and accept the
        second factor on a current code. Anything wrong raises before the link is spent."""
        link, user = self._valid_link(session, token, lock=True)
        if link.purpose == ENROL_ACCOUNT:
            if len(password) < MIN_PASSWORD:
                raise UserError(f"password must have at least {MIN_PASSWORD} characters")
            if password != password_again:
                raise UserError("the two passwords differ")
        else:
            try:
                self._hasher.verify(user.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                raise UserError("wrong password") from None
        if not self.check_totp(user, code):
            raise UserError("that code is not valid; enter the current 6-digit code of your authenticator app")
        now = self._clock()
        spent = session.execute(update(EnrolmentLink).where(
            EnrolmentLink.id == link.id, EnrolmentLink.used_at.is_(None), EnrolmentLink.expires_at > now,
        ).values(used_at=now)).rowcount
        if spent != 1:
            raise EnrolmentError()
        if link.purpose == ENROL_ACCOUNT:
            user.password_hash = self._hasher.hash(password)
        self._audit.record(session, AuditEvent.USER_ENROL, Actor.staff(str(user.id), user.username), "user",
                           str(user.id), "enrol through a link", {"username": user.username, "purpose": link.purpose})
        return user

    def _issue_link(self, session: Session, actor: Actor, user: User, purpose: str, reason: str) -> IssuedLink:
        now = self._clock()
        # A new link replaces any earlier unused one of the same account.
        session.execute(update(EnrolmentLink).where(EnrolmentLink.user_id == user.id,
                                                    EnrolmentLink.used_at.is_(None)).values(expires_at=now))
        token = secrets.token_urlsafe(32)
        link = EnrolmentLink(user_id=user.id, token_hash=_token_hash(token), purpose=purpose, created_at=now,
                             expires_at=now + self._enrolment_ttl)
        session.add(link)
        session.flush()
        self._record(session, AuditEvent.USER_ENROLMENT_LINK, actor, user, "issue enrolment link", reason,
                     {"purpose": purpose, "expires_at": link.expires_at.isoformat(timespec="seconds")})
        return IssuedLink(user, token, purpose, link.expires_at)

    def _valid_link(self, session: Session, token: str, lock: bool = False) -> tuple[EnrolmentLink, User]:
        if not token or len(token) > 100:
            raise EnrolmentError()
        query = select(EnrolmentLink, User).join(User, User.id == EnrolmentLink.user_id).where(
            EnrolmentLink.token_hash == _token_hash(token))
        row = session.execute(query.with_for_update(of=EnrolmentLink) if lock else query).first()
        if row is None:
            raise EnrolmentError()
        link, user = row
        if link.used_at is not None or link.expires_at <= self._clock() or not user.active:
            raise EnrolmentError()
        return link, user

    def check_password(self, session: Session, username: str, password: str) -> User | None:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            try:
                self._hasher.verify(self._dummy, password)
            except VerificationError:
                pass
            return None
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if self._hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(password)
        return user

    def check_totp(self, user: User, code: str) -> bool:
        """Accept the current code (or the one before/after, for clock drift), never the
        same time step twice."""
        code = (code or "").strip().replace(" ", "")
        if not re.fullmatch(r"\d{6}", code):
            return False
        totp = pyotp.TOTP(self._box.open(user.totp_secret_enc))
        now = self._clock()
        step_now = int(now.timestamp()) // totp.interval
        for step in (step_now, step_now - 1, step_now + 1):
            if totp.at(step * totp.interval) == code:
                if user.totp_last_step is not None and step <= user.totp_last_step:
                    return False
                user.totp_last_step = step
                return True
        return False

    def current_totp(self, user: User) -> str:
        """For development and demos only (the CLI refuses it elsewhere)."""
        return pyotp.TOTP(self._box.open(user.totp_secret_enc)).at(self._clock())

    def record_login(self, session: Session, user: User, ok: bool, detail: str) -> None:
        if ok:
            user.last_login_at = self._clock()
        self._audit.record(
            session, AuditEvent.USER_LOGIN if ok else AuditEvent.USER_LOGIN_FAILED,
            Actor.staff(str(user.id), user.username), "user", str(user.id),
            "staff sign-in", {"step": detail},
        )

    def get(self, session: Session, username: str) -> User | None:
        return session.execute(select(User).where(User.username == username)).scalar_one_or_none()

    # Administration (`balise user …`; docs/security.md). Every change needs a reason, is refused
    # with a UserError before anything is written, and is audited with the actor and the reason.
    # Sessions need no revoking here: the staff UI reloads the user on every request
    # (web/ui/routes.py current_user), so a disabled account is signed out and a new role applies
    # at its next request.

    def list_all(self, session: Session) -> list[User]:
        return list(session.execute(select(User).order_by(User.username)).scalars())

    def disable(self, session: Session, actor: Actor, username: str, reason: str) -> User:
        reason = _reason(reason)
        user = self._target(session, username)
        if not user.active:
            raise UserError(f"{username!r} is already disabled")
        if _is_self(actor, user):
            raise UserError("you cannot disable your own account")
        if user.role == Role.ADMIN and self._other_active_admins(session, user) == 0:
            raise UserError(f"{username!r} is the last active admin; make another admin first")
        user.active = False
        self._record(session, AuditEvent.USER_DISABLE, actor, user, "disable staff account", reason)
        return user

    def enable(self, session: Session, actor: Actor, username: str, reason: str) -> User:
        reason = _reason(reason)
        user = self._target(session, username)
        if user.active:
            raise UserError(f"{username!r} is already enabled")
        user.active = True
        self._record(session, AuditEvent.USER_ENABLE, actor, user, "enable staff account", reason)
        return user

    def set_role(self, session: Session, actor: Actor, username: str, role: Role | str, reason: str) -> User:
        reason = _reason(reason)
        try:
            new_role = Role(role)
        except ValueError:
            raise UserError(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
        user = self._target(session, username)
        old = user.role
        if old == new_role:
            raise UserError(f"{username!r} already has the role {new_role.value}")
        if old == Role.ADMIN:
            if _is_self(actor, user):
                raise UserError("you cannot lower your own role")
            if user.active and self._other_active_admins(session, user) == 0:
                raise UserError(f"{username!r} is the last active admin; make another admin first")
        user.role = new_role.value
        self._record(session, AuditEvent.USER_ROLE_CHANGE, actor, user, "change staff role", reason,
                     {"from": old, "to": new_role.value})
        return user

    def reset_totp(self, session: Session, actor: Actor, username: str, reason: str) -> NewUser:
        """A new TOTP secret, returned once (as `create` does); the old authenticator stops
        working at once."""
        reason = _reason(reason)
        user = self._target(session, username)
        secret = pyotp.random_base32()
        user.totp_secret_enc = self._box.seal(secret)
        user.totp_last_step = None
        self._record(session, AuditEvent.USER_RESET_TOTP, actor, user, "reset second factor", reason)
        # The user's security keys go with it: a lost key is recovered by this reset.
        now = self._clock()
        for key in session.execute(select(SecurityKey).where(SecurityKey.user_id == user.id,
                                                             SecurityKey.removed_at.is_(None))).scalars():
            key.removed_at = now
            self._record(session, AuditEvent.USER_SECURITY_KEY_REMOVE, actor, user, "remove security key", reason,
                         {"key": str(key.id), "name": key.name})
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
        return NewUser(user, secret, uri)

    def _target(self, session: Session, username: str) -> User:
        user = self.get(session, username)
        if user is None:
            raise UserError(f"no user {username!r}")
        return user

    def _other_active_admins(self, session: Session, user: User) -> int:
        return len(session.execute(
            select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id)
        ).all())

    def _record(self, session: Session, event: AuditEvent, actor: Actor, user: User, purpose: str,
                reason: str, extra: dict[str, str] | None = None) -> None:
        self._audit.record(session, event, actor, "user", str(user.id), purpose,
                           {"username": user.username, "reason": reason, **(extra or {})})


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise UserError("a reason is required (--reason) and cannot be empty")
    return reason


def _is_self(actor: Actor, user: User) -> bool:
    return actor.type == ActorType.STAFF and actor.id == str(user.id)
