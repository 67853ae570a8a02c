"""/api/v1/entities/search: reports naming a value (a wallet, an account, an e-mail…), for an
organisation whose key has the `entities:search` scope and a live access grant to read reports
(CSAR Art. 46). Only forwarded reports are listed (docs/intelligence.md#who-sees-what); every
search is audited with the purpose the caller states."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from balise.accounts.organisations import Principal
from balise.domain.entities import MAX_PURPOSE, MAX_VALUE, EntityKind
from balise.domain.grants import GrantDatabase, GrantOperation
from balise.domain.model import Scope
from balise.intake.report_schema import describe_errors
from balise.intelligence.entities import EntitySearchError
from balise.web.api.bodies import read_json, validate_strictly
from balise.web.api.contract import EntitySearchOut, errors, json_request_body
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["intelligence"])
PARTNER_ROLE = "partner"


class EntitySearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Annotated[str, Field(min_length=1, max_length=MAX_VALUE)] = Field(
        description="the value as you have it: a wallet, IBAN, e-mail, phone number, account (`service:id`), URL…")
    purpose: Annotated[str, Field(min_length=5, max_length=MAX_PURPOSE)] = Field(
        description="why you search (recorded in the audit trail with the search)")
    kind: EntityKind | None = Field(default=None, description="only this kind of entity")


def _search(balise: Any, principal: Principal, body: EntitySearchIn) -> dict[str, Any]:
    with balise.db.transaction() as session:
        result = balise.entities.search(session, principal.actor, PARTNER_ROLE, body.value, body.purpose,
                                        kind=body.kind.value if body.kind else None)
        access = balise.grants.check(session, principal.organisation_id, GrantOperation.READ_REPORTS,
                                     (GrantDatabase.REPORTS,))
        balise.grants.used(session, access)
    return {
        "kinds": result.query_kinds,
        "matches": [{"kind": m.kind, "value": m.value, "valid": m.valid, "problem": m.problem, "hidden": m.hidden,
                     "reports": [{"id": str(r["id"]), "state": r["state"], "created_at": r["created_at"].isoformat()}
                                 for r in m.reports]} for m in result.matches],
    }


@router.post(
    "/entities/search",
    summary="Reports naming a value (wallet, IBAN, account, e-mail, phone, IP, URL, file name)",
    response_model=None,
    openapi_extra=json_request_body(EntitySearchIn, "the value and why you search"),
    responses={200: {"model": EntitySearchOut, "description": "Each entity the value may be, and the reports naming it"},
               **errors(413, 415, 422, s422="`invalid_request`: a field is missing or wrong; `fields` names it")},
)
async def entity_search(request: Request, principal: Principal = principal_with(
        Scope.ENTITIES_SEARCH, (GrantOperation.READ_REPORTS, (GrantDatabase.REPORTS,), "/api/v1/entities/search"),
)) -> dict[str, Any]:
    balise = request.app.state.balise
    raw = await read_json(request)
    try:
        body = validate_strictly(EntitySearchIn, raw)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise ApiError(422, "invalid_request", "the search is invalid", fields) from exc
    try:
        return await run_in_threadpool(_search, balise, principal, body)
    except EntitySearchError as exc:
        raise ApiError(422, "invalid_request", exc.message, [{"field": exc.field, "message": exc.message}]) from exc
