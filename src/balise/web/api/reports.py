"""/api/v1/reports: providers file reports and read their outcome."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from balise.accounts.organisations import Principal
from balise.adapters.db.models import Item, Report
from balise.domain.model import ReportType, Scope, UserDecision
from balise.intake.filing import FiledReport, IntakeError, UploadedFile, request_fingerprint
from balise.intake.report_schema import (
    AwarenessIn,
    ProviderIn,
    ReportedElsewhereIn,
    ReportIn,
    VictimIn,
    describe_errors,
)
from balise.web.api.bodies import (
    NUL,
    Document,
    nul_in,
    parse_json,
    read_body,
    read_document,
    read_form,
    read_json,
    too_large,
    validate_strictly,
)
from balise.web.api.contract import (
    IDEMPOTENCY_KEY_PARAMETER,
    IDEMPOTENT_REPLAYED,
    LOCATION,
    FiledOut,
    ReportStatusOut,
    errors,
    json_request_body,
    model_ref,
)
from balise.web.api.deps import ApiError, no_key, presented_key, principal_with, require_scope

router = APIRouter(prefix="/api/v1", tags=["reports"])

IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


def _item_out(item: Item) -> dict[str, Any]:
    extra = item.hashes or {}
    return {
        "id": str(item.id), "position": item.position, "kind": item.kind,
        "media_type": item.media_type, "size": item.size,
        "md5": item.md5, "sha1": item.sha1, "sha256": item.sha256, "url": item.url,
        "pdq": extra.get("pdq"), "pdq_quality": extra.get("pdq_quality"),
        "hash_status": item.hash_status, "hash_error": item.hash_error,
        "hash_notes": item.hash_notes or [], "polyglot": bool(item.polyglot),
        "matched": bool(item.matched),
        "matches": [
            {k: m.get(k) for k in ("indicator_id", "algorithm", "distance", "kind", "transform") if m.get(k) is not None}
            for m in (item.matches or [])
        ],
    }


def _filed_out(report: Report, items: list[Item]) -> dict[str, Any]:
    return {
        "id": str(report.id), "state": report.state, "urgent": report.urgent,
        "created_at": report.created_at.isoformat(),
        "items": [_item_out(i) for i in sorted(items, key=lambda i: i.position)],
    }


def _instructions(holds: Any) -> dict[str, Any]:
    """What a law-enforcement hold asks of the provider (CSAR Art. 48(6)), without who asked
    or why: the provider needs to comply, not to know the investigation."""
    return {
        "do_not_inform_user_until": holds.do_not_inform_until.isoformat() if holds.do_not_inform_until else None,
        "do_not_remove_until": holds.do_not_remove_until.isoformat() if holds.do_not_remove_until else None,
    }


def _with_orders(balise: Any, session: Any, principal: Principal, out: dict[str, Any]) -> dict[str, Any]:
    """The orders addressed to the provider about this report (docs/orders.md); an active
    non-disclosure period of a removal order (CSAR Art. 15(4)) also reaches the instructions."""
    orders = balise.orders.provider_view(session, uuid.UUID(out["id"]), principal.organisation_id, balise.clock())
    if orders:
        out["orders"] = orders
        ends = [o["non_disclosure_until"] for o in orders if o["non_disclosure_until"]]
        if ends and "instructions" in out:
            held = out["instructions"]["do_not_inform_user_until"]
            out["instructions"]["do_not_inform_user_until"] = max([*ends, *([held] if held else [])])
    return out


def _status_out(report: Report, holds: Any = None) -> dict[str, Any]:
    return {
        **({"instructions": _instructions(holds)} if holds is not None else {}),
        "id": str(report.id), "state": report.state, "source": report.source, "urgent": report.urgent,
        "created_at": report.created_at.isoformat(), "updated_at": report.updated_at.isoformat(),
        "outcome": report.outcome, "reasons": report.outcome_reasons or [], "outcome_text": report.outcome_text,
        "missing_fields": report.missing_fields or [], "information_request": report.information_request,
        # Set when retention redacted the report (docs/retention.md): state and outcome stay,
        # texts, URLs and file names are gone.
        "redacted_at": report.redacted_at.isoformat() if report.redacted_at else None,
        "items": [_item_out(i) for i in report.items],
        "history": [
            {"from": e.from_state, "to": e.to_state, "at": e.occurred_at.isoformat(), "reason": e.reason}
            for e in report.events
        ],
    }


_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": model_ref(ReportIn)},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["report"],
                "properties": {
                    # The same document as the JSON body, sent as a text part.
                    "report": {**model_ref(ReportIn), "description": "the report document (JSON)"},
                },
                "additionalProperties": {"type": "string", "format": "binary",
                                         "description": "a file part, named by a media item's `file`"},
            },
            "encoding": {"report": {"contentType": "application/json"}},
        },
    },
}


async def _read_submission(request: Request) -> tuple[Any, dict[str, UploadedFile]]:
    """The document and file parts of a submission that is not JSON (JSON: file_report)."""
    settings = request.app.state.balise.settings
    if _content_type(request) == "multipart/form-data":
        form = await read_form(request, "report", max_files=settings.max_items_per_report, max_fields=10,
                               max_part_size=settings.max_json_bytes)
        document = form.get("report")
        if document is None or isinstance(document, UploadFile):
            if isinstance(document, UploadFile):
                if (document.size or 0) > settings.max_json_bytes:
                    raise too_large(settings.max_json_bytes)
                document = await document.read()
            else:
                raise ApiError(422, "missing_report", "a multipart submission needs a 'report' part with the JSON document",
                               [{"field": "report", "message": "missing"}])
        files: dict[str, UploadedFile] = {}
        for name, value in form.multi_items():
            if NUL in name:
                raise nul_in(f"part {name!r}")
            if name == "report":
                continue
            if not isinstance(value, UploadFile):
                raise ApiError(422, "unexpected_field", f"form field {name!r} is not a file; only 'report' may be text")
            if name in files:
                raise ApiError(422, "duplicate_file_part", f"file part {name!r} appears twice")
            if value.filename and NUL in value.filename:
                raise nul_in(f"{name}.filename")
            if value.content_type and NUL in value.content_type:
                raise nul_in(f"{name}.content_type")
            files[name] = UploadedFile(part=name, stream=value.file, filename=value.filename,
                                       content_type=value.content_type)
        return parse_json(document, settings.max_json_depth, "the 'report' part"), files
    raise ApiError(415, "unsupported_media_type", "send application/json or multipart/form-data")


@router.post(
    "/reports",
    status_code=201,
    summary="File a report (Annex III)",
    response_model=None,
    openapi_extra={"requestBody": _REQUEST_BODY, "parameters": [IDEMPOTENCY_KEY_PARAMETER]},
    responses={
        201: {"model": FiledOut, "description": "Stored (or replayed: `Idempotent-Replayed: true`)",
              "headers": {"Location": LOCATION, "Idempotent-Replayed": IDEMPOTENT_REPLAYED}},
        **errors(409, 413, 415, 422,
                 s409="`idempotency_conflict`: the Idempotency-Key was used with another body",
                 s413="`payload_too_large`, `file_too_large` or `too_many_items`",
                 s422="`invalid_report` (`fields` names each problem, `missing` the absent required fields); or the "
                      "multipart parts do not match the items, a declared hash differs from the file's, the "
                      "Idempotency-Key or the JSON is invalid (docs/api.md#errors)"),
    },
)
async def file_report(request: Request) -> JSONResponse:
    # A JSON report is read on the event loop (its bytes, within their limit), then its key is
    # checked, the document parsed and checked, and the report filed, all in one trip to the
    # thread pool: each trip wakes the event loop, and a separate one for the key cost a tenth
    # of a hash-only report's server CPU (issue 19). The refusals keep their order: the key's,
    # then the Idempotency-Key's, then the document's. A multipart submission is read only
    # once its key has passed: its parts are spooled to disk as they arrive.
    if not presented_key(request):
        raise no_key()
    balise = request.app.state.balise
    if _content_type(request) == "application/json":
        raw = await read_body(request, balise.settings.max_json_bytes)
        filed = await _run_sync(_check_and_file_json, request=request, raw=raw)
    else:
        principal = await _run_sync(_authenticate, request=request)
        key = _idempotency_key(request)
        payload, files = await _read_submission(request)
        report = _validate(payload)
        filed = await _run_sync(_prepare_and_file, balise=balise, principal=principal, payload=payload,
                                report=report, files=files, key=key)
    headers = {"Location": f"/api/v1/reports/{filed.report.id}"}
    if filed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(_filed_out(filed.report, filed.items), status_code=201, headers=headers)


_authenticate = require_scope(Scope.REPORTS_WRITE)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_RE.match(key):
        raise ApiError(422, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters",
                       [{"field": "Idempotency-Key", "message": "invalid"}])
    return key


def _validate(payload: Any) -> ReportIn:
    """``payload`` (a parsed value, or the :class:`Document` it was read from: validated from
    its bytes when nothing in it needs rewriting, see :func:`validate_strictly`) as a report."""
    value = payload.value if isinstance(payload, Document) else payload
    if not isinstance(value, dict):
        raise ApiError(422, "invalid_report", "the report must be a JSON object", [{"field": "(body)", "message": "not an object"}])
    try:
        return validate_strictly(ReportIn, payload)
    except ValidationError as exc:
        fields, missing = describe_errors(exc)
        message = "the report is invalid"
        if missing:
            message += "; missing required fields: " + ", ".join(missing)
        raise ApiError(422, "invalid_report", message, fields, extra={"missing": missing}) from exc


def _check_and_file_json(*, request: Request, raw: bytes) -> FiledReport:
    principal = _authenticate(request)
    key = _idempotency_key(request)
    balise = request.app.state.balise
    document = read_document(raw, balise.settings.max_json_depth, "the body")
    report = _validate(document)
    return _prepare_and_file(balise=balise, principal=principal, payload=document.value, report=report, files={},
                             key=key)


def _prepare_and_file(*, balise: Any, principal: Principal, payload: dict[str, Any], report: ReportIn,
                      files: dict[str, UploadedFile], key: str | None) -> FiledReport:
    # Exact hashes of every file part, streamed. Perceptual hashing is not done here but by a
    # media.hash job queued with the report.
    try:
        balise.intake.prepare_files(report, files)
        return balise.intake.file(actor=principal.actor, organisation_id=principal.organisation_id, report=report,
                                  files=files, fingerprint=request_fingerprint(payload, files), idempotency_key=key,
                                  grouped=True)
    except IntakeError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.fields) from exc


async def _run_sync(fn: Any, **kwargs: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, **kwargs)


@router.get("/reports/{report_id}", summary="Read the state and outcome of one of your reports",
            response_model=None,
            responses={200: {"model": ReportStatusOut, "description": "The report"},
                       **errors(404, 422, s422="`invalid_request`: the id is not a UUID")})
def get_report(report_id: uuid.UUID, request: Request,
               principal: Principal = principal_with(Scope.REPORTS_READ)) -> dict[str, Any]:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        report = balise.intake.get_for_organisation(session, principal.actor, principal.organisation_id, report_id)
        if report is None:
            # The same answer whether it does not exist or belongs to someone else.
            raise ApiError(404, "not_found", f"no report {report_id} for this organisation")
        return _with_orders(balise, session, principal, _status_out(report, balise.holds.active(session, report.id)))


class ReportPatch(BaseModel):
    """Information a provider adds to a report Balise asked it to complete."""

    model_config = ConfigDict(extra="forbid")
    signature: Annotated[str, Field(min_length=1, max_length=10_000)] | None = None
    provider: ProviderIn | None = None
    user_decision: UserDecision | None = None
    reported_elsewhere: ReportedElsewhereIn | None = None
    victims: Annotated[list[VictimIn], Field(max_length=100)] | None = None
    additional_info: Annotated[str, Field(max_length=20_000)] | None = None
    awareness: AwarenessIn | None = None
    content_removed: bool | None = None
    type: ReportType | None = None


@router.patch(
    "/reports/{report_id}",
    summary="Complete a report Balise asked information for",
    response_model=None,
    openapi_extra=json_request_body(ReportPatch, "the missing fields, in the shapes of a filing"),
    responses={200: {"model": ReportStatusOut, "description": "The report, back to triage"},
               **errors(404, 409, 413, 415, 422,
                        s409="`not_requested`: the report is not waiting for information",
                        s422="`invalid_patch`, `empty_patch`, or the JSON or the id is invalid")},
)
async def patch_report(report_id: uuid.UUID, request: Request,
                       principal: Principal = principal_with(Scope.REPORTS_WRITE)) -> dict[str, Any]:
    balise = request.app.state.balise
    raw = await read_json(request)
    try:
        patch = validate_strictly(ReportPatch, raw)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise ApiError(422, "invalid_patch", "the patch is invalid", fields) from exc
    data = patch.model_dump(exclude_none=True, mode="json")
    if not data:
        raise ApiError(422, "empty_patch", "nothing to change: send at least one field")
    return await _run_sync(_supply, balise=balise, principal=principal, report_id=report_id, data=data)


def _supply(balise: Any, principal: Principal, report_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    from balise.casework.triage import supply_information

    with balise.db.transaction() as session:
        report = balise.intake.get_for_organisation(session, principal.actor, principal.organisation_id, report_id)
        if report is None:
            raise ApiError(404, "not_found", f"no report {report_id} for this organisation")
        if report.state not in ("incomplete", "information_requested"):
            raise ApiError(409, "not_requested", f"the report is {report.state}; information can be added only when requested")
        supply_information(session, balise.audit, report, data, principal.actor, balise.clock())
        balise.jobs.enqueue(session, "report.triage", {"report_id": str(report.id)}, dedupe_key=f"triage:{report.id}")
        return _with_orders(balise, session, principal, _status_out(report, balise.holds.active(session, report.id)))
