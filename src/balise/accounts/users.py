"""Staff accounts: argon2id passwords and a TOTP second factor."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import User
from balise.adapters.secretbox import SecretBox
from balise.domain.audit import AuditEvent
from balise.domain.model import Role
from balise.governance.audit import AuditTrail

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
ISSUER = "Balise"


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class NewUser:
    user: User
    totp_secret: str
    provisioning_uri: str


class Users:
    def __init__(
        self, audit: AuditTrail, totp_box: SecretBox, clock: Callable[[], datetime]
    ) -> None:
        self._audit = audit
        self._box = totp_box
        self._clock = clock
        # argon2id with the library's current recommended parameters (RFC 9106 low-memory).
        self._hasher = PasswordHasher()
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
            "create staff account", {"username": username, "role": user.role},
        )
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
        return NewUser(user, secret, uri)

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
