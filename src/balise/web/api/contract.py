"""What the /api/v1 OpenAPI document declares beyond what FastAPI infers: the one error shape,
each status code an operation can answer with its headers, the request bodies of endpoints
that read their body by hand (bounded, see ``bodies.py``), and the answers' shapes.

The models here document; the endpoints build their answers as dicts. The schemathesis test
(tests/test_api_contract_holds_under_schemathesis.py) checks that every answer matches what is
declared here, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# -- the error shape -------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="the field, dotted (`items.0.hashes.md5`), a header or a part name")
    message: str


class MissingGrant(BaseModel):
    operation: str = Field(description="`match`, `download` or `read_reports`")
    databases: list[str] = Field(description="the databases of which none is covered")


class ErrorBody(BaseModel):
    """Every error of the API: a stable `error` code, a message for people, and the fields."""

    error: str = Field(description="stable code, e.g. `invalid_report`, `not_found` (docs/api.md#errors)")
    message: str
    fields: list[FieldError] | None = Field(default=None, description="each field in error, when there are fields")
    missing: list[str] | None = Field(default=None, description="`invalid_report`: the absent required fields")
    missing_grant: MissingGrant | None = Field(
        default=None, description="`no_grant`: the operation and databases no live access grant allows")


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


RETRY_AFTER = _header("seconds until the key may call again", {"type": "string", "pattern": "^[0-9]+$"})
WWW_AUTHENTICATE = _header("`Bearer`")

_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("`ambiguous_framing`: both `Content-Length` and `Transfer-Encoding`; the connection is closed", {}),
    401: ("`unauthenticated`: no, malformed, unknown or revoked API key", {"WWW-Authenticate": WWW_AUTHENTICATE}),
    403: ("`forbidden`: the key lacks the scope", {}),
    404: ("`not_found`: no such report for this organisation", {}),
    409: ("conflict", {}),
    413: ("`payload_too_large`: the body over the limit", {}),
    415: ("`unsupported_media_type`: the body is not of a media type the endpoint reads", {}),
    422: ("the request is invalid; `fields` names each problem", {}),
    429: ("`rate_limited`: over the key's rate limit", {"Retry-After": RETRY_AFTER}),
}


def errors(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses, each with the error shape (and its headers).
    ``descriptions`` override the default text per status: ``s409="…"``. Every operation can
    answer 401, 403 and 429 (authentication comes first) and 400 (framing)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({400, 401, 403, 429, *statuses}):
        text, headers = _ERRORS[status]
        entry: dict[str, Any] = {"model": ErrorBody, "description": descriptions.get(f"s{status}", text)}
        if headers:
            entry["headers"] = headers
        out[status] = entry
    return out


# -- request bodies read by hand -------------------------------------------------------------

#: Models whose JSON schema (and ``$defs``) go into ``components/schemas``.
REQUEST_MODELS: list[type[BaseModel]] = []


def model_ref(model: type[BaseModel]) -> dict[str, str]:
    if model not in REQUEST_MODELS:
        REQUEST_MODELS.append(model)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def json_request_body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that reads (and bounds) its JSON body itself."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": model_ref(model)}}}}


def request_components() -> dict[str, Any]:
    """The schemas of :data:`REQUEST_MODELS` and their definitions, for ``components``."""
    components: dict[str, Any] = {}
    for model in REQUEST_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


# -- answers ---------------------------------------------------------------------------------


class _Out(BaseModel):
    # Answers may gain fields; a client must ignore those it does not know.
    model_config = ConfigDict(extra="allow")


class ItemMatchOut(_Out):
    indicator_id: int | None = None
    algorithm: str | None = None
    distance: int | None = None
    kind: str | None = None
    transform: str | None = Field(default=None, description="the dihedral variant that matched, e.g. `rotate90`")


class ItemOut(_Out):
    id: str
    position: int
    kind: str = Field(description="`media`, `url` or `hash_only`")
    media_type: str | None
    size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    url: str | None
    pdq: str | None
    pdq_quality: int | None
    hash_status: str = Field(description="`pending`, `ok`, `low_quality`, `error`, `provided` or `not_applicable`")
    hash_error: str | None
    hash_notes: list[str]
    polyglot: bool
    matched: bool
    matches: list[ItemMatchOut]


class FiledOut(_Out):
    """The answer to a filing: the stored report and its items."""

    id: str
    state: str
    urgent: bool
    created_at: str
    items: list[ItemOut]


class InstructionsOut(_Out):
    do_not_inform_user_until: str | None
    do_not_remove_until: str | None


class HistoryOut(_Out):
    from_: str | None = Field(alias="from")
    to: str
    at: str
    reason: str | None


class ReportStatusOut(_Out):
    """A report's state, outcome, items and history."""

    id: str
    state: str
    source: str
    urgent: bool
    created_at: str
    updated_at: str
    outcome: str | None
    reasons: list[str]
    outcome_text: str | None
    missing_fields: list[str]
    information_request: str | None
    redacted_at: str | None
    instructions: InstructionsOut | None = None
    items: list[ItemOut]
    history: list[HistoryOut]


class MatchResultOut(_Out):
    index: int
    type: str
    value: str | None = None
    status: str = Field(description="`ok`, `low_quality` or `invalid` (then `error` says why)")
    matches: list[dict[str, Any]]
    error: str | None = None


class MatchOut(_Out):
    indicator_version: int
    databases: list[str] = Field(description="the databases searched: those your live access grants cover")
    grants: list[int] = Field(description="the access grants the query was answered under")
    matched: int = Field(description="how many of the hashes matched")
    results: list[MatchResultOut]


class GrantOut(_Out):
    """An access grant (CSAR Art. 46) as its organisation sees it."""

    id: int
    state: str = Field(description="`requested`, `awaiting_second_approval`, `approved`, `rejected`, `revoked` "
                                   "or `expired`")
    live: bool = Field(description="approved and inside its validity: keys act under it now")
    databases: list[str]
    operations: list[str]
    purpose: str
    legal_basis: str
    order_reference: str | None
    valid_from: str
    valid_until: str
    requested_at: str
    decided_at: str | None
    decision_reason: str | None
    revoked_at: str | None
    revoke_reason: str | None
    last_used_at: str | None


class GrantListOut(_Out):
    grants: list[GrantOut]


class EntityReportOut(_Out):
    id: str
    state: str
    created_at: str


class EntityMatchOut(_Out):
    kind: str = Field(description="`account`, `email`, `phone`, `ip`, `url`, `domain`, `iban`, `card_bin`, "
                                  "`payment_account`, `bitcoin`, `ethereum`, `monero` or `file_name`")
    value: str = Field(description="the normal form (E.164, EIP-55, lower-case e-mail…); the text as given when not valid")
    valid: bool = Field(description="false: kept as unvalidated text (bad checksum, bad syntax), never linked")
    problem: str | None = Field(description="why not valid: `bad_checksum`, `bad_syntax`, `unknown_format`, "
                                            "`no_country_code`, `not_a_number`, `too_long`")
    hidden: int = Field(description="reports naming it that your organisation may not see (not forwarded)")
    reports: list[EntityReportOut]


class EntitySearchOut(_Out):
    kinds: list[str] = Field(description="the kinds of entity the value was read as")
    matches: list[EntityMatchOut]


class HashOut(_Out):
    """The hashes of a file (or `status: "error"` and `error`)."""

    status: str
    filename: str | None = None


LOCATION = _header("`/api/v1/reports/{id}`")
IDEMPOTENT_REPLAYED = _header("`true` when the answer replays an earlier submission with the same key",
                              {"type": "string", "enum": ["true"]})

IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "1-255 visible ASCII characters; a retry with the same key and body returns the same "
                   "report (`Idempotent-Replayed: true`), another body → 409",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
