"""The orders pages (docs/orders.md): the registry of removal, blocking and detection orders with
their clocks; an order entered by staff from what an authority sent; each order's page with its
annex fields, URLs, reports and state changes, where staff record the authority's or the
provider's acts, the execution report and the centre's opinion on a draft detection order."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from balise.accounts.actors import Actor
from balise.adapters.db.models import Order, User
from balise.domain.clocks import ClockKind
from balise.domain.model import Role
from balise.domain.orders import (
    AUTHORITY,
    PROVIDER,
    STAFF,
    TRANSITIONS,
    InvalidOrder,
    OrderKind,
    OrderState,
    TransitionRefused,
)
from balise.orders.registry import NotAuthority, OrderConflict, OrderNotFound, Sender
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role
from balise.web.ui.workbench import _flash, minutes_left

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE = "/ui/orders"
READERS = (Role.SENIOR_ANALYST, Role.ADMIN, Role.AUDITOR, Role.LE_LIAISON)
EDITORS = (Role.SENIOR_ANALYST, Role.ADMIN, Role.LE_LIAISON)
MAX_FIELD = 5000


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _clocks(balise: Any, session: Any) -> dict[str, Any]:
    """The running order clocks by order id."""
    clocks = balise.clocks.running(session, [ClockKind.ORDER_REMOVAL, ClockKind.ORDER_OPINION, ClockKind.ORDER_PERIOD])
    return {c.subject_id: c for c in clocks}


def orders_for_report(balise: Any, session: Any, report_id: uuid.UUID) -> list[dict[str, Any]]:
    """The orders a report concerns, with their running clock, for the report page."""
    orders = balise.orders.for_report(session, report_id)
    if not orders:
        return []
    clocks, now = _clocks(balise, session), balise.clock()
    out = []
    for order in orders:
        c = clocks.get(str(order.id))
        nd = balise.orders.non_disclosure_ends(order)
        out.append({"order": order, "clock": c, "clock_state": c.state(now).value if c else None,
                    "minutes_left": minutes_left(c.deadline, now) if c else None,
                    "non_disclosure_until": nd if nd and nd > now else None})
    return out


@router.get("/orders")
def orders_page(request: Request, kind: str = "", state: str = "", msg: str = "", err: str = "",
                user: User = Depends(require_role(*READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.sessions() as session:
        orders = balise.orders.list(session, kind=kind if kind in {k.value for k in OrderKind} else None,
                                    state=state if state in {s.value for s in OrderState} else None)
        clocks = _clocks(balise, session)
    rows = [{"order": o, "clock": clocks.get(str(o.id))} for o in orders]
    for row in rows:
        c = row["clock"]
        row["clock_state"] = c.state(now).value if c else None
        row["minutes_left"] = minutes_left(c.deadline, now) if c else None
    return render(request, "orders.html", rows=rows, filters={"kind": kind, "state": state},
                  kinds=[k.value for k in OrderKind], states=[s.value for s in OrderState],
                  can_edit=user.role in {r.value for r in EDITORS}, msg=msg, err=err)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _moment(text: str, field: str) -> str | None:
    """A date and time field (browser's datetime-local, taken as UTC) as ISO 8601."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidOrder(field, "give a date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


@router.post("/orders")
def orders_enter(request: Request, user: User = Depends(require_role(*EDITORS)),
                 kind: str = Form(""), reference: str = Form("", max_length=300),
                 authority_name: str = Form("", max_length=300), member_state: str = Form("", max_length=10),
                 authority_contact: str = Form("", max_length=300), legal_basis: str = Form("", max_length=MAX_FIELD),
                 addressee: str = Form("", max_length=300), reasons: str = Form("", max_length=MAX_FIELD),
                 redress: str = Form("", max_length=MAX_FIELD), sent_at: str = Form("", max_length=40),
                 urls: str = Form("", max_length=200_000), services: str = Form("", max_length=MAX_FIELD),
                 databases: list[str] = Form(default=[]), period_start: str = Form("", max_length=40),
                 period_end: str = Form("", max_length=40), non_disclosure_weeks: str = Form("", max_length=4),
                 report_ids: str = Form("", max_length=5000), draft: str = Form(""),
                 signature_verification: str = Form("", max_length=1100)) -> Response:
    """An order received by other means (letter, secure e-mail), entered by staff: nothing is
    stored unless every mandatory field is there and the signature's verification is stated."""
    balise = request.app.state.balise
    try:
        body: dict[str, Any] = {
            "kind": kind, "reference": reference,
            "issuing_authority": {"name": authority_name, "member_state": member_state.strip().upper(),
                                  "contact": authority_contact or None},
            "legal_basis": legal_basis, "addressee": {"name": addressee}, "reasons": reasons, "redress": redress,
            "sent_at": _moment(sent_at, "sent_at"), "draft": bool(draft),
        }
        if kind in (OrderKind.REMOVAL.value, OrderKind.BLOCKING.value):
            body["urls"] = _lines(urls)
        if kind == OrderKind.DETECTION.value:
            body["services"] = _lines(services)
            body["databases"] = databases
        if kind in (OrderKind.DETECTION.value, OrderKind.BLOCKING.value):
            body["period"] = {"start": _moment(period_start, "period.start"), "end": _moment(period_end, "period.end")}
        if non_disclosure_weeks.strip():
            if not non_disclosure_weeks.strip().isdigit():
                raise InvalidOrder("non_disclosure_weeks", "give a whole number of weeks")
            body["non_disclosure_weeks"] = int(non_disclosure_weeks)
        body["report_ids"] = [r for r in (x.strip() for x in report_ids.replace(",", " ").split()) if r]
        with balise.db.transaction() as session:
            order = balise.orders.enter(session, _actor(user), body, signature_verification)
            order_id = order.id
    except InvalidOrder as exc:
        return _flash(PAGE + "#enter", error=i18n.gettext("Nothing was stored: %(field)s: %(problem)s")
                      % {"field": exc.field, "problem": exc.message})
    except OrderConflict as exc:
        return _flash(PAGE + "#enter", error=str(exc))
    return _flash(f"{PAGE}/{order_id}", message=i18n.gettext("Order registered."))


def _order(balise: Any, session: Any, order_id: str) -> Order | None:
    try:
        return balise.orders.get(session, order_id)
    except OrderNotFound:
        return None


def _not_found(request: Request) -> HTMLResponse:
    return render(request, "error.html", status=404, title=i18n.gettext("Not found"),
                  message=i18n.gettext("There is no such order."))


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str, msg: str = "", err: str = "",
               user: User = Depends(require_role(*READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.transaction() as session:
        order = _order(balise, session, order_id)
        if order is None:
            return _not_found(request)
        balise.orders.read(session, _actor(user), order, "read an order in the registry")
        clock = _clocks(balise, session).get(str(order.id))
        reports = balise.orders.report_ids(session, order)
        urls, events = list(order.urls), list(order.events)
        nd = balise.orders.non_disclosure_ends(order)
        session.expunge_all()
    nexts = [s.value for s in TRANSITIONS[OrderState(order.state)] if s is not OrderState.EXECUTED]
    return render(request, "order.html", order=order, urls=urls, events=events, reports=reports, clock=clock,
                  clock_state=clock.state(now).value if clock else None,
                  minutes_left=minutes_left(clock.deadline, now) if clock else None,
                  non_disclosure_until=nd, non_disclosure_active=bool(nd and nd > now), nexts=nexts,
                  parts=[AUTHORITY, PROVIDER], executable=order.state in ("issued", "received")
                  and order.kind != OrderKind.DETECTION.value,
                  can_edit=user.role in {r.value for r in EDITORS}, msg=msg, err=err)


def _sender(user: User, part: str) -> Sender:
    # Staff record the act of the authority or the provider, received by other means.
    return Sender(_actor(user), STAFF, {"method": "staff_entry", "user": user.username, "user_id": str(user.id),
                                        "on_behalf_of": part})


@router.post("/orders/{order_id}/transition")
def order_transition(request: Request, order_id: str, user: User = Depends(require_role(*EDITORS)),
                     state: str = Form(""), part: str = Form(""), note: str = Form("", max_length=2100),
                     at: str = Form("", max_length=40)) -> Response:
    balise = request.app.state.balise
    page = f"{PAGE}/{order_id}"
    if part not in (AUTHORITY, PROVIDER):
        return _flash(page, error=i18n.gettext("Say whose act you record: the authority's or the provider's."))
    try:
        when = _moment(at, "at")
        with balise.db.transaction() as session:
            if _order(balise, session, order_id) is None:
                return _not_found(request)
            balise.orders.transition(session, order_id, state, _sender(user, part), note,
                                     datetime.fromisoformat(when) if when else None)
    except (TransitionRefused, InvalidOrder) as exc:
        return _flash(page, error=i18n.gettext("Nothing was recorded: %(problem)s") % {"problem": str(exc)})
    return _flash(page, message=i18n.gettext("State change recorded."))


@router.post("/orders/{order_id}/execution")
def order_execution(request: Request, order_id: str, user: User = Depends(require_role(*EDITORS)),
                    execution: str = Form(""), executed_at: str = Form("", max_length=40),
                    note: str = Form("", max_length=2100)) -> Response:
    balise = request.app.state.balise
    page = f"{PAGE}/{order_id}"
    try:
        when = _moment(executed_at, "executed_at")
        if when is None:
            raise InvalidOrder("executed_at", "give the date and time of the execution")
        with balise.db.transaction() as session:
            if _order(balise, session, order_id) is None:
                return _not_found(request)
            balise.orders.report_execution(session, order_id, _sender(user, PROVIDER), execution,
                                           datetime.fromisoformat(when), note)
    except (OrderConflict, InvalidOrder) as exc:
        return _flash(page, error=i18n.gettext("Nothing was recorded: %(problem)s") % {"problem": str(exc)})
    return _flash(page, message=i18n.gettext("Execution report recorded."))


@router.post("/orders/{order_id}/opinion")
def order_opinion(request: Request, order_id: str, user: User = Depends(require_role(*EDITORS)),
                  opinion: str = Form("", max_length=8100)) -> Response:
    balise = request.app.state.balise
    page = f"{PAGE}/{order_id}"
    try:
        with balise.db.transaction() as session:
            if _order(balise, session, order_id) is None:
                return _not_found(request)
            balise.orders.give_opinion(session, _actor(user), order_id, opinion)
    except (OrderConflict, InvalidOrder) as exc:
        return _flash(page, error=i18n.gettext("Nothing was recorded: %(problem)s") % {"problem": str(exc)})
    return _flash(page, message=i18n.gettext("Opinion recorded."))


@router.post("/orders/{order_id}/non-disclosure")
def order_non_disclosure(request: Request, order_id: str, user: User = Depends(require_role(*EDITORS))) -> Response:
    balise = request.app.state.balise
    page = f"{PAGE}/{order_id}"
    try:
        with balise.db.transaction() as session:
            if _order(balise, session, order_id) is None:
                return _not_found(request)
            balise.orders.renew_non_disclosure(session, _sender(user, AUTHORITY), order_id)
    except (OrderConflict, NotAuthority) as exc:
        return _flash(page, error=i18n.gettext("Nothing was recorded: %(problem)s") % {"problem": str(exc)})
    return _flash(page, message=i18n.gettext("Non-disclosure period renewed."))
