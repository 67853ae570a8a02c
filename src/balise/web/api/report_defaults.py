"""/api/v1/organisation/report-defaults: a provider sets once the Annex III fields NCMEC's
format lacks, applied to each report it files through /ispws (docs/ncmec-api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from balise.accounts.organisations import Principal
from balise.domain.model import Scope
from balise.intake.report_defaults import InvalidDefaults, ReportDefaultsIn
from balise.web.api.bodies import read_json
from balise.web.api.contract import errors, json_request_body
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/organisation/report-defaults", summary="Your organisation's report defaults", response_model=None,
            responses={200: {"model": ReportDefaultsIn, "description": "The defaults set (absent: none)"}, **errors()})
def get_defaults(request: Request, principal: Principal = principal_with(Scope.REPORTS_WRITE)) -> dict[str, Any]:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        return balise.report_defaults.get(session, principal.organisation_id)


@router.put(
    "/organisation/report-defaults",
    summary="Set the Annex III fields applied to your /ispws reports",
    response_model=None,
    openapi_extra=json_request_body(ReportDefaultsIn, "the defaults; a field left out is not defaulted"),
    responses={200: {"model": ReportDefaultsIn, "description": "The defaults now set"},
               **errors(413, 415, 422, s422="`invalid_defaults`: `fields` names each problem; nothing is changed")},
)
async def put_defaults(request: Request, principal: Principal = principal_with(Scope.REPORTS_WRITE)) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    balise = request.app.state.balise
    raw = await read_json(request)

    def store() -> dict[str, Any]:
        with balise.db.transaction() as session:
            return balise.report_defaults.set(session, principal.actor, principal.organisation_id, raw,
                                              "the provider set its report defaults")

    try:
        return await run_in_threadpool(store)
    except InvalidDefaults as exc:
        raise ApiError(422, "invalid_defaults", f"the defaults are invalid: {exc}", exc.fields) from None
