"""Administration in the staff UI (administrators): staff accounts, organisations with their
contact points, API keys and /ispws credentials; and the enrolment page a new user (or one
whose second factor was reset) opens from the single-use link an administrator gave them.

Every change goes through the same services as `balise user …` and `balise org …`
(accounts/users.py, accounts/organisations.py, intake/ispws.py), needs a reason, and is audited
with it. Secrets (an enrolment link, an API key, an /ispws password) are shown once, on the
answer to the form that made them, never in a URL or a redirect (docs/workbench.md,
"Administration").
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from balise.accounts.actors import Actor
from balise.accounts.organisations import CONTACT_PURPOSES, OrganisationError
from balise.accounts.users import EnrolmentError, UserError
from balise.adapters.db.models import Organisation, User
from balise.domain.model import OrgKind, Role, Scope
from balise.web.ui import i18n
from balise.web.ui.routes import N_, render, require_role
from balise.web.ui.workbench import _flash

router = APIRouter(prefix="/ui", include_in_schema=False)
ADMIN = require_role(Role.ADMIN)
NO_STORE = {"cache-control": "no-store, private"}


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _link(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/ui/enrol/{token}"


# -- staff accounts --------------------------------------------------------------------------


def _users_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        users = balise.users.list_all(session)
        pending = balise.users.pending_enrolments(session)
        key_counts = balise.security_keys.counts(session)
    context.setdefault("msg", request.query_params.get("msg", ""))
    context.setdefault("err", request.query_params.get("err", ""))
    response = render(request, "users.html", status=status, users=users, pending=pending, key_counts=key_counts,
                      roles=[r.value for r in Role], now=balise.clock(),
                      link_hours=balise.settings.enrolment_link_hours, **context)
    response.headers.update(NO_STORE)
    return response


@router.get("/users")
def users_page(request: Request, user: User = Depends(ADMIN)) -> HTMLResponse:
    return _users_page(request)


@router.post("/users")
def users_create(request: Request, user: User = Depends(ADMIN), username: str = Form("", max_length=64),
                 role: str = Form("", max_length=32), display_name: str = Form("", max_length=200),
                 email: str = Form("", max_length=320), reason: str = Form("", max_length=500)) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            issued = balise.users.invite(session, _actor(user), username=username.strip(), role=role, reason=reason,
                                         display_name=display_name, email=email)
            name = issued.user.username
    except UserError as exc:
        return _users_page(request, status=400, err=str(exc),
                           form={"username": username, "role": role, "display_name": display_name, "email": email})
    return _users_page(request, issued={"username": name, "link": _link(request, issued.token),
                                        "purpose": issued.purpose, "expires_at": issued.expires_at},
                       msg=i18n.gettext("Account %(name)s created.") % {"name": name})


def _user_action(request: Request, user: User, target: uuid.UUID, action: str, reason: str,
                 done: str, **kwargs: Any) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            found = session.get(User, target)
            if found is None:
                raise UserError("there is no such account")
            getattr(balise.users, action)(session, _actor(user), found.username, reason=reason, **kwargs)
            name = found.username
    except UserError as exc:
        return _flash("/ui/users", error=str(exc))
    return _flash("/ui/users", message=i18n.gettext(done) % {"name": name})


@router.post("/users/{user_id}/role")
def users_role(request: Request, user_id: uuid.UUID, user: User = Depends(ADMIN),
               role: str = Form("", max_length=32), reason: str = Form("", max_length=500)) -> Response:
    return _user_action(request, user, user_id, "set_role", reason, N_("Role of %(name)s changed."), role=role)


@router.post("/users/{user_id}/disable")
def users_disable(request: Request, user_id: uuid.UUID, user: User = Depends(ADMIN),
                  reason: str = Form("", max_length=500)) -> Response:
    return _user_action(request, user, user_id, "disable", reason, N_("%(name)s is disabled and signed out."))


@router.post("/users/{user_id}/enable")
def users_enable(request: Request, user_id: uuid.UUID, user: User = Depends(ADMIN),
                 reason: str = Form("", max_length=500)) -> Response:
    return _user_action(request, user, user_id, "enable", reason, N_("%(name)s can sign in again."))


@router.post("/users/{user_id}/second-factor")
def users_reset_second_factor(request: Request, user_id: uuid.UUID, user: User = Depends(ADMIN),
                              reason: str = Form("", max_length=500)) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            found = session.get(User, user_id)
            if found is None:
                raise UserError("there is no such account")
            issued = balise.users.reset_second_factor(session, _actor(user), found.username, reason)
            name = found.username
    except UserError as exc:
        return _flash("/ui/users", error=str(exc))
    return _users_page(request, issued={"username": name, "link": _link(request, issued.token),
                                        "purpose": issued.purpose, "expires_at": issued.expires_at},
                       msg=i18n.gettext("The second factor of %(name)s was reset.") % {"name": name})


# -- enrolment (no sign-in: the link is the credential) ---------------------------------------


def _enrol_page(request: Request, token: str, status: int = 200, error: str | None = None) -> HTMLResponse:
    balise = request.app.state.balise
    try:
        with balise.db.sessions() as session:
            found = balise.users.open_link(session, token)
    except EnrolmentError:
        response = render(request, "enrol.html", status=404, user=None, link=None, error=None)
    else:
        response = render(request, "enrol.html", status=status, user=None, link=found, error=error)
    response.headers.update(NO_STORE)
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.get("/enrol/{token}")
def enrol_form(request: Request, token: str) -> HTMLResponse:
    return _enrol_page(request, token)


@router.post("/enrol/{token}")
def enrol(request: Request, token: str, password: str = Form("", max_length=1024),
          password_again: str = Form("", max_length=1024), code: str = Form("", max_length=16)) -> Response:
    balise = request.app.state.balise
    client = request.client.host if request.client else "unknown"
    allowed, _ = request.app.state.login_limiter.hit("enrol", client, hashlib.sha256(token.encode()).hexdigest())
    if not allowed:
        return _enrol_page(request, token, status=429, error=i18n.gettext("Too many attempts. Try again in a minute."))
    try:
        with balise.db.transaction() as session:
            balise.users.enrol(session, token, password=password, password_again=password_again, code=code)
    except EnrolmentError:
        return _enrol_page(request, token)
    except UserError as exc:
        return _enrol_page(request, token, status=400, error=str(exc))
    return RedirectResponse("/ui/login?enrolled=1", status_code=303)


# -- organisations -----------------------------------------------------------------------------


@router.get("/organisations")
def organisations_page(request: Request, user: User = Depends(ADMIN), msg: str = "", err: str = "") -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        orgs = balise.organisations.list_all(session)
        live = balise.organisations.live_key_counts(session)
    return render(request, "organisations.html", orgs=orgs, live=live, kinds=[k.value for k in OrgKind],
                  msg=msg, err=err, form={})


@router.post("/organisations")
def organisations_create(request: Request, user: User = Depends(ADMIN), name: str = Form("", max_length=200),
                         kind: str = Form("", max_length=32), country: str = Form("", max_length=2),
                         contact_email: str = Form("", max_length=320),
                         reason: str = Form("", max_length=500)) -> Response:
    balise = request.app.state.balise
    try:
        if not reason.strip():
            raise OrganisationError("a reason is required and cannot be empty")
        try:
            org_kind = OrgKind(kind)
        except ValueError:
            raise OrganisationError(f"kind: one of {', '.join(k.value for k in OrgKind)}") from None
        with balise.db.transaction() as session:
            org = balise.organisations.create(session, _actor(user), name=name, kind=org_kind,
                                              country=country.strip().upper() or None,
                                              contact_email=contact_email.strip() or None)
            org_id = org.id
    except OrganisationError as exc:
        with balise.db.sessions() as session:
            orgs = balise.organisations.list_all(session)
            live = balise.organisations.live_key_counts(session)
        return render(request, "organisations.html", status=400, orgs=orgs, live=live,
                      kinds=[k.value for k in OrgKind], msg="", err=str(exc),
                      form={"name": name, "kind": kind, "country": country, "contact_email": contact_email})
    return _flash(f"/ui/organisations/{org_id}", message=i18n.gettext("Organisation created."))


def _org_page(request: Request, org_id: uuid.UUID, status: int = 200, **context: Any) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        org = balise.organisations.get(session, org_id)
        if org is None:
            return render(request, "error.html", status=404, title=i18n.gettext("Not found"),
                          message=i18n.gettext("There is no such organisation."))
        contacts = list(org.contact_points)
        keys = balise.organisations.keys_of(session, org.id)
        credentials = balise.ispws.credentials_of(session, org.id)
    context.setdefault("msg", request.query_params.get("msg", ""))
    context.setdefault("err", request.query_params.get("err", ""))
    response = render(request, "organisation.html", status=status, org=org, contacts=contacts, keys=keys,
                      credentials=credentials, scopes=[s.value for s in Scope], purposes=CONTACT_PURPOSES,
                      is_provider=org.kind == OrgKind.PROVIDER.value, **context)
    response.headers.update(NO_STORE)
    return response


@router.get("/organisations/{org_id}")
def organisation_page(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN)) -> HTMLResponse:
    return _org_page(request, org_id)


def _org_change(request: Request, user: User, org_id: uuid.UUID, change: Any, done: str) -> Response:
    """Run ``change(session, actor, org)`` in one transaction; back to the page with its outcome."""
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            org = session.get(Organisation, org_id)
            if org is None:
                raise OrganisationError("there is no such organisation")
            change(session, _actor(user), org)
    except OrganisationError as exc:
        return _flash(f"/ui/organisations/{org_id}", error=str(exc))
    return _flash(f"/ui/organisations/{org_id}", message=i18n.gettext(done))


@router.post("/organisations/{org_id}/suspend")
def organisation_suspend(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN),
                         reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations
    return _org_change(request, user, org_id, lambda s, a, o: organisations.suspend(s, a, o.name, reason),
                       N_("Organisation suspended: its keys and credentials are refused from now on."))


@router.post("/organisations/{org_id}/reinstate")
def organisation_reinstate(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN),
                           reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations
    return _org_change(request, user, org_id, lambda s, a, o: organisations.reinstate(s, a, o.name, reason),
                       N_("Organisation reinstated: its unrevoked keys and credentials work again."))


@router.post("/organisations/{org_id}/contacts")
def contact_add(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN),
                name: str = Form("", max_length=200), email: str = Form("", max_length=320),
                phone: str = Form("", max_length=64), purpose: str = Form("general", max_length=32),
                reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations
    return _org_change(request, user, org_id, lambda s, a, o: organisations.add_contact(
        s, a, o, name=name, email=email, phone=phone, purpose=purpose, reason=reason), N_("Contact point added."))


@router.post("/organisations/{org_id}/contacts/{point_id}")
def contact_update(request: Request, org_id: uuid.UUID, point_id: int, user: User = Depends(ADMIN),
                   name: str = Form("", max_length=200), email: str = Form("", max_length=320),
                   phone: str = Form("", max_length=64), purpose: str = Form("general", max_length=32),
                   reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations
    return _org_change(request, user, org_id, lambda s, a, o: organisations.update_contact(
        s, a, o, point_id, name=name, email=email, phone=phone, purpose=purpose, reason=reason),
        N_("Contact point changed."))


@router.post("/organisations/{org_id}/contacts/{point_id}/remove")
def contact_remove(request: Request, org_id: uuid.UUID, point_id: int, user: User = Depends(ADMIN),
                   reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations
    return _org_change(request, user, org_id, lambda s, a, o: organisations.remove_contact(s, a, o, point_id, reason),
                       N_("Contact point removed."))


@router.post("/organisations/{org_id}/keys")
def key_issue(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN),
              scope: list[str] = Form(default=[]), label: str = Form("", max_length=200),
              reason: str = Form("", max_length=500)) -> Response:
    balise = request.app.state.balise
    try:
        if not reason.strip():
            raise OrganisationError("a reason is required and cannot be empty")
        unknown = [s for s in scope if s not in {x.value for x in Scope}]
        if unknown:
            raise OrganisationError(f"scope: unknown {', '.join(unknown)}")
        with balise.db.transaction() as session:
            org = session.get(Organisation, org_id)
            if org is None:
                raise OrganisationError("there is no such organisation")
            key = balise.organisations.issue_key(session, _actor(user), org, scope, label.strip() or None,
                                                 reason=reason.strip())
    except OrganisationError as exc:
        return _flash(f"/ui/organisations/{org_id}", error=str(exc))
    return _org_page(request, org_id, issued_key={"plaintext": key.plaintext, "scopes": key.scopes},
                     msg=i18n.gettext("API key issued."))


@router.post("/organisations/{org_id}/keys/{prefix}/revoke")
def key_revoke(request: Request, org_id: uuid.UUID, prefix: str, user: User = Depends(ADMIN),
               reason: str = Form("", max_length=500)) -> Response:
    organisations = request.app.state.balise.organisations

    def change(session: Any, actor: Actor, org: Organisation) -> None:
        if not reason.strip():
            raise OrganisationError("a reason is required and cannot be empty")
        if not any(k.prefix == prefix for k in organisations.keys_of(session, org.id)):
            raise OrganisationError(f"{org.name!r} has no API key {prefix!r}")
        organisations.revoke_key(session, actor, prefix, reason=reason.strip())

    return _org_change(request, user, org_id, change, N_("API key revoked: it is refused from now on."))


@router.post("/organisations/{org_id}/ispws")
def ispws_issue(request: Request, org_id: uuid.UUID, user: User = Depends(ADMIN),
                reason: str = Form("", max_length=500)) -> Response:
    balise = request.app.state.balise
    try:
        if not reason.strip():
            raise OrganisationError("a reason is required and cannot be empty")
        with balise.db.transaction() as session:
            org = session.get(Organisation, org_id)
            if org is None:
                raise OrganisationError("there is no such organisation")
            credential = balise.ispws.issue_credential(session, _actor(user), org, reason=reason.strip())
    except OrganisationError as exc:
        return _flash(f"/ui/organisations/{org_id}", error=str(exc))
    return _org_page(request, org_id, issued_ispws={"username": credential.username, "password": credential.password},
                     msg=i18n.gettext("Credentials issued."))


@router.post("/organisations/{org_id}/ispws/{username}/revoke")
def ispws_revoke(request: Request, org_id: uuid.UUID, username: str, user: User = Depends(ADMIN),
                 reason: str = Form("", max_length=500)) -> Response:
    ispws = request.app.state.balise.ispws

    def change(session: Any, actor: Actor, org: Organisation) -> None:
        if not reason.strip():
            raise OrganisationError("a reason is required and cannot be empty")
        mine = {c.username: c for c in ispws.credentials_of(session, org.id)}
        if username not in mine:
            raise OrganisationError(f"{org.name!r} has no credentials {username!r}")
        if mine[username].revoked_at is not None:
            raise OrganisationError(f"the credentials {username!r} are already revoked")
        ispws.revoke_credential(session, actor, username, reason=reason.strip())

    return _org_change(request, user, org_id, change, N_("Credentials revoked: they are refused from now on."))
