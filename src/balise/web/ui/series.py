"""Staff pages of series and victims' requests (docs/victims.md): analysts confirm, split and
merge series; a law-enforcement liaison marks a series as depicting an identified victim (a
case reference only); senior analysts, liaisons and administrators follow victims' requests
and their clocks. Opening a series or a request is audited."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Organisation, User
from balise.domain.model import Role
from balise.domain.series import MAX_CASE_REFERENCE, MAX_REASON, SeriesError, parse_reference, reference
from balise.domain.victims import InvalidVictimRequest, request_reference
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role
from balise.web.ui.workbench import _flash

router = APIRouter(prefix="/ui", include_in_schema=False)
READERS = (Role.ANALYST, Role.SENIOR_ANALYST, Role.LE_LIAISON)
EDITORS = (Role.ANALYST, Role.SENIOR_ANALYST)
REQUEST_READERS = (Role.SENIOR_ANALYST, Role.LE_LIAISON, Role.ADMIN)


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _who(ref: str | None) -> str:
    if not ref:
        return "—"
    kind, ident, label = (ref.split(":", 2) + ["", ""])[:3]
    if kind == "system":
        return i18n.gettext("Balise (automatic)")
    return label or ident


def _not_found(request: Request) -> HTMLResponse:
    return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                  message=i18n.gettext("There is no such series."))


@router.get("/series")
def series_list(request: Request, user: User = Depends(require_role(*READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        rows = balise.series.list(session)
        reports = {s.id: len({m.report_id for m in balise.series.members(session, s.id)}) for s in rows}
    return render(request, "series_list.html", rows=rows, reports=reports, ref=reference)


@router.get("/series/{ref}")
def series_page(request: Request, ref: str, msg: str = "", err: str = "",
                user: User = Depends(require_role(*READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    try:
        series_id = parse_reference(ref)
    except SeriesError:
        return _not_found(request)
    with balise.db.transaction() as session:
        try:
            series = balise.series.read(session, _actor(user), series_id, f"review series {reference(series_id)}")
        except SeriesError:
            return _not_found(request)
        members = balise.series.members(session, series_id)
        hashes = len(balise.series.hashes(session, series_id))
        session.expunge(series)
    return render(request, "series.html", exposure=None, series=series, members=members, hashes=hashes,
                  ref=reference(series.id), merged_ref=reference(series.merged_into) if series.merged_into else None,
                  who=_who, reports=len({m.report_id for m in members}),
                  can_edit=user.role in {r.value for r in EDITORS}, can_identify=user.role == Role.LE_LIAISON.value,
                  limits={"reason": MAX_REASON, "case_reference": MAX_CASE_REFERENCE}, msg=msg, err=err)


def _act(request: Request, ref: str, action) -> Response:  # type: ignore[no-untyped-def]
    balise = request.app.state.balise
    try:
        series_id = parse_reference(ref)
    except SeriesError as exc:
        return _flash("/ui/series", error=exc.message)
    page = f"/ui/series/{reference(series_id)}"
    try:
        with balise.db.transaction() as session:
            message = action(session, series_id)
    except SeriesError as exc:
        return _flash(page, error=i18n.gettext("Nothing was changed: %(problem)s") % {"problem": exc.message})
    return _flash(page, message=message)


@router.post("/series/{ref}/confirm")
def confirm(request: Request, ref: str, reason: str = Form("", max_length=MAX_REASON + 100),
            user: User = Depends(require_role(*EDITORS))) -> Response:
    def act(session, series_id):  # type: ignore[no-untyped-def]
        request.app.state.balise.series.confirm(session, _actor(user), series_id, reason)
        return i18n.gettext("Series confirmed.")
    return _act(request, ref, act)


@router.post("/series/{ref}/split")
def split(request: Request, ref: str, items: list[str] = Form(default=[]),
          reason: str = Form("", max_length=MAX_REASON + 100), user: User = Depends(require_role(*EDITORS))) -> Response:
    def act(session, series_id):  # type: ignore[no-untyped-def]
        new = request.app.state.balise.series.split(session, _actor(user), series_id, items, reason)
        return i18n.gettext("The chosen items now form series %(ref)s.") % {"ref": reference(new.id)}
    return _act(request, ref, act)


@router.post("/series/{ref}/merge")
def merge(request: Request, ref: str, source: str = Form("", max_length=40),
          reason: str = Form("", max_length=MAX_REASON + 100), user: User = Depends(require_role(*EDITORS))) -> Response:
    def act(session, series_id):  # type: ignore[no-untyped-def]
        other = parse_reference(source)
        request.app.state.balise.series.merge(session, _actor(user), series_id, other, reason)
        return i18n.gettext("Series %(source)s merged into this one.") % {"source": reference(other)}
    return _act(request, ref, act)


@router.post("/series/{ref}/identify")
def identify(request: Request, ref: str, case_reference: str = Form("", max_length=MAX_CASE_REFERENCE + 100),
             reason: str = Form("", max_length=MAX_REASON + 100),
             user: User = Depends(require_role(Role.LE_LIAISON))) -> Response:
    def act(session, series_id):  # type: ignore[no-untyped-def]
        request.app.state.balise.series.identify(session, _actor(user), series_id, case_reference, reason)
        return i18n.gettext("The series is marked as depicting an identified victim.")
    return _act(request, ref, act)


# -- victims' requests ---------------------------------------------------------------------


@router.get("/victim-requests")
def victim_requests(request: Request, msg: str = "", err: str = "",
                    user: User = Depends(require_role(*REQUEST_READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    now: datetime = balise.clock()
    with balise.db.transaction() as session:
        rows = balise.victim_requests.list(session)
        for row in rows:
            balise.victim_requests.read(session, _actor(user), row, "follow victims' requests and their clocks")
        names = dict(session.execute(select(Organisation.id, Organisation.name)).all())
        for row in rows:
            session.expunge(row)
    return render(request, "victim_requests.html", rows=rows, names=names, now=now, vr=request_reference,
                  can_mark=user.role in (Role.SENIOR_ANALYST.value, Role.LE_LIAISON.value), msg=msg, err=err)


@router.post("/victim-requests/{request_id}/order")
def mark_order(request: Request, request_id: int, order_reference: str = Form("", max_length=300),
               user: User = Depends(require_role(Role.SENIOR_ANALYST, Role.LE_LIAISON))) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            found = balise.victim_requests.get(session, request_id)
            balise.victim_requests.request_order(session, _actor(user), found, order_reference or None)
    except LookupError:
        return _flash("/ui/victim-requests", error=i18n.gettext("There is no such request."))
    except InvalidVictimRequest as exc:
        return _flash("/ui/victim-requests", error=i18n.gettext("Nothing was changed: %(problem)s") % {"problem": exc.message})
    return _flash("/ui/victim-requests", message=i18n.gettext("Removal order marked as requested for %(ref)s.")
                  % {"ref": request_reference(request_id)})
