"""/api/v1/grants: an organisation requests access to Balise's databases (CSAR Art. 46) and
reads the state of its requests. Administrators decide in the staff pages or with `balise grant`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from balise.accounts.organisations import Principal
from balise.adapters.db.models import AccessGrant
from balise.domain.grants import (
    MAX_LEGAL_BASIS,
    MAX_ORDER_REFERENCE,
    MAX_PURPOSE,
    GrantDatabase,
    GrantOperation,
    InvalidGrant,
    check_terms,
    is_live,
)
from balise.intake.report_schema import describe_errors
from balise.web.api.bodies import read_json, validate_strictly
from balise.web.api.contract import GrantListOut, GrantOut, errors, json_request_body
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["grants"])


class GrantRequestIn(BaseModel):
    """What an organisation asks for, why, on what basis and for how long."""

    model_config = ConfigDict(extra="forbid")
    databases: Annotated[list[GrantDatabase], Field(min_length=1, max_length=6)] = Field(
        description="the databases the grant covers")
    operations: Annotated[list[GrantOperation], Field(min_length=1, max_length=3)] = Field(
        description="`match` and `download` apply to the indicator databases and the URL list, "
                    "`read_reports` to `reports`")
    purpose: Annotated[str, Field(max_length=MAX_PURPOSE)] = Field(description="why the access is needed")
    legal_basis: Annotated[str, Field(max_length=MAX_LEGAL_BASIS)] = Field(
        description="the legal basis, e.g. a detection order under CSAR Art. 7")
    order_reference: Annotated[str, Field(max_length=MAX_ORDER_REFERENCE)] | None = Field(
        default=None, description="the reference of the order that justifies the access, where there is one")
    valid_from: AwareDatetime | None = Field(default=None, description="default: now")
    valid_until: AwareDatetime = Field(description="at most `BALISE_GRANT_MAX_MONTHS` (24) months after `valid_from`")


def grant_out(grant: AccessGrant, now: datetime) -> dict[str, Any]:
    """What the organisation sees of its grant: the terms, the state and the reasons given;
    not the names of the staff who decided."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": grant.id, "state": grant.state, "live": is_live(grant.state, grant.valid_from, grant.valid_until, now),
        "databases": list(grant.databases), "operations": list(grant.operations), "purpose": grant.purpose,
        "legal_basis": grant.legal_basis, "order_reference": grant.order_reference,
        "valid_from": grant.valid_from.isoformat(), "valid_until": grant.valid_until.isoformat(),
        "requested_at": grant.requested_at.isoformat(), "decided_at": iso(grant.decided_at),
        "decision_reason": grant.decision_reason, "revoked_at": iso(grant.revoked_at),
        "revoke_reason": grant.revoke_reason, "last_used_at": iso(grant.last_used_at),
    }


@router.post(
    "/grants",
    status_code=201,
    summary="Request access to a database (CSAR Art. 46); an administrator decides",
    response_model=None,
    openapi_extra=json_request_body(GrantRequestIn, "the databases, operations, purpose, legal basis and validity"),
    responses={201: {"model": GrantOut, "description": "The request, stored as `requested`"},
               **errors(413, 415, 422,
                        s422="`invalid_grant`: `fields` names the problem (no purpose, an unknown database or "
                             "operation, an operation that applies to none of the databases, a validity over the "
                             "maximum or ending before it starts); nothing is stored")},
)
async def request_grant(request: Request, principal: Principal = principal_with(None)) -> JSONResponse:
    balise = request.app.state.balise
    raw = await read_json(request)
    try:
        body = validate_strictly(GrantRequestIn, raw)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise ApiError(422, "invalid_grant", "the grant request is invalid: "
                       + "; ".join(f"{f['field']}: {f['message']}" for f in fields), fields) from exc
    now = balise.clock()
    try:
        terms = check_terms(databases=body.databases, operations=body.operations, purpose=body.purpose,
                            legal_basis=body.legal_basis, order_reference=body.order_reference,
                            valid_from=body.valid_from or now, valid_until=body.valid_until,
                            max_months=balise.settings.grant_max_months, now=now)
    except InvalidGrant as exc:
        raise ApiError(422, "invalid_grant", f"the grant request is invalid: {exc.message}",
                       [{"field": exc.field, "message": exc.message}]) from exc
    def store() -> dict[str, Any]:
        with balise.db.transaction() as session:
            return grant_out(balise.grants.request(session, principal.actor, principal.organisation_id, terms), now)

    return JSONResponse(await run_in_threadpool(store), status_code=201)


@router.get("/grants", summary="List your organisation's grants and requests, newest first",
            response_model=None,
            responses={200: {"model": GrantListOut, "description": "The grants"}, **errors()})
def list_grants(request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.sessions() as session:
        return {"grants": [grant_out(g, now) for g in balise.grants.list(session, principal.organisation_id)]}
