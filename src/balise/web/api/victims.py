"""/api/v1/victim-requests: a coordinating authority files a victim's request (CSAR Art. 20,
21) keyed by the hashes of the material; /api/v1/series/{reference}/hashes: a partner
downloads a series' hashes under an access grant (docs/victims.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from balise.accounts.organisations import Principal
from balise.domain.series import SeriesError, parse_reference
from balise.domain.victims import MAX_HASHES, MAX_REFERENCE, InvalidVictimRequest, parse_request_reference
from balise.victims.requests import NotAnAuthority, request_out
from balise.web.api.bodies import read_json
from balise.web.api.contract import errors, json_request_body
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["victims"])


class VictimHashIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["md5", "sha1", "sha256", "pdq"]
    value: Annotated[str, Field(description="lowercase or uppercase hexadecimal (32, 40, 64 or 64 digits)")]


class VictimRequestIn(BaseModel):
    """A victim's request, keyed by the hashes of the material: never by identity."""

    model_config = ConfigDict(extra="forbid")
    hashes: Annotated[list[VictimHashIn], Field(min_length=1, max_length=MAX_HASHES)]
    removal_support: bool = Field(default=False, description="re-check every known URL and notify the hosts (Art. 21, 49)")
    authority_reference: Annotated[str, Field(max_length=MAX_REFERENCE)] | None = Field(
        default=None, description="the authority's own case reference (never the victim's name)")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_reference: Annotated[str, Field(max_length=MAX_REFERENCE)] | None = None


def _invalid(exc: InvalidVictimRequest) -> ApiError:
    return ApiError(422, "invalid_victim_request", f"{exc.field}: {exc.message}",
                    [{"field": exc.field, "message": exc.message}])


def _authority(request: Request, principal: Principal) -> None:
    from balise.adapters.db.models import Organisation
    from balise.domain.model import OrgKind

    balise = request.app.state.balise
    with balise.db.sessions() as session:
        org = session.get(Organisation, principal.organisation_id)
        kind = org.kind if org else None
    if kind != OrgKind.COORDINATING_AUTHORITY.value:
        with balise.db.transaction() as session:
            balise.victim_requests.refuse(session, principal.actor, principal.organisation_id,
                                          "victims' requests are filed by coordinating authorities only")
        raise ApiError(403, "not_an_authority", "only a coordinating authority's key files or reads victims' "
                                                "requests (CSAR Art. 20, 21)")


@router.post(
    "/victim-requests", status_code=201, response_model=None,
    summary="File a victim's request (CSAR Art. 20, 21) keyed by the hashes of the material",
    openapi_extra=json_request_body(VictimRequestIn, "the hashes of the victim's material; whether removal support "
                                                     "is asked"),
    responses={201: {"description": "The request, answered: the reports with matching items and the clocks"},
               **errors(413, 415, 422, s403="`not_an_authority`: the key is not a coordinating authority's",
                        s422="`invalid_victim_request`: `fields` names the problem (no hashes, a bad type or value); "
                             "nothing is stored")},
)
async def file_request(request: Request, principal: Principal = principal_with(None)) -> JSONResponse:
    balise = request.app.state.balise
    await run_in_threadpool(_authority, request, principal)
    raw = await read_json(request)

    def work():  # the database work, off the event loop
        try:
            with balise.db.transaction() as session:
                filed = balise.victim_requests.file(session, principal.actor, principal.organisation_id, raw)
                out = request_out(filed, balise.clock())
        except InvalidVictimRequest as exc:
            raise _invalid(exc) from None
        except NotAnAuthority as exc:  # the organisation changed kind meanwhile
            raise ApiError(403, "not_an_authority", str(exc)) from None
        return JSONResponse(out, status_code=201, headers={"Location": f"/api/v1/victim-requests/{out['reference']}"})

    return await run_in_threadpool(work)


def _load(request: Request, principal: Principal, reference: str):  # type: ignore[no-untyped-def]
    try:
        return parse_request_reference(reference)
    except InvalidVictimRequest as exc:
        raise _invalid(exc) from None


@router.get("/victim-requests/{reference}", response_model=None,
            summary="Read a victim's request and its answer (the authority that filed it)",
            responses={200: {"description": "The request, its answer and clocks"}, **errors(404, 422)})
def read_request(reference: str, request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    _authority(request, principal)
    request_id = _load(request, principal, reference)
    with balise.db.transaction() as session:
        try:
            found = balise.victim_requests.get(session, request_id, principal.organisation_id)
        except LookupError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        balise.victim_requests.read(session, principal.actor, found, "the authority reads its victim's request")
        return request_out(found, balise.clock())


@router.post("/victim-requests/{reference}/removal", response_model=None,
             summary="Ask for removal support (Art. 21): re-check known URLs, notify hosts (Art. 49)",
             responses={200: {"description": "What was re-checked and notified"}, **errors(404, 422)})
def removal(reference: str, request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    _authority(request, principal)
    request_id = _load(request, principal, reference)
    with balise.db.transaction() as session:
        try:
            found = balise.victim_requests.get(session, request_id, principal.organisation_id)
        except LookupError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        balise.victim_requests.support_removal(session, principal.actor, found)
        return request_out(found, balise.clock())


@router.post("/victim-requests/{reference}/removal-order", response_model=None,
             summary="Mark that a removal order was requested for the material",
             openapi_extra=json_request_body(OrderIn, "the order's reference, when known"),
             responses={200: {"description": "The request with the flag set"}, **errors(404, 413, 415, 422)})
async def removal_order(reference: str, request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    await run_in_threadpool(_authority, request, principal)
    request_id = _load(request, principal, reference)
    raw = await read_json(request)

    def work():  # the database work, off the event loop
        if not isinstance(raw, dict) or set(raw) - {"order_reference"}:
            raise ApiError(422, "invalid_victim_request", "the body is {\"order_reference\": \"...\"}",
                           [{"field": "body", "message": "only order_reference"}])
        with balise.db.transaction() as session:
            try:
                found = balise.victim_requests.get(session, request_id, principal.organisation_id)
                balise.victim_requests.request_order(session, principal.actor, found, raw.get("order_reference"))
            except LookupError as exc:
                raise ApiError(404, "not_found", str(exc)) from None
            except InvalidVictimRequest as exc:
                raise _invalid(exc) from None
            return request_out(found, balise.clock())

    return await run_in_threadpool(work)


@router.get("/series/{reference}/hashes", response_model=None,
            summary="Download the hashes of a series (needs a live grant to download `series`)",
            responses={200: {"description": "The series' reference, state and hashes"}, **errors(404, 422)})
def series_hashes(request: Request, reference: Annotated[str, Path(
        pattern=r"^([Ss]-)?[0-9]{1,12}$", max_length=14,
        description="The series' reference, e.g. S-000042 (or its number)")],
        principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    try:
        series_id = parse_reference(reference)
    except SeriesError as exc:
        raise ApiError(422, "invalid_series", exc.message, [{"field": "reference", "message": exc.message}]) from None
    with balise.db.sessions() as session:
        access = balise.series.export_access(session, principal.organisation_id)
    if not access.allowed:
        from balise.web.api.deps import _refuse

        _refuse(request, principal, access, "GET /api/v1/series/{reference}/hashes")
    with balise.db.transaction() as session:
        try:
            return balise.series.export(session, principal.actor, series_id, access)  # type: ignore[no-any-return]
        except SeriesError as exc:
            raise ApiError(404, "not_found", exc.message) from None
