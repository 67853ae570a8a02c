"""The access grants page (CSAR Art. 46): administrators enter a request on an organisation's
behalf, approve (two of them for downloads), reject and revoke with reasons; auditors read it.
Its first section is the periodic review of Art. 46(7)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Organisation, User
from balise.domain.grants import (
    MAX_LEGAL_BASIS,
    MAX_ORDER_REFERENCE,
    MAX_PURPOSE,
    MAX_REASON,
    GrantDatabase,
    GrantOperation,
    GrantState,
    InvalidGrant,
    check_terms,
    is_live,
)
from balise.domain.model import Role
from balise.governance.grants import GrantError, actor_label
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role
from balise.web.ui.workbench import _flash

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE = "/ui/grants"
DECISIONS = {"approve": "approve", "reject": "reject", "revoke": "revoke"}


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


@router.get("/grants")
def grants_page(request: Request, msg: str = "", err: str = "",
                user: User = Depends(require_role(Role.ADMIN, Role.AUDITOR))) -> HTMLResponse:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.sessions() as session:
        grants = balise.grants.list(session)
        review = balise.grants.review(session)
        orgs = session.execute(select(Organisation).order_by(Organisation.name)).scalars().all()
    names = {o.id: o.name for o in orgs}
    waiting = [g for g in grants if g.state in (GrantState.REQUESTED.value, GrantState.AWAITING_SECOND_APPROVAL.value)]
    return render(request, "grants.html", grants=grants, waiting=waiting, review=review, orgs=orgs, names=names,
                  now=now, live={g.id: is_live(g.state, g.valid_from, g.valid_until, now) for g in grants},
                  who=actor_label, databases=[d.value for d in GrantDatabase],
                  operations=[o.value for o in GrantOperation], can_edit=user.role == Role.ADMIN.value,
                  max_months=balise.settings.grant_max_months, limits={
                      "purpose": MAX_PURPOSE, "legal_basis": MAX_LEGAL_BASIS, "order_reference": MAX_ORDER_REFERENCE,
                      "reason": MAX_REASON}, msg=msg, err=err)


def _day(text: str, end: bool) -> datetime | None:
    """A date field as the start (00:00 UTC) or the end (24:00 UTC) of that day."""
    if not text:
        return None
    day = datetime.fromisoformat(text).date()
    moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
    return moment.replace(hour=23, minute=59, second=59) if end else moment


@router.post("/grants")
def grants_request(request: Request, user: User = Depends(require_role(Role.ADMIN)),
                   organisation: str = Form(...), databases: list[str] = Form(default=[]),
                   operations: list[str] = Form(default=[]), purpose: str = Form("", max_length=MAX_PURPOSE + 100),
                   legal_basis: str = Form("", max_length=MAX_LEGAL_BASIS + 100),
                   order_reference: str = Form("", max_length=MAX_ORDER_REFERENCE + 100),
                   valid_from: str = Form(""), valid_until: str = Form("")) -> Response:
    """A request entered by staff on an organisation's behalf (e.g. received by letter)."""
    balise = request.app.state.balise
    now = balise.clock()
    try:
        start, end = _day(valid_from, False), _day(valid_until, True)
    except ValueError:
        return _flash(PAGE, error=i18n.gettext("Give the dates as year-month-day."))
    if end is None:
        return _flash(PAGE, error=i18n.gettext("Give the date the grant ends."))
    try:
        terms = check_terms(databases=databases, operations=operations, purpose=purpose, legal_basis=legal_basis,
                            order_reference=order_reference, valid_from=start or now, valid_until=end,
                            max_months=balise.settings.grant_max_months, now=now)
    except InvalidGrant as exc:
        return _flash(PAGE, error=i18n.gettext("Nothing was stored: %(problem)s") % {"problem": exc.message})
    try:
        org_id = uuid.UUID(organisation)
    except ValueError:
        return _flash(PAGE, error=i18n.gettext("Choose an organisation."))
    try:
        with balise.db.transaction() as session:
            grant = balise.grants.request(session, _actor(user), org_id, terms)
            grant_id = grant.id
    except GrantError as exc:
        return _flash(PAGE, error=str(exc))
    return _flash(PAGE, message=i18n.gettext("Grant %(id)s requested; it waits for a decision.") % {"id": grant_id})


@router.post("/grants/{grant_id}/{action}")
def grants_decide(request: Request, grant_id: int, action: str, reason: str = Form("", max_length=MAX_REASON + 100),
                  user: User = Depends(require_role(Role.ADMIN))) -> Response:
    balise = request.app.state.balise
    if action not in DECISIONS:
        return render(request, "error.html", status=404, title=i18n.gettext("Not found"),
                      message=i18n.gettext("There is no such page."))
    try:
        with balise.db.transaction() as session:
            grant = getattr(balise.grants, DECISIONS[action])(session, _actor(user), grant_id, reason)
            state = grant.state
    except GrantError as exc:
        return _flash(PAGE, error=str(exc))
    if state == GrantState.AWAITING_SECOND_APPROVAL.value:
        text = i18n.gettext("Grant %(id)s approved once: it allows downloading indicators, so a second, different "
                            "administrator must approve it too.")
    else:
        text = {GrantState.APPROVED.value: i18n.gettext("Grant %(id)s approved."),
                GrantState.REJECTED.value: i18n.gettext("Grant %(id)s rejected."),
                GrantState.REVOKED.value: i18n.gettext("Grant %(id)s revoked; keys stop acting under it now.")}[state]
    return _flash(PAGE, message=text % {"id": grant_id})
