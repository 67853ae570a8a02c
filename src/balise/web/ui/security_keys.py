"""Security keys (WebAuthn) on the staff pages: /ui/account/keys (register, list, remove) and
/ui/login/key, the second step of sign-in for a user with a key (docs/security.md#security-keys).

The browser's part is static/security-keys.js: it reads the options from the form's
data-options attribute, asks the authenticator, and posts its answer as an ordinary form field,
so the forms go through the same CSRF guard as every other. A refused answer gets one generic
message; the reason is in the audit trail (user:security_key_refused)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from balise.accounts.actors import Actor
from balise.accounts.security_keys import MAX_NAME, KeyRefused, SecurityKeyError
from balise.adapters.db.models import User
from balise.web.ui.routes import ANY_STAFF, N_, PENDING_TTL_SECONDS, render, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)

GENERIC = N_("The security key was not accepted. Try again with a key registered to your account.")
TOO_MANY = N_("Too many attempts. Try again in a minute.")
# A credential JSON from a browser is a few kilobytes.
MAX_CREDENTIAL = 64 * 1024


def _keys_page(request: Request, user: User, status: int = 200, **context: object) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        keys = balise.security_keys.active(session, user)
        options = balise.security_keys.registration_options(session, user)
    return render(request, "account_keys.html", status=status, keys=keys, options=options,
                  required=balise.security_keys.required_for(user), exposure=None, **context)


@router.get("/account/keys")
def keys_page(request: Request, added: str = "", removed: str = "",
              user: User = Depends(require_role(*ANY_STAFF))) -> HTMLResponse:
    msg = N_("The security key was added.") if added == "1" else N_("The security key was removed.") if removed == "1" \
        else None
    return _keys_page(request, user, msg=msg)


@router.post("/account/keys")
def add_key(request: Request, name: str = Form("", max_length=200), credential: str = Form("", max_length=MAX_CREDENTIAL),
            user: User = Depends(require_role(*ANY_STAFF))) -> Response:
    balise = request.app.state.balise
    allowed, _ = request.app.state.login_limiter.hit("key-add", str(user.id))
    if not allowed:
        return _keys_page(request, user, status=429, error=TOO_MANY)
    words = " ".join(name.split())
    if not words:
        return _keys_page(request, user, status=400, error=N_("Give the key a name, for example where you keep it."))
    if len(words) > MAX_NAME:
        return _keys_page(request, user, status=400, error=N_("The key's name is longer than 100 characters."))
    refused = False
    with balise.db.transaction() as session:
        try:
            balise.security_keys.register(session, session.merge(user), words, credential)
        except (SecurityKeyError, KeyRefused):
            refused = True
    if refused:
        return _keys_page(request, user, status=400, error=GENERIC)
    return RedirectResponse("/ui/account/keys?added=1", status_code=303)


@router.post("/account/keys/{key_id}/remove")
def remove_key(request: Request, key_id: str, password: str = Form("", max_length=1024),
               user: User = Depends(require_role(*ANY_STAFF))) -> Response:
    """Removing a key needs the account's password: a session left open is not enough to take
    a key away (or to make room for an attacker's)."""
    balise = request.app.state.balise
    allowed, _ = request.app.state.login_limiter.hit("key-remove", str(user.id))
    if not allowed:
        return _keys_page(request, user, status=429, error=TOO_MANY)
    problem = None
    with balise.db.transaction() as session:
        checked = balise.users.check_password(session, user.username, password)
        if checked is None:
            balise.users.record_login(session, session.merge(user), False, "password to remove a security key")
            problem = N_("Wrong password: the key was not removed.")
        else:
            try:
                balise.security_keys.remove(session, Actor.staff(str(user.id), user.username), checked, key_id,
                                            "removed by its user")
            except SecurityKeyError:
                problem = N_("There is no such key on your account.")
    if problem:
        return _keys_page(request, user, status=400, error=problem)
    return RedirectResponse("/ui/account/keys?removed=1", status_code=303)


def _pending(request: Request) -> str | None:
    balise = request.app.state.balise
    pending = request.session.get("pending_user")
    started = request.session.get("pending_at", 0)
    if not pending or balise.clock().timestamp() - started > PENDING_TTL_SECONDS:
        return None
    return str(pending)


def _key_form(request: Request, pending: str, status: int = 200, error: str | None = None) -> Response:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        user = session.get(User, uuid.UUID(pending))
        if user is None or not user.active or not balise.security_keys.has_key(session, user):
            request.session.clear()
            if error:
                # (The last key was removed meanwhile: the same answer as any refused key.)
                return render(request, "login.html", status=status, user=None, error=error, enrolled=False)
            return RedirectResponse("/ui/login", status_code=303)
        options = balise.security_keys.authentication_options(session, user)
        # TOTP stays an alternative unless the role must use a key; a single sign-on has no TOTP step.
        totp_allowed = not balise.security_keys.required_for(user) and not request.session.get("pending_sso")
    return render(request, "login_key.html", status=status, user=None, error=error, options=options,
                  totp_allowed=totp_allowed)


@router.get("/login/key")
def key_form(request: Request) -> Response:
    pending = _pending(request)
    if pending is None:
        request.session.clear()
        return RedirectResponse("/ui/login", status_code=303)
    return _key_form(request, pending)


@router.post("/login/key")
def key_sign_in(request: Request, credential: str = Form("", max_length=MAX_CREDENTIAL)) -> Response:
    balise = request.app.state.balise
    pending = _pending(request)
    if pending is None:
        request.session.clear()
        return RedirectResponse("/ui/login", status_code=303)
    client = request.client.host if request.client else "unknown"
    allowed, _ = request.app.state.login_limiter.hit("key", client, pending)
    if not allowed:
        return _key_form(request, pending, status=429, error=TOO_MANY)
    with balise.db.transaction() as session:
        user = session.get(User, uuid.UUID(pending))
        ok = False
        if user is not None and user.active:
            try:
                balise.security_keys.authenticate(session, user, credential)
                ok = True
            except KeyRefused:
                ok = False
            balise.users.record_login(session, user, ok, "security key")
    if not ok:
        return _key_form(request, pending, status=401, error=GENERIC)
    request.session.clear()
    request.session["user_id"] = pending
    request.session["login_at"] = balise.clock().timestamp()
    return RedirectResponse("/ui/", status_code=303)
