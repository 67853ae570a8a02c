"""/api/v1/orders: a coordinating authority sends its removal, blocking and detection orders
(signed); the provider they are addressed to acknowledges receipt, asks for clarification,
reports an impossibility or the execution; both read the orders that concern them
(docs/orders.md, docs/api.md#orders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from balise.accounts.organisations import Principal
from balise.adapters.db.models import Order
from balise.domain.orders import InvalidOrder, TransitionRefused
from balise.orders.registry import NotAddressee, NotAuthority, OrderConflict, OrderNotFound, Orders, Sender
from balise.web.api.bodies import read_json
from balise.web.api.contract import _Out, errors, json_request_body
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["orders"])


# -- what the document declares (the service checks the body itself, naming each field) ----------

class AuthorityIn(BaseModel):
    name: str = Field(description="the coordinating authority (or court) issuing the order")
    member_state: str = Field(description="ISO 3166-1 alpha-2, e.g. `FR`")
    contact: str | None = None


class AddresseeIn(BaseModel):
    name: str = Field(description="the provider (for a detection order: its organisation's exact name here)")


class PeriodIn(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class SignatureIn(BaseModel):
    algorithm: Literal["ed25519"]
    key_id: str = Field(description="the id `balise orders register-key` printed for the authority's public key")
    value: str = Field(description="base64 Ed25519 signature of the order's JSON without `signature`, keys sorted, "
                                   "no white space, UTF-8")


class OrderIn(BaseModel):
    """An order and the fields of its annex (CSAR Annexes I, IV, VII)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["removal", "blocking", "detection"]
    reference: str = Field(description="the authority's reference of the order")
    issuing_authority: AuthorityIn
    legal_basis: str
    addressee: AddresseeIn
    reasons: str
    redress: str = Field(description="the redress available to the provider and the content provider")
    sent_at: AwareDatetime = Field(description="when the authority sent the order")
    urls: list[str] | None = Field(default=None, description="removal, blocking: the exact URLs (http or https)")
    services: list[str] | None = Field(default=None, description="detection: the services concerned")
    databases: list[Literal["known_indicators", "new_indicators", "solicitation_indicators"]] | None = Field(
        default=None, description="detection: the indicator databases the provider may match against")
    period: PeriodIn | None = Field(default=None, description="detection (≤ 24 months, ≤ 12 with solicitation), "
                                                              "blocking (≤ 5 years)")
    non_disclosure_weeks: int | None = Field(default=None, ge=1, le=6, description="removal: no information to the "
                                                                                   "content provider for this long")
    draft: bool = Field(default=False, description="detection: a draft for the centre's opinion (4 weeks)")
    report_ids: list[str] | None = Field(default=None, description="the Balise reports the order concerns")
    signature: SignatureIn


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["issued", "received", "clarification_requested", "impossible", "challenged", "final", "revoked"]
    note: str | None = Field(default=None, description="the reasons (required for clarification, impossible, "
                                                        "challenged, revoked)")
    at: AwareDatetime | None = Field(default=None, description="when it happened (default: now)")


class ExecutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    execution: Literal["removed", "disabled"]
    executed_at: AwareDatetime
    note: str | None = None


class OrderOut(_Out):
    id: str
    kind: str
    state: str
    reference: str
    urls: list[dict[str, Any]]
    report_ids: list[str]
    events: list[dict[str, Any]]


class OrderListOut(_Out):
    orders: list[OrderOut]


# -- helpers ------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_out(orders: Orders, session: Any, order: Order, now: datetime) -> dict[str, Any]:
    nd = orders.non_disclosure_ends(order)
    return {
        "id": str(order.id), "kind": order.kind, "state": order.state, "reference": order.reference,
        "issuing_authority": {"name": order.authority_name, "member_state": order.authority_member_state,
                              "contact": order.authority_contact},
        "legal_basis": order.legal_basis, "addressee": {"name": order.addressee_name},
        "reasons": order.reasons, "redress": order.redress, "services": list(order.services),
        "databases": list(order.databases),
        "period": {"start": _iso(order.period_start), "end": _iso(order.period_end)} if order.period_start else None,
        "sent_at": _iso(order.sent_at), "recorded_at": _iso(order.recorded_at), "received_at": _iso(order.received_at),
        "execution": {"execution": order.execution, "executed_at": _iso(order.executed_at),
                      "reported_at": _iso(order.execution_reported_at)} if order.execution else None,
        "non_disclosure": {"weeks": order.non_disclosure_weeks, "renewals": order.non_disclosure_renewals,
                           "until": _iso(nd), "active": nd is not None and now < nd} if nd else None,
        "opinion": {"requested_at": _iso(order.opinion_requested_at), "given_at": _iso(order.opinion_given_at),
                    "text": order.opinion} if order.opinion_requested_at else None,
        "grant_id": order.grant_id, "escalated_at": _iso(order.escalated_at),
        "urls": [{"url": u.url, "item_id": str(u.item_id) if u.item_id else None,
                  "last_checked_at": _iso(u.last_checked_at), "last_outcome": u.last_outcome} for u in order.urls],
        "report_ids": [str(r) for r in orders.report_ids(session, order)],
        "events": [{"from": e.from_state, "to": e.to_state, "at": _iso(e.at), "by": e.part, "note": e.note}
                   for e in order.events],
    }


def _invalid(exc: InvalidOrder) -> ApiError:
    return ApiError(422, "invalid_order", f"the order is invalid: {exc.field}: {exc.message}; nothing was stored",
                    [{"field": exc.field, "message": exc.message}])


def _sender(principal: Principal, part: str) -> Sender:
    return Sender(principal.actor, part, {"method": "api_key", "key_prefix": principal.key_prefix,
                                          "organisation": str(principal.organisation_id),
                                          "organisation_name": principal.organisation_name})


async def _object(request: Request) -> dict[str, Any]:
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise ApiError(422, "invalid_order", "the body must be a JSON object", [{"field": "body", "message":
                                                                                  "must be a JSON object"}])
    return raw


def _moment(value: Any, field: str, required: bool) -> datetime | None:
    if value is None and not required:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(422, "invalid_order", f"{field}: must be an ISO 8601 date and time with a time zone",
                       [{"field": field, "message": "must be an ISO 8601 date and time with a time zone"}])
    return moment


def _note(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "invalid_order", "note: must be text", [{"field": "note", "message": "must be text"}])
    return value


# -- endpoints ----------------------------------------------------------------------------------

@router.post(
    "/orders", status_code=201, summary="Send an order (coordinating authorities only)", response_model=None,
    openapi_extra=json_request_body(OrderIn, "the order, its annex fields and the authority's Ed25519 signature"),
    responses={201: {"model": OrderOut, "description": "The order, registered as `issued` (or `draft`)"},
               **errors(409, 413, 415, 422,
                        s403="`forbidden`: the key is not a coordinating authority's (`fields` names `Authorization`)",
                        s409="`order_conflict`: the authority already sent an order with this reference",
                        s422="`invalid_order`: `fields` names the missing or wrong field (a signature that does not "
                             "verify is `signature.value`); nothing is stored")})
async def send_order(request: Request, principal: Principal = principal_with(None)) -> JSONResponse:
    balise = request.app.state.balise
    body = await _object(request)

    def work():  # the database work, off the event loop
        try:
            with balise.db.transaction() as session:
                order = balise.orders.submit(session, principal.actor, principal.organisation_id, principal.key_prefix,
                                             body)
                out = order_out(balise.orders, session, order, balise.clock())
        except NotAuthority as exc:
            raise ApiError(403, "forbidden", f"{exc}; this key is {principal.organisation_name!r}'s",
                           [{"field": "Authorization", "message": "not a coordinating authority's API key"}]) from exc
        except InvalidOrder as exc:
            raise _invalid(exc) from exc
        except OrderConflict as exc:
            raise ApiError(409, "order_conflict", str(exc)) from exc
        return JSONResponse(out, status_code=201, headers={"Location": f"/api/v1/orders/{out['id']}"})

    return await run_in_threadpool(work)


@router.get("/orders", summary="The orders your organisation sent or received, newest first", response_model=None,
            responses={200: {"model": OrderListOut, "description": "The orders"}, **errors()})
def list_orders(request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.transaction() as session:
        orders = balise.orders.list(session, organisation_id=principal.organisation_id, limit=200)
        return {"orders": [order_out(balise.orders, session, o, now) for o in orders]}


def _visible(balise: Any, session: Any, principal: Principal, order_id: str) -> Order:
    try:
        order = balise.orders.get(session, order_id)
    except OrderNotFound:
        order = None
    if order is None or not balise.orders.visible_to(order, principal.organisation_id):
        raise ApiError(404, "not_found", "no such order for this organisation")
    return order


@router.get("/orders/{order_id}", summary="One order, its URLs, reports and state changes", response_model=None,
            responses={200: {"model": OrderOut, "description": "The order"}, **errors(404)})
def get_order(order_id: str, request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        order = _visible(balise, session, principal, order_id)
        balise.orders.read(session, principal.actor, order, "read an order of the organisation")
        return order_out(balise.orders, session, order, balise.clock())


@router.post(
    "/orders/{order_id}/transitions", summary="Record receipt, a clarification request, an impossibility, a "
                                              "challenge, finality or revocation", response_model=None,
    openapi_extra=json_request_body(TransitionIn, "the new state, the reasons and when"),
    responses={200: {"model": OrderOut, "description": "The order in its new state"},
               **errors(404, 409, 413, 415, 422,
                        s409="`order_conflict`: the state does not allow it, or it is the other party's act")})
async def transition(order_id: str, request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    body = await _object(request)

    def work():  # the database work, off the event loop
        unknown = sorted(set(body) - {"state", "note", "at"})
        if unknown:
            raise ApiError(422, "invalid_order", f"{unknown[0]}: unknown field", [{"field": unknown[0],
                                                                                  "message": "unknown field"}])
        state = body.get("state")
        if not isinstance(state, str):
            raise ApiError(422, "invalid_order", "state: is required", [{"field": "state", "message": "is required"}])
        at, note = _moment(body.get("at"), "at", False), _note(body.get("note"))
        with balise.db.transaction() as session:
            order = _visible(balise, session, principal, order_id)
            part = balise.orders.part_of(order, principal.organisation_id)
            try:
                order = balise.orders.transition(session, order.id, state, _sender(principal, part), note, at)
            except TransitionRefused as exc:
                raise ApiError(409, "order_conflict", str(exc)) from exc
            return order_out(balise.orders, session, order, balise.clock())

    return await run_in_threadpool(work)


@router.post(
    "/orders/{order_id}/execution", summary="The provider's execution report: removed or disabled, and when",
    response_model=None, openapi_extra=json_request_body(ExecutionIn, "how and when the order was executed"),
    responses={200: {"model": OrderOut, "description": "The order, `executed`"},
               **errors(409, 413, 415, 422,
                        s403="`forbidden`: the key is not the addressee's",
                        s409="`order_conflict`: unknown order, or closed (final, revoked) or already executed")})
async def report_execution(order_id: str, request: Request,
                           principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    body = await _object(request)

    def work():  # the database work, off the event loop
        unknown = sorted(set(body) - {"execution", "executed_at", "note"})
        if unknown:
            raise ApiError(422, "invalid_order", f"{unknown[0]}: unknown field", [{"field": unknown[0],
                                                                                  "message": "unknown field"}])
        if body.get("execution") not in ("removed", "disabled"):
            raise ApiError(422, "invalid_order", "execution: must be removed or disabled",
                           [{"field": "execution", "message": "must be removed or disabled"}])
        executed_at = _moment(body.get("executed_at"), "executed_at", True)
        note = _note(body.get("note"))
        assert executed_at is not None
        try:
            with balise.db.transaction() as session:
                try:
                    order = balise.orders.get(session, order_id)
                except OrderNotFound as exc:
                    raise OrderConflict(f"{exc}: nothing to execute") from exc
                if not balise.orders.visible_to(order, principal.organisation_id):
                    raise OrderConflict(f"no order {order_id[:64]} addressed to your organisation")
                if balise.orders.part_of(order, principal.organisation_id) != "provider":
                    raise NotAddressee("only the provider the order is addressed to reports its execution")
                order = balise.orders.report_execution(session, order.id, _sender(principal, "provider"),
                                                       body["execution"], executed_at, note)
                return order_out(balise.orders, session, order, balise.clock())
        except OrderConflict as exc:
            raise ApiError(409, "order_conflict", str(exc)) from exc
        except NotAddressee as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc
        except InvalidOrder as exc:
            raise _invalid(exc) from exc

    return await run_in_threadpool(work)


@router.post(
    "/orders/{order_id}/non-disclosure/renewal", summary="Renew a removal order's non-disclosure period once "
                                                         "(issuing authority)", response_model=None,
    responses={200: {"model": OrderOut, "description": "The order with its new non-disclosure end"},
               **errors(404, 409)})
def renew_non_disclosure(order_id: str, request: Request,
                         principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        order = _visible(balise, session, principal, order_id)
        part = balise.orders.part_of(order, principal.organisation_id)
        try:
            order = balise.orders.renew_non_disclosure(session, _sender(principal, part), order.id)
        except NotAuthority as exc:
            raise ApiError(403, "forbidden", str(exc)) from exc
        except OrderConflict as exc:
            raise ApiError(409, "order_conflict", str(exc)) from exc
        return order_out(balise.orders, session, order, balise.clock())
