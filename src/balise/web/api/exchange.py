"""/api/v1/exchange: the signed delta feed of an indicator list, for HMA (the ``balise_exchange``
python-threatexchange extension) and other Balise installations (docs/exchange.md)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from balise.accounts.organisations import Principal
from balise.domain.grants import GrantOperation
from balise.exchange.feed import DEFAULT_PAGE, MAX_PAGE, FeedError, parse_list
from balise.web.api.contract import errors
from balise.web.api.deps import ApiError, principal_with, require_grant

router = APIRouter(prefix="/api/v1", tags=["exchange"])
SIGNATURE_HEADER = "Balise-Signature"
KEY_ID_HEADER = "Balise-Key-Id"


class ExchangeEntryOut(BaseModel):
    id: int
    version: int = Field(description="the indicator's version: entries come in version order")
    signal_type: str = Field(description="`md5`, `sha1`, `sha256`, `pdq`, `vpdq`, `video_md5`, `photodna` or `url`")
    signal_value: str = Field(description="as python-threatexchange writes it (vPDQ: its JSON list of frames)")
    deleted: bool = Field(description="true when the indicator no longer matches: remove it")
    status: str
    kind: str
    media_type: str
    updated_at: str
    classification: dict[str, Any] | None = None
    quality: int | None = None
    frames: list[list[Any]] | None = Field(default=None, description="vPDQ: [frame_number, quality, pdq, timestamp]")


class ExchangePageOut(BaseModel):
    feed_version: int
    list: str
    since: int
    until: int = Field(description="ask from this version next (`?since=`)")
    current_version: int
    more: bool = Field(description="true when further pages wait now")
    entries: list[ExchangeEntryOut]


_SIGNED = {SIGNATURE_HEADER: {"description": "`ed25519=<base64>`: the signature of the body's exact bytes",
                              "schema": {"type": "string"}},
           KEY_ID_HEADER: {"description": "the id of the signing key (`GET /api/v1/exchange-key`)",
                           "schema": {"type": "string"}}}


@router.get(
    "/exchange/{list_name}",
    summary="The changes of an indicator list after a version, paged and signed",
    response_model=None,
    responses={200: {"model": ExchangePageOut, "headers": _SIGNED,
                     "description": "One page; repeat with `since=until` while `more` is true"},
               **errors(404, 422, s403="`no_grant`: no live grant of your organisation allows downloading this "
                                       "list (audited as grant:refuse)",
                        s404="`not_found`: no such list", s422="`invalid_request`: `since` or `limit` out of range")},
)
async def exchange_page(
    request: Request,
    list_name: str,
    since: Annotated[int, Query(ge=0, le=2**62, description="the last version you hold (0: from the start)")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="entries per page")] = DEFAULT_PAGE,
    principal: Principal = principal_with(None),
) -> Response:
    balise = request.app.state.balise
    try:
        database = parse_list(list_name)
    except FeedError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    access = await run_in_threadpool(require_grant, request, principal, GrantOperation.DOWNLOAD, (database,),
                                     "/api/v1/exchange/{list}")

    def build() -> bytes:
        with balise.db.transaction() as session:
            page = balise.exchange_feed.page(session, principal.actor, database, since=since, limit=limit,
                                             access=access)
            if balise.grants.needs_use_mark(access):
                balise.grants.used(session, access)
        return json.dumps(page, separators=(",", ":"), sort_keys=True).encode()

    body = await run_in_threadpool(build)
    signer = balise.signer
    signature = base64.b64encode(signer.sign(body)).decode("ascii")
    return Response(body, media_type="application/json",
                    headers={SIGNATURE_HEADER: f"ed25519={signature}", KEY_ID_HEADER: signer.key_id})


class ExchangeKeyOut(BaseModel):
    key_id: str
    public_key_pem: str


@router.get("/exchange-key", summary="The public key the exchange feed is signed with", response_model=None,
            responses={200: {"model": ExchangeKeyOut, "description": "The key id and its PEM"}, **errors()})
def exchange_key(request: Request, principal: Principal = principal_with(None)) -> dict[str, str]:
    signer = request.app.state.balise.signer
    return {"key_id": signer.key_id, "public_key_pem": signer.public_pem}
