"""/api/v1/url-list: the URL list (CSAR Art. 44(1)(b)).

* ``GET /url-list/feed``: the internet access provider a blocking order of the registry is
  addressed to reads the list (or its changes since a version) while that order is in force
  (issued, received or executed, within its period). JSON signed with the centre's key, or CSV.
* ``POST /url-list/verifications``: a coordinating authority has a representative sample
  fetched again before it asks for a blocking order (CSAR Art. 16).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from balise.accounts.organisations import Principal
from balise.domain.submissions import MAX_REFERENCE, InvalidSubmission
from balise.intake.report_schema import describe_errors
from balise.web.api.bodies import read_json, validate_strictly
from balise.web.api.contract import _Out, errors, json_request_body
from balise.web.api.deps import ApiError, principal_with
from balise.web.api.submissions import _require_authority

router = APIRouter(prefix="/api/v1", tags=["url list"])


class SampleVerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sample_size: Annotated[int, Field(ge=1, le=10_000)] | None = Field(
        default=None, description="how many URLs; default the square root of the list plus 10")
    order_reference: Annotated[str, Field(max_length=MAX_REFERENCE)] | None = Field(
        default=None, description="the blocking order this verification prepares")


class SampleResultOut(_Out):
    entry: int
    url: str
    outcome: str = Field(description="`served` (still online), `gone`, or why it could not tell")


class SampleVerificationOut(_Out):
    id: int
    population: int
    sample_size: int
    live: int
    gone: int
    other: int
    results: list[SampleResultOut]


@router.get(
    "/url-list/feed", summary="The URL list for your blocking order in force: signed JSON feed or CSV, whole or "
                              "since a version", response_model=None,
    responses={200: {"description": "The signed feed (`format=json`) or the CSV (`format=csv`)",
                     "content": {"application/json": {}, "text/csv": {}}},
               **errors(409, 422, s403="`no_order`: no blocking order addressed to your organisation is in force; "
                                       "`order_not_in_force`: the order named is not yours, not a blocking order, "
                                       "or not in force (its state or period)",
                        s409="`several_orders`: several blocking orders addressed to you are in force: name one")})
def feed(request: Request, since: Annotated[int, Query(ge=0, le=2**62)] = 0,
         format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",  # noqa: A002 - the query parameter's name
         order: Annotated[uuid.UUID | None, Query(description="the blocking order's id; needed only when several "
                                                             "are in force")] = None,
         principal: Principal = principal_with(None)) -> Response:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        try:
            if order is None:
                in_force = balise.url_list.in_force_for(session, principal.organisation_id)
                if not in_force:
                    raise ApiError(403, "no_order", "no blocking order addressed to your organisation is in force")
                if len(in_force) > 1:
                    raise ApiError(409, "several_orders", "several blocking orders addressed to you are in force: "
                                   "name one with ?order= (" + ", ".join(str(o.id) for o in in_force) + ")",
                                   [{"field": "order", "message": "name one"}])
                order = in_force[0].id
            export = balise.url_list.export(session, principal.actor, order, fmt=format, since_version=since,
                                            provider=principal.organisation_id)
        except InvalidSubmission as exc:
            if exc.field == "order":
                raise ApiError(403, "order_not_in_force", str(exc),
                               [{"field": exc.field, "message": exc.message}]) from exc
            raise ApiError(422, "invalid_request", str(exc), [{"field": exc.field, "message": exc.message}]) from exc
    return Response(export.body, media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                             "X-Url-List-Version": str(export.version)})


@router.post(
    "/url-list/verifications", status_code=201,
    summary="Verify a representative sample of the URL list before a blocking order (coordinating authorities)",
    response_model=None,
    openapi_extra=json_request_body(SampleVerificationIn, "the sample size and the order it prepares"),
    responses={201: {"model": SampleVerificationOut, "description": "What each URL of the sample answered"},
               **errors(413, 415, 422, s403="`not_a_coordinating_authority`")})
async def verify_sample(request: Request, principal: Principal = principal_with(None)) -> JSONResponse:
    balise = request.app.state.balise
    _require_authority(request, principal)
    raw = await read_json(request)
    try:
        body = validate_strictly(SampleVerificationIn, raw)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise ApiError(422, "invalid_request", "; ".join(f"{f['field']}: {f['message']}" for f in fields),
                       fields) from exc
    # Fetches take seconds: off the event loop.
    run = await run_in_threadpool(lambda: balise.url_list.verify_sample(
        balise.db.sessions, principal.actor, lambda url: balise.fetcher.fetch(url).outcome, wanted=body.sample_size,
        organisation_id=principal.organisation_id, order_reference=body.order_reference))
    out: dict[str, Any] = {"id": run.id, "population": run.population, "sample_size": run.sample_size,
                           "live": run.live, "gone": run.gone, "other": run.other, "results": run.results}
    return JSONResponse(out, status_code=201)
