"""/api/v1/match and /api/v1/hash: find known material by hash, never by content."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from typing import Annotated, Any, Literal

import pydantic_core
from fastapi import APIRouter, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from balise.accounts.organisations import Principal
from balise.detection.matching import HashQuery
from balise.detection.matching_types import MatchOutcome
from balise.domain.audit import AuditEvent
from balise.domain.grants import DATABASE_OF_KIND, GrantDatabase, GrantOperation
from balise.domain.model import Scope
from balise.governance.grants import Access
from balise.intake.report_schema import describe_errors
from balise.web.api.bodies import read_document, read_json_bytes, validate_strictly
from balise.web.api.contract import HashOut, MatchOut, errors, json_request_body
from balise.web.api.deps import (ApiError, admit_on_the_loop, cleared_on_the_loop, no_key, presented_key,
                                 principal_with, require_grant, require_scope)

router = APIRouter(prefix="/api/v1", tags=["detection"])
# Every indicator database, in the order a refusal names them.
INDICATOR_ORDER = (GrantDatabase.KNOWN_INDICATORS, GrantDatabase.NEW_INDICATORS,
                   GrantDatabase.SOLICITATION_INDICATORS, GrantDatabase.URL_LIST)


class FrameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frame_number: Annotated[int, Field(ge=0)]
    quality: Annotated[int, Field(ge=0, le=100)]
    pdq: Annotated[str, Field(min_length=64, max_length=64)]
    timestamp: float = 0.0


class HashIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["md5", "sha1", "sha256", "video_md5", "pdq", "vpdq"]
    value: Annotated[str, Field(max_length=64)] | None = None
    quality: Annotated[int, Field(ge=0, le=100)] | None = Field(default=None, description="PDQ quality; below 50 is not matched")
    dihedral: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=7)] | None = Field(
        default=None, description="the other 7 dihedral PDQ hashes of the image, so rotated or mirrored copies match")
    frames: Annotated[list[FrameIn], Field(max_length=100_000)] | None = Field(default=None, description="vPDQ frames")


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: Annotated[list[HashIn], Field(min_length=1)]
    threshold: Annotated[int, Field(ge=0, le=31)] = Field(default=31, description="largest PDQ Hamming distance that matches")


@router.post(
    "/match",
    summary="Match up to 10,000 hashes against the indicator database",
    response_model=None,
    openapi_extra=json_request_body(MatchIn, "the hashes; per-hash problems come back as status `invalid`"),
    responses={200: {"model": MatchOut, "description": "One result per hash, in order"},
               **errors(413, 415, 422,
                        s413="`too_many_hashes` (over `BALISE_MAX_MATCH_HASHES`) or `payload_too_large`",
                        s422="`invalid_request`: the request is malformed; the JSON is invalid")},
)
async def match(request: Request) -> Response:
    # Refused on the event loop when no key is sent at all; a key is checked in the same trip
    # to the thread pool as the query (each trip wakes the event loop: with the key's check
    # in its own, two per request, a tenth of a cached one-hash match; issue 19). The body is
    # therefore read, within its byte limit, before a key that was sent is checked.
    if not presented_key(request):
        raise no_key()
    raw = await read_json_bytes(request)
    # A small query whose every input this process holds in memory (the rate limits may be in
    # Redis, reached without blocking) is answered here, on the event loop: the trip to the
    # thread pool and back would cost more than the query (a third of a cached one-hash
    # match's server CPU, issue 19). Anything else (a key or grant not cached, an index due
    # for its refresh, a detail to read, a refusal) goes to the thread pool, where the
    # database may be waited on.
    answer = await _answer_on_the_loop(request, raw)
    if answer is not None:
        return _rendered(answer)
    return await run_in_threadpool(_answer, request, raw)


def _rendered(answer: dict[str, Any]) -> Response:
    """The answer as JSON. It is JSON already (str, int, float, lists and dicts read from JSON
    columns): written by pydantic-core without FastAPI's generic encoder walking every value
    (two thirds of a 100-hash request's time in the framework) and three times as fast as
    ``json.dumps`` (a tenth of a 100-hash request; issue 19). Compact, UTF-8, as
    JSONResponse writes it; a float that is not a number (never stored on PostgreSQL) is
    written ``null`` rather than the invalid ``NaN``."""
    return Response(pydantic_core.to_json(answer, inf_nan_mode="null"), media_type="application/json")


def _answer(request: Request, raw: bytes) -> Response:
    # Written in the thread: a large answer does not hold the event loop while it is encoded.
    return _rendered(_answer_document(request, raw))


_GRANT = (GrantOperation.MATCH, INDICATOR_ORDER, "/api/v1/match")
_authenticate = require_scope(Scope.MATCH, _GRANT)
# What the event loop answers itself: at most this many PDQ hashes (dihedral variants
# included), so that no request holds the loop for more than a fraction of a millisecond
# (larger ones, where the trip to the thread pool costs nothing by comparison, go there).
LOOP_PDQ_HASHES = 8
LOOP_BYTES = 4096


def _answer_document(request: Request, raw: bytes) -> dict[str, Any]:
    balise = request.app.state.balise
    principal = _authenticate(request)
    body = _body(balise.settings, raw)
    access: Access = request.state.grant_access  # checked with the key, refused there if missing
    queries = _queries(body)
    outcomes, version = _match_and_record(balise, principal, queries, body.threshold,
                                          [h.type for h in body.hashes], access)
    return _results(body, outcomes, version, access)


async def _answer_on_the_loop(request: Request, raw: bytes) -> dict[str, Any] | None:
    """:func:`_answer_document` without waiting on the database and without a thread, or None
    (having counted and changed nothing) if either could be needed or the request would be
    refused. Every check comes before the first effect (the rate limit's count, the access log's
    entry), so the thread pool, taking over a None, starts from the same state."""
    if len(raw) > LOOP_BYTES:
        return None
    balise = request.app.state.balise
    if balise.settings.match_log_mode == "audit-row":
        return None
    cleared = await cleared_on_the_loop(request, Scope.MATCH, _GRANT)
    if cleared is None:
        return None
    principal, access = cleared
    try:
        body = _body(balise.settings, raw)
    except ApiError:
        return None  # refused by the thread pool, after the key's own refusals as always
    if sum(1 + len(h.dihedral or ()) for h in body.hashes) > LOOP_PDQ_HASHES:
        return None
    if balise.grants.needs_use_mark(access):
        return None
    outcomes = balise.matcher.match_from_memory(_queries(body), threshold=body.threshold)
    if outcomes is None:
        return None
    await admit_on_the_loop(request, principal)
    outcomes = within(outcomes, access)
    queue_match_entry(balise, principal, [h.type for h in body.hashes], outcomes, body.threshold, access=access)
    # The version the index holds now: fresh within BALISE_INDEX_REFRESH_SECONDS (checked above).
    return _results(body, outcomes, balise.pdq_index.version, access)


def _body(settings: Any, raw: bytes) -> MatchIn:
    parsed = read_document(raw, settings.max_json_depth, "the body")
    document = parsed.value
    limit = settings.max_match_hashes
    if isinstance(document, dict) and isinstance(document.get("hashes"), list) and len(document["hashes"]) > limit:
        raise ApiError(413, "too_many_hashes", f"at most {limit} hashes per call, got {len(document['hashes'])}")
    try:
        return validate_strictly(MatchIn, parsed)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise ApiError(422, "invalid_request", "the match request is invalid", fields) from exc


def _queries(body: MatchIn) -> list[HashQuery]:
    return [HashQuery(type=h.type, value=h.value, quality=h.quality, dihedral=h.dihedral,
                      frames=[f.model_dump() for f in h.frames] if h.frames else None) for h in body.hashes]


def _results(body: MatchIn, outcomes: list[MatchOutcome], version: int, access: Access) -> dict[str, Any]:
    matched = sum(1 for o in outcomes if o.matches)
    results = []
    for i, (h, o) in enumerate(zip(body.hashes, outcomes)):
        entry: dict[str, Any] = {"index": i, "type": h.type, "status": o.status, "matches": o.matches}
        if h.value is not None:
            entry["value"] = h.value.lower()
        if o.error:
            entry["error"] = o.error
        results.append(entry)
    return {"indicator_version": version, "matched": matched, "results": results,
            "databases": sorted(d.value for d in access.databases), "grants": [g for g, _ in access.grants]}


def _match_and_record(balise: Any, principal: Principal, queries: list[HashQuery], threshold: int | None,
                      hash_types: list[str], access: Access) -> tuple[list[MatchOutcome], int]:
    outcomes = within(balise.matcher.match(queries, threshold=threshold), access)
    return outcomes, record_match_access(balise, principal, hash_types, outcomes, threshold, access=access)


def within(outcomes: list[MatchOutcome], access: Access) -> list[MatchOutcome]:
    """Only the matches in databases the caller's grants cover: a grant for the indicators of
    known material does not reveal that a hash is in the solicitation list."""
    allowed = {d.value for d in access.databases}
    out = []
    for o in outcomes:
        if o.matches:
            kept = [m for m in o.matches if DATABASE_OF_KIND.get(m.get("kind", "")) in allowed]
            if len(kept) < len(o.matches):
                o = replace(o, matches=kept)
        out.append(o)
    return out


MATCH_PURPOSE = "provider match query"


def record_match_access(balise: Any, principal: Principal, hash_types: list[str], outcomes: list[Any],
                        threshold: int | None, *, access: Access, purpose: str = MATCH_PURPOSE) -> int:
    """Log one answered match query and return the indicator version it was answered at.

    Batched (the default): an entry in the match access log naming the access grant(s) the key
    acted under and their purpose, written with others by its background writer
    (:func:`queue_match_entry`); no transaction of its own, except to note a grant's last use
    (for the Art. 46(7) review) at most once an hour per grant and process.
    ``BALISE_MATCH_LOG_MODE=audit-row`` keeps the former behaviour, one ``indicator:match``
    audit event per query (benchmarks)."""
    if balise.settings.match_log_mode == "audit-row":
        matched = sum(1 for o in outcomes if o.matches)
        with balise.db.transaction() as session:
            balise.audit.record(session, AuditEvent.INDICATOR_MATCH, principal.actor, "organisation",
                                str(principal.organisation_id), _stated(purpose, access),
                                {"hashes": len(hash_types), "matched": matched, "threshold": threshold,
                                 **access.audit_details()})
            balise.grants.used(session, access)
            return balise.indicators.current_version(session)
    queue_match_entry(balise, principal, hash_types, outcomes, threshold, access=access, purpose=purpose)
    if balise.grants.needs_use_mark(access):
        with balise.db.transaction() as session:
            balise.grants.used(session, access)
    # The version the process's index was brought to (within BALISE_INDEX_REFRESH_SECONDS of
    # the database's), read from memory: no database round trip per query (issue 19).
    balise.pdq_index.refresh()
    return balise.pdq_index.version


def queue_match_entry(balise: Any, principal: Principal, hash_types: list[str], outcomes: list[Any],
                      threshold: int | None, *, access: Access, purpose: str = MATCH_PURPOSE) -> None:
    """The query's entry of the match access log, handed to its writer: returns at once."""
    from balise.domain.checkpoints import match_entry

    actor = principal.actor
    balise.match_log.append(match_entry(
        at=balise.clock(), actor_type=actor.type.value, actor_id=actor.id,
        organisation_id=str(principal.organisation_id), key_id=str(principal.key_id),
        grant_id=",".join(str(g) for g, _ in access.grants) or None, purpose=_stated(purpose, access),
        hash_types=hash_types, threshold=threshold, matched_hashes=sum(1 for o in outcomes if o.matches),
        indicator_ids=[m["indicator_id"] for o in outcomes for m in o.matches]))


def _stated(purpose: str, access: Access) -> str:
    return f"{purpose}; {access.audit_purpose()}" if access.grants else purpose


@router.post(
    "/hash",
    summary="Hash an uploaded file without storing it (MD5, SHA-1, SHA-256, PDQ or vPDQ)",
    response_model=None,
    responses={200: {"model": HashOut, "description": "The file's hashes, or `status: \"error\"`"},
               **errors(413, 422, s413="`file_too_large` or `payload_too_large`",
                        s422="`invalid_request`: no `file` part, or `match` is not a boolean")},
)
async def hash_upload(request: Request, file: UploadFile, match: bool = False,
                      principal: Principal = principal_with(Scope.MATCH)) -> dict[str, Any]:
    balise = request.app.state.balise
    # Checked before the work: a key that may not match learns it before uploading in vain.
    access = (await run_in_threadpool(require_grant, request, principal, GrantOperation.MATCH, INDICATOR_ORDER,
                                      "/api/v1/hash") if match else None)
    fd, path = tempfile.mkstemp(prefix="balise-hash-", dir=_tmp_dir(balise))
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > balise.settings.max_file_bytes:
                    raise ApiError(413, "file_too_large", f"the file exceeds {balise.settings.max_file_bytes} bytes")
                out.write(chunk)
        result = await run_in_threadpool(balise.media_hasher, path)
    finally:
        os.unlink(path)
    result.pop("path", None)
    result["filename"] = file.filename
    if match and result.get("status") != "error":
        queries = [HashQuery("md5", result["md5"]), HashQuery("sha1", result["sha1"]), HashQuery("sha256", result["sha256"])]
        if result.get("pdq"):
            queries.append(HashQuery("pdq", result["pdq"], quality=result.get("pdq_quality")))
        outcomes = within(await run_in_threadpool(balise.matcher.match, queries), access)  # type: ignore[arg-type]
        result["matches"] = [m for o in outcomes for m in o.matches]
        # A query of the indicator database like /match: an entry of the match access log.
        await run_in_threadpool(record_match_access, balise, principal, [q.type for q in queries], outcomes, None,
                                access=access, purpose="hash and match a file for a provider")
    await run_in_threadpool(_audit_hash, balise, principal, result, size, access)
    return result


def _audit_hash(balise: Any, principal: Principal, result: dict[str, Any], size: int, access: Access | None) -> None:
    with balise.db.transaction() as session:
        if access is None or "matches" not in result:
            balise.audit.record(session, AuditEvent.MEDIA_HASH, principal.actor, "media",
                                result.get("sha256") or "unknown", "hash a file for a provider, not stored", {"size": size})
        else:
            balise.audit.record(session, AuditEvent.MEDIA_HASH, principal.actor, "media",
                                result.get("sha256") or "unknown", "hash and match a file for a provider, not stored; "
                                + access.audit_purpose(), {"size": size, **access.audit_details()})
            balise.grants.used(session, access)


def _tmp_dir(balise: Any) -> str:
    path = balise.settings.data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(path)
