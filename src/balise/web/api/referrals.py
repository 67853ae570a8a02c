"""/api/v1/referrals: referrals of URL reports from partner Balise installations, and the
outcomes of ours coming back (docs/federation.md). No API key: each request is signed with the
partner's Ed25519 key and carries a time stamp and a nonce (``domain/federation.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from balise.domain.federation import MAX_BODY, NONCE_HEADER, SENDER_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from balise.exchange.federation import OutcomeIn, ReferralIn, Refusal
from balise.web.api.bodies import read_body
from balise.web.api.contract import errors, json_request_body
from balise.web.api.deps import ApiError

router = APIRouter(prefix="/api/v1", tags=["federation"])

_SIGNED_HEADERS = [
    {"name": SENDER_HEADER, "in": "header", "required": True, "schema": {"type": "string", "maxLength": 64},
     "description": "the key id of the sending installation's signing key (`GET /api/v1/exchange-key` on it)"},
    {"name": TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
     "description": "seconds since 1970 UTC; refused more than 5 minutes from the receiver's clock"},
    {"name": NONCE_HEADER, "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}, "description": "used once: a repeat is refused"},
    {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": "`ed25519=<base64>` over `balise-federation-v1`, the method, the path, the sender, the time "
                    "stamp, the nonce and the body's SHA-256 in hex, one per line"},
]
_REFUSALS = dict(
    s401="`bad_signature`: the signature does not verify with the sender's key",
    s403="`unknown_partner`: no partner installation has the sender's key",
    s422="`stale_timestamp`, `wrong_recipient` (the body names another installation) or `invalid_request`",
)


class ReferralAck(BaseModel):
    referral_id: str = Field(description="the receiver's id of the referral")
    receiver: str = Field(description="the receiver's key id")
    status: str


class OutcomeAck(BaseModel):
    referral_id: str
    status: str
    outcome: str


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _not_flooded(request: Request) -> None:
    """Refused federation requests are audited; an address past BALISE_API_AUTH_FAILURE_LIMIT
    of them gets 429 before anything is read, so nobody can fill the audit trail with refusals."""
    allowed, retry_after = request.app.state.api_auth_failures.test("federation-refusal", _address(request))
    if not allowed:
        raise ApiError(429, "rate_limited", f"too many refused requests from this address; retry in {retry_after} s",
                       headers={"Retry-After": str(retry_after)})


def _refused(request: Request, refusal: Refusal) -> ApiError:
    request.app.state.api_auth_failures.hit("federation-refusal", _address(request))
    headers = {"WWW-Authenticate": "Balise-Signature"} if refusal.status == 401 else None
    return ApiError(refusal.status, refusal.code, refusal.message, headers=headers)


@router.post(
    "/referrals", summary="A partner installation refers a reported URL to this one", response_model=None,
    status_code=201,
    responses={201: {"model": ReferralAck, "description": "Received: a report is open in this installation's queue"},
               200: {"model": ReferralAck, "description": "Received before (the sender's retry): the same answer"},
               **errors(409, 413, 422, s409="`replayed`: this nonce was used already", **_REFUSALS)},
    openapi_extra={"parameters": _SIGNED_HEADERS, "security": [],
                   **json_request_body(ReferralIn, "the referral: URL, assessment, classification, evidence "
                                                   "package reference; never content")},
)
async def receive_referral(request: Request) -> Any:
    _not_flooded(request)
    body = await read_body(request, MAX_BODY)
    try:
        status, ack = await run_in_threadpool(request.app.state.balise.referrals.receive, request.headers, body)
    except Refusal as refusal:
        raise _refused(request, refusal) from None
    return JSONResponse(ack, status_code=status)


@router.post(
    "/referrals/{referral_id}/outcome", summary="The partner's outcome of a referral this installation sent",
    response_model=None,
    responses={200: {"model": OutcomeAck, "description": "Our leg of the referral is closed"},
               **errors(404, 409, 413, 422, s404="`unknown_referral`: no such referral was sent to this partner",
                        s409="`already_closed`, or `replayed`: this nonce was used already", **_REFUSALS)},
    openapi_extra={"parameters": _SIGNED_HEADERS, "security": [],
                   **json_request_body(OutcomeIn, "removed (and when) or not illegal at the partner")},
)
async def receive_outcome(request: Request, referral_id: str = Path(max_length=64)) -> Any:
    _not_flooded(request)
    body = await read_body(request, MAX_BODY)
    try:
        return await run_in_threadpool(request.app.state.balise.referrals.receive_outcome, referral_id,
                                       request.headers, body)
    except Refusal as refusal:
        raise _refused(request, refusal) from None
