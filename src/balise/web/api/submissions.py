"""/api/v1/submissions: a coordinating authority submits hashes a competent authority confirmed,
with its decision reference (CSAR Art. 36); the centre generates indicators only from these
(docs/orders.md). Only a coordinating authority's key may call it."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from balise.accounts.organisations import Principal
from balise.adapters.db.models import Indicator, IndicatorSubmission
from balise.detection.submissions import NotAnAuthority, hash_material
from balise.domain.submissions import (
    MAX_HASHES,
    MAX_NOTE,
    MAX_REFERENCE,
    InvalidSubmission,
    SubmissionChannel,
    check_submission,
)
from balise.intake.report_schema import describe_errors
from balise.web.api.bodies import parse_json, read_form, read_json, validate_strictly
from balise.web.api.contract import _Out, errors, model_ref
from balise.web.api.deps import ApiError, principal_with

router = APIRouter(prefix="/api/v1", tags=["submissions"])
MAX_FILES = 100


def submission_request_body() -> dict[str, Any]:
    """JSON, or multipart: the same JSON in a `submission` part and the material as file parts."""
    schema = model_ref(SubmissionIn)
    return {"requestBody": {"required": True, "description": "the decision reference, the process and the hashes; "
                            "or, as multipart/form-data, that JSON in a `submission` part and the confirmed material "
                            "(pictures, videos) as file parts, hashed by the centre",
                            "content": {"application/json": {"schema": schema},
                                        "multipart/form-data": {"schema": {
                                            "type": "object", "required": ["submission"],
                                            "properties": {"submission": schema},
                                            "additionalProperties": {"type": "string", "format": "binary"}}}}}}


class SubmittedHashIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    algorithm: Annotated[str, Field(max_length=32)] = Field(
        description="`md5`, `sha1`, `sha256`, `video_md5`, `pdq`, `photodna`, or `url` (kind `url` only)")
    value: Annotated[str, Field(max_length=2000)] = Field(description="the hash in hexadecimal, or the URL")


class SubmissionIn(BaseModel):
    """Hashes a competent authority confirmed, under its decision."""

    model_config = ConfigDict(extra="forbid")
    reference: Annotated[str, Field(max_length=MAX_REFERENCE)] | None = Field(
        default=None, description="the reference of the authority's decision (required: without it nothing is "
                                  "generated)")
    process: str | None = Field(default=None, description="`authority_confirmation` (default) or `court_decision`")
    kind: str | None = Field(default=None, description="the database: `known_csam` (default), `new_csam`, "
                                                       "`solicitation` or `url`")
    decided_at: AwareDatetime | None = Field(default=None, description="when the authority decided")
    hashes: Annotated[list[SubmittedHashIn], Field(max_length=MAX_HASHES)] = Field(
        default_factory=list, description="what was confirmed, one hash (or URL) per entry; may be empty when "
                                          "the material is sent as files (multipart)")
    classification: dict[str, Any] | None = Field(default=None, description="as for indicators (docs/detection.md)")
    note: Annotated[str, Field(max_length=MAX_NOTE)] | None = None


class SubmittedIndicatorOut(_Out):
    id: int
    algorithm: str
    value: str
    status: str
    outcome: str = Field(description="`created`, `confirmed` (the centre's candidate, now active) or `reconfirmed`")


class SubmissionOut(_Out):
    """An Article 36 submission as its authority sees it."""

    id: int
    reference: str
    process: str
    kind: str
    received_at: str
    decided_at: str | None
    withdrawn_at: str | None
    hash_count: int
    indicators: list[SubmittedIndicatorOut] | None = None


class SubmissionListOut(_Out):
    submissions: list[SubmissionOut]


def submission_out(s: IndicatorSubmission, indicators: list[tuple[Indicator, str]] | None = None) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    out: dict[str, Any] = {"id": s.id, "reference": s.reference, "process": s.process, "kind": s.kind,
                           "received_at": s.received_at.isoformat(), "decided_at": iso(s.decided_at),
                           "withdrawn_at": iso(s.withdrawn_at), "hash_count": s.hash_count}
    if indicators is not None:
        out["indicators"] = [{"id": i.id, "algorithm": i.algorithm, "value": i.value, "status": i.status,
                              "outcome": outcome} for i, outcome in indicators]
    return out


def _require_authority(request: Request, principal: Principal) -> None:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        try:
            balise.submissions.authority(session, principal.organisation_id)
        except NotAnAuthority as exc:
            balise.submissions.refuse(session, principal.actor, str(exc), "api_key")
            refused = str(exc)
        else:
            return
    raise ApiError(403, "not_a_coordinating_authority", refused)


async def _read_submission(request: Request, folder: str) -> tuple[Any, list[tuple[str, str | None, str, int]]]:
    """The JSON body, or a multipart form: a `submission` part (the same JSON) and file parts
    (the material), each copied to ``folder`` (at most the file limit; the rest is not read)."""
    balise = request.app.state.balise
    settings = balise.settings
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return await read_json(request), []
    form = await read_form(request, "submission", max_files=MAX_FILES, max_fields=2,
                           max_part_size=settings.max_json_bytes)
    document = form.get("submission")
    if isinstance(document, UploadFile):
        document = await document.read(settings.max_json_bytes + 1)
    if document is None:
        raise ApiError(422, "invalid_submission", "a multipart submission needs a 'submission' part with the JSON",
                       [{"field": "submission", "message": "missing"}])
    files: list[tuple[str, str | None, str, int]] = []
    for n, (name, value) in enumerate(form.multi_items()):
        if name == "submission":
            continue
        if not isinstance(value, UploadFile):
            raise ApiError(422, "invalid_submission", f"form field {name!r} is not a file",
                           [{"field": name, "message": "only 'submission' may be text"}])
        if any(name == f[0] for f in files):
            raise ApiError(422, "invalid_submission", f"file part {name!r} appears twice",
                           [{"field": name, "message": "appears twice"}])
        path = os.path.join(folder, f"part-{n}")
        size = 0
        with open(path, "wb") as out:
            while chunk := await value.read(1 << 20):
                size += len(chunk)
                if size > settings.max_file_bytes:
                    raise ApiError(413, "invalid_submission", f"{name}: has more than {settings.max_file_bytes} bytes",
                                   [{"field": name, "message": f"the limit is {settings.max_file_bytes} bytes"}])
                out.write(chunk)
        files.append((name, value.filename, path, size))
    return parse_json(document, settings.max_json_depth, "the 'submission' part"), files


@router.post(
    "/submissions",
    status_code=201,
    summary="Submit confirmed hashes with the authority's decision reference (CSAR Art. 36)",
    response_model=None,
    openapi_extra=submission_request_body(),
    responses={201: {"model": SubmissionOut, "description": "The submission and the indicators it generated "
                                                           "or confirmed"},
               **errors(413, 415, 422,
                        s403="`not_a_coordinating_authority`: only a coordinating authority's key submits",
                        s422="`invalid_submission`: `fields` names the problem (no reference, an unknown "
                             "algorithm, a hash of the wrong length or not hexadecimal…); nothing is stored")},
)
async def submit(request: Request, principal: Principal = principal_with(None)) -> JSONResponse:
    balise = request.app.state.balise
    _require_authority(request, principal)
    with tempfile.TemporaryDirectory(prefix="balise-submission-") as folder:
        raw, files = await _read_submission(request, folder)
        try:
            body = validate_strictly(SubmissionIn, raw)
        except ValidationError as exc:
            fields, _ = describe_errors(exc)
            raise ApiError(422, "invalid_submission", "the submission is invalid: "
                           + "; ".join(f"{f['field']}: {f['message']}" for f in fields), fields) from exc
        try:
            # Hashing decodes the files (seconds, in an isolated process): off the event loop.
            material = await run_in_threadpool(lambda: [
                hash_material(name, filename, path, size, balise.settings.max_file_bytes, balise.media_hasher)
                for name, filename, path, size in files])
            terms = check_submission(reference=body.reference, process=body.process, kind=body.kind,
                                     hashes=[h.model_dump() for h in body.hashes]
                                     + [h for m in material for h in m.hashes],
                                     authority=principal.organisation_name, decided_at=body.decided_at,
                                     classification=body.classification, note=body.note or "", now=balise.clock())
        except InvalidSubmission as exc:
            raise ApiError(422, "invalid_submission", f"the submission is invalid: {exc}",
                           [{"field": exc.field, "message": exc.message}]) from exc

        def store() -> dict[str, Any]:
            stored: list[Any] = []
            try:
                with balise.db.transaction() as session:
                    result = balise.submissions.submit(session, principal.actor, terms,
                                                       channel=SubmissionChannel.API,
                                                       organisation_id=principal.organisation_id, material=material,
                                                       vault=balise.evidence, stored=stored)
                    return submission_out(result.submission, result.indicators())
            except BaseException:
                for blob in stored:  # the transaction failed: no encrypted file without its record
                    balise.evidence.discard(balise.db.sessions, blob)
                raise

        out = await run_in_threadpool(store)
    return JSONResponse(out, status_code=201)


@router.get("/submissions", summary="List your authority's submissions, newest first", response_model=None,
            responses={200: {"model": SubmissionListOut, "description": "The submissions"},
                       **errors(s403="`not_a_coordinating_authority`")})
def list_submissions(request: Request, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    _require_authority(request, principal)
    with balise.db.sessions() as session:
        return {"submissions": [submission_out(s) for s in
                                balise.submissions.list(session, principal.organisation_id)]}


@router.get("/submissions/{submission_id}", summary="One of your submissions and its indicators now",
            response_model=None,
            responses={200: {"model": SubmissionOut, "description": "The submission"},
                       **errors(404, s403="`not_a_coordinating_authority`")})
def get_submission(request: Request, submission_id: int, principal: Principal = principal_with(None)) -> dict[str, Any]:
    balise = request.app.state.balise
    _require_authority(request, principal)
    with balise.db.sessions() as session:
        s = session.get(IndicatorSubmission, submission_id)
        if s is None or s.organisation_id != principal.organisation_id:
            raise ApiError(404, "not_found", f"no submission {submission_id} of your authority")
        return submission_out(s, [(i, "current") for i in balise.submissions.indicators_of(session, s.id)])


