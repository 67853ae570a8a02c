"""Staff web pages: sign-in with password and TOTP, a signed-in home, and the admin and
auditor pages that exist so far. The analyst workbench comes with triage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Report,
    ReportClaim,
    User,
)
from balise.domain.audit import AuditEvent
from balise.domain.exposure import DEFAULT_BREAK_AFTER_REVEALS, break_after
from balise.governance.checkpoints import last_checkpoint
from balise.domain.model import Role
from balise.web.ui import i18n, labels


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


DEFAULT_PREFERENCES = {"blur": 24, "greyscale": True, "locale": None, "break_minutes": 50, "reveal_seconds": 10,
                       "break_after_reveals": DEFAULT_BREAK_AFTER_REVEALS}
# Who reveals items, and so has an exposure counter (docs/workbench.md, "Wellness").
REVEALERS = (Role.ANALYST.value, Role.SENIOR_ANALYST.value)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
labels.install(TEMPLATES.env)
router = APIRouter(prefix="/ui", include_in_schema=False)

PENDING_TTL_SECONDS = 300


class NotSignedIn(Exception):
    pass


class Forbidden(Exception):
    pass


class SecurityKeyRequired(Exception):
    """The user's role must sign in with a security key and they have none yet: every page but
    the one to register it is closed to them (BALISE_WEBAUTHN_REQUIRED_ROLES)."""


# What a user who must register a key may still open.
KEY_ENROLMENT_PATHS = ("/ui/account/keys",)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    token = request.scope.get("csrftoken")
    context.setdefault("user", getattr(request.state, "user", None))
    user = context["user"]
    preferences = (user.preferences if user is not None else None) or {}
    locale = i18n.negotiate(request.headers.get("accept-language"), preferences.get("locale"))
    i18n.activate(locale)
    context.setdefault("locale", locale)
    if template == "login.html":
        context.setdefault("sso_providers", request.app.state.balise.sso.providers())
    context.setdefault("prefs", {**DEFAULT_PREFERENCES, **preferences})
    # (Called inside a write transaction, a route passes exposure=None: SQLite would wait on it.)
    if user is not None and user.role in REVEALERS and "exposure" not in context:
        context["exposure"] = exposure_of(request, user)
        context["break_due"] = context["exposure"].break_due(break_after(context["prefs"]))
    return TEMPLATES.TemplateResponse(
        request, template, {"csrftoken": token() if token else "", **context}, status_code=status
    )


# Refusals of a form body by the guard in front of the routes (web/forms.py), by its code.
REFUSALS = {
    "too_large": (N_("Form too large"), N_("The form is larger than the limit of %(limit)s bytes; nothing was saved.")),
    "nul_character": (N_("Character not allowed"),
                      N_("The field %(field)s contains a NUL character, which cannot be stored; nothing was saved.")),
    "malformed_form": (N_("Form not readable"), N_("The form could not be read; nothing was saved.")),
    "csrf_failed": (N_("Form expired"), N_("The form's security token is missing or wrong; reload the page and "
                                           "send it again. Nothing was saved.")),
}


def refused(request: Request, refusal: Any) -> HTMLResponse:
    """The page for a form body the guard refused (web/forms.py)."""
    i18n.activate(i18n.negotiate(request.headers.get("accept-language"), None))
    title, message = REFUSALS[refusal.code]
    text = i18n.gettext(message) % {"limit": refusal.limit, "field": repr(refusal.field)}
    return render(request, "error.html", status=refusal.status, title=title, message=text)


def exposure_of(request: Request, user: User) -> Any:
    """The user's reveals today, this week and since their last break (header and reminder)."""
    balise = request.app.state.balise
    since = None
    dismissed = (user.preferences or {}).get("break_dismissed_at")
    if dismissed:
        try:
            since = datetime.fromisoformat(dismissed)
        except (TypeError, ValueError):
            since = None
    with balise.db.sessions() as session:
        return balise.exposure.count(session, user.id, since)


def current_user(request: Request) -> User:
    balise = request.app.state.balise
    user_id = request.session.get("user_id")
    login_at = request.session.get("login_at", 0)
    if not user_id or balise.clock().timestamp() - login_at > balise.settings.session_max_age_seconds:
        request.session.clear()
        raise NotSignedIn()
    with balise.db.sessions() as session:
        user = session.get(User, uuid.UUID(user_id))
    if user is None or not user.active:
        request.session.clear()
        raise NotSignedIn()
    request.state.user = user
    if balise.security_keys.required_for(user) and not request.url.path.startswith(KEY_ENROLMENT_PATHS):
        with balise.db.sessions() as session:
            if not balise.security_keys.has_key(session, user):
                raise SecurityKeyRequired()
    return user


def require_role(*roles: Role) -> Callable[..., User]:
    allowed = {r.value for r in roles}

    def dependency(user: User = Depends(current_user)) -> User:
        if user.role not in allowed:
            raise Forbidden()
        return user

    return dependency


ANY_STAFF = tuple(Role)


@router.get("/login")
def login_form(request: Request, enrolled: str = "") -> HTMLResponse:
    return render(request, "login.html", error=None, enrolled=enrolled == "1")


@router.post("/login")
def login(request: Request, username: str = Form(max_length=64), password: str = Form(max_length=1024)) -> Response:
    balise = request.app.state.balise
    client = request.client.host if request.client else "unknown"
    allowed, retry = request.app.state.login_limiter.hit("login", client, username.lower())
    if not allowed:
        return render(request, "login.html", status=429, error=N_("Too many attempts. Try again in a minute."))
    with balise.db.transaction() as session:
        user = balise.users.check_password(session, username, password)
        if user is None:
            known = balise.users.get(session, username)
            if known is not None:
                # A disabled account gets the same answer as a wrong password (no hint either way);
                # only the audit trail says why.
                balise.users.record_login(session, known, False, "password" if known.active else "account disabled")
            failed = True
        else:
            failed = False
            request.session.clear()
            request.session["pending_user"] = str(user.id)
            request.session["pending_at"] = balise.clock().timestamp()
            with_key = balise.security_keys.has_key(session, user)
    if failed:
        return render(request, "login.html", status=401, error=N_("Unknown user or wrong password."))
    # A user with a security key is asked for it first (TOTP stays an alternative unless their
    # role must use a key).
    return RedirectResponse("/ui/login/key" if with_key else "/ui/login/totp", status_code=303)


def key_instead_of_totp(request: Request, pending: str) -> bool:
    """The pending sign-in must use a security key rather than a TOTP code: its role requires
    one and it has one, or it comes from single sign-on (which has no TOTP step)."""
    balise = request.app.state.balise
    if request.session.get("pending_sso"):
        return True
    with balise.db.sessions() as session:
        user = session.get(User, uuid.UUID(pending))
        return user is not None and balise.security_keys.required_for(user) and balise.security_keys.has_key(session, user)


@router.get("/login/totp")
def totp_form(request: Request) -> Response:
    pending = request.session.get("pending_user")
    if not pending:
        return RedirectResponse("/ui/login", status_code=303)
    if key_instead_of_totp(request, pending):
        return RedirectResponse("/ui/login/key", status_code=303)
    return render(request, "totp.html", error=None)


@router.post("/login/totp")
def totp(request: Request, code: str = Form(max_length=16)) -> Response:
    balise = request.app.state.balise
    pending = request.session.get("pending_user")
    started = request.session.get("pending_at", 0)
    if not pending or balise.clock().timestamp() - started > PENDING_TTL_SECONDS:
        request.session.clear()
        return RedirectResponse("/ui/login", status_code=303)
    if key_instead_of_totp(request, pending):
        return RedirectResponse("/ui/login/key", status_code=303)
    allowed, retry = request.app.state.login_limiter.hit("totp", pending)
    if not allowed:
        return render(request, "totp.html", status=429, error=N_("Too many attempts. Try again in a minute."))
    with balise.db.transaction() as session:
        user = session.get(User, uuid.UUID(pending))
        ok = user is not None and user.active and balise.users.check_totp(user, code)
        if user is not None:
            balise.users.record_login(session, user, ok, "totp")
    if not ok:
        return render(request, "totp.html", status=401, error=N_("That code is not valid. Enter the current 6-digit code."))
    request.session.clear()
    request.session["user_id"] = pending
    request.session["login_at"] = balise.clock().timestamp()
    return RedirectResponse("/ui/", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    balise = request.app.state.balise
    user_id = request.session.get("user_id")
    if user_id:
        with balise.db.transaction() as session:
            balise.audit.record(session, AuditEvent.USER_LOGOUT, Actor.staff(user_id), "user", user_id, "staff sign-out")
    request.session.clear()
    return RedirectResponse("/ui/login", status_code=303)


@router.get("/")
def home(request: Request, user: User = Depends(require_role(*ANY_STAFF))) -> HTMLResponse:
    """Each role's home page (web/ui/homes.py, docs/workbench.md "Home pages")."""
    from balise.web.ui import homes

    balise = request.app.state.balise
    now = balise.clock()
    role = user.role
    context: dict[str, Any] = {"now": now, "short": 8}
    if role == Role.AUDITOR.value:
        # Reading the trail is itself recorded, as on the audit page.
        with balise.db.transaction() as session:
            context.update(homes.auditor(balise, session))
            balise.audit.record(session, AuditEvent.AUDIT_READ, Actor.staff(str(user.id), user.username), "audit",
                                "trail", "auditor home page", {"events": len(context["access"])})
    with balise.db.sessions() as session:
        by_state = dict(session.execute(select(Report.state, func.count()).group_by(Report.state)).all())
        # For analysts: their claims; for senior analysts, the items waiting for their four eyes.
        my_claims = session.execute(select(func.count()).select_from(ReportClaim).where(
            ReportClaim.user_id == user.id, ReportClaim.expires_at > now)).scalar_one()
        awaiting = balise.assessment.waiting_for(session, user)
        if role in (Role.ANALYST.value, Role.SENIOR_ANALYST.value):
            context.update(homes.assessor(balise, session, user, now))
        if role == Role.SENIOR_ANALYST.value:
            context.update(homes.senior(session, user))
        if role == Role.LE_LIAISON.value:
            context.update(homes.liaison(balise, session, now))
        if role == Role.ADMIN.value:
            context.update(homes.admin(session, now))
    return render(request, "home.html", by_state=by_state, session_hours=balise.settings.session_max_age_seconds // 3600,
                  can_queue=role in (Role.ANALYST.value, Role.SENIOR_ANALYST.value), my_claims=my_claims,
                  awaiting=awaiting, senior=role == Role.SENIOR_ANALYST.value, role=role, **context)


@router.get("/audit")
def audit_page(request: Request, user: User = Depends(require_role(Role.AUDITOR, Role.ADMIN))) -> HTMLResponse:
    """The audit trail, filtered by who, what, on what and when, a page at a time; each view is
    itself recorded (audit:read, with its filters)."""
    from balise.web.ui import audit_filters, homes

    balise = request.app.state.balise
    actor = Actor.staff(str(user.id), user.username)
    problem, status, events, total = None, 200, [], 0
    try:
        filters = audit_filters.parse(request.query_params)
    except audit_filters.BadFilter as exc:
        problem, status, filters = exc.problem, 400, audit_filters.AuditFilters()
    with balise.db.transaction() as session:
        result = balise.audit.verify(session)
        if problem is None:
            events, total = audit_filters.page_of(session, filters)
        balise.audit.record(session, AuditEvent.AUDIT_READ, actor, "audit", "trail", "audit review page",
                            {**filters.recorded(), "shown": len(events)} if problem is None else {"refused": True})
        checkpoint = last_checkpoint(session)
        names = homes.staff_names(session, events)
        subject_types = audit_filters.subject_types(session)
    pages = max(1, -(-total // audit_filters.PAGE_SIZE))
    shown = audit_filters.shown_again(request.query_params) if problem else {
        "actor": filters.actor, "subject_type": filters.subject_type, "subject": filters.subject,
        "from": filters.since.isoformat() if filters.since else "", "to": filters.until.isoformat() if filters.until else ""}
    return render(request, "audit.html", status=status, result=result, events=events, checkpoint=checkpoint,
                  checkpoints_on=balise.settings.checkpoint_dir is not None, filters=filters, shown=shown,
                  problem=problem, total=total, pages=pages, names=names, subject_types=subject_types,
                  event_types=audit_filters.EVENT_TYPES, page_size=audit_filters.PAGE_SIZE)


@router.get("/audit.csv")
def audit_csv(request: Request, user: User = Depends(require_role(Role.AUDITOR, Role.ADMIN))) -> Response:
    """The filtered audit trail as CSV (the page's view, every page, at most CSV_LIMIT rows);
    the export is itself recorded (audit:read, with its filters and row count)."""
    from balise.web.ui import audit_filters, homes

    balise = request.app.state.balise
    try:
        filters = audit_filters.parse(request.query_params)
    except audit_filters.BadFilter as exc:
        i18n.activate(i18n.negotiate(request.headers.get("accept-language"), (user.preferences or {}).get("locale")))
        return Response(i18n.gettext(exc.problem.message) % exc.problem.values, status_code=400,
                        media_type="text/plain; charset=utf-8")
    i18n.activate(i18n.negotiate(request.headers.get("accept-language"), (user.preferences or {}).get("locale")))
    with balise.db.transaction() as session:
        text, rows = audit_filters.csv_of(session, filters, labels.label, homes.staff_names)
        balise.audit.record(session, AuditEvent.AUDIT_READ, Actor.staff(str(user.id), user.username), "audit", "trail",
                            "audit trail export (CSV)", {**filters.recorded(), "export": "csv", "rows": rows})
    stamp = balise.clock().strftime("%Y%m%d-%H%M%S")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="balise-audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})
