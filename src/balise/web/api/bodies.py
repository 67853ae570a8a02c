"""JSON documents sent to the API: bounded in size before they are read in full, parsed without
Python recursion, bounded in depth, and free of NUL characters — every refusal a 4xx in the
API's error shape, before anything is stored.

Parsing is pydantic-core's (jiter, in Rust): it refuses nesting past its own limit (about 200
levels) with an error instead of exhausting Python's stack as ``json.loads`` does, which made a
deeply nested body a 500. The API's documents are shallow; ``max_json_depth`` refuses anything
deeper than they can be. PostgreSQL text cannot hold U+0000, so a string holding it is refused
with the field it is in, instead of failing the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic_core
from fastapi import Request
from pydantic import BaseModel
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from balise.web.api.deps import ApiError

NUL = "\x00"
M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the JSON document exceeds the limit of {limit} bytes",
                    headers={"Connection": "close"})


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type (``application/merge-patch+json``), any parameters."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def read_json_bytes(request: Request) -> bytes:
    """The JSON body's bytes, not parsed yet: 415 unless the request says it is JSON, then
    bounded as above."""
    if not is_json(request.headers.get("content-type")):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return await read_body(request, request.app.state.balise.settings.max_json_bytes)


async def read_json(request: Request) -> Any:
    """The JSON body, parsed and checked (:func:`read_json_bytes`, :func:`parse_json`)."""
    return parse_json(await read_json_bytes(request), request.app.state.balise.settings.max_json_depth, "the body")


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed and checked JSON document (:func:`read_document`): its value, the bytes it was
    read from, and whether it holds a number written as a float."""

    value: Any
    raw: bytes
    has_float: bool


def parse_json(raw: bytes | str, max_depth: int, where: str) -> Any:
    """The JSON value of ``raw``; ApiError (422) if it is not JSON, nests deeper than
    ``max_depth`` or holds a NUL character in a key or a string."""
    return read_document(raw, max_depth, where).value


def read_document(raw: bytes | str, max_depth: int, where: str) -> Document:
    """:func:`parse_json`, keeping the bytes for :func:`validate_strictly`."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    try:
        value = pydantic_core.from_json(raw)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise too_deep(where, max_depth) from exc
        raise ApiError(422, "malformed_json", f"{where} is not valid JSON: {exc}") from exc
    return Document(value, raw, check_value(value, max_depth, where))


def too_deep(where: str, max_depth: int) -> ApiError:
    return ApiError(422, "json_too_deep", f"{where} nests arrays and objects more than {max_depth} levels deep")


def check_value(value: Any, max_depth: int, where: str) -> bool:
    """Walks the value without recursion: depth, and NUL in keys and strings (named by path).
    Returns whether it holds a float."""
    has_float = False
    stack: list[tuple[Any, tuple[str, ...], int]] = [(value, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= max_depth:
                raise too_deep(where, max_depth)
            pairs = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in pairs:
                if isinstance(key, str) and NUL in key:
                    raise nul_in(".".join((*path, key.replace(NUL, "\\u0000"))))
                stack.append((child, (*path, str(key)), depth + 1))
        elif isinstance(node, str):
            if NUL in node:
                raise nul_in(".".join(path) or "(body)")
        elif isinstance(node, float):
            has_float = True
    return has_float


def nul_in(field: str) -> ApiError:
    return ApiError(422, "nul_character",
                    f"{field} contains a NUL character (U+0000), which cannot be stored; remove it",
                    [{"field": field, "message": "contains a NUL character (U+0000)"}])


def validate_strictly(model: type[M], value: Any) -> M:
    """``value`` (parsed JSON, or a :class:`Document`) as ``model``, validated as JSON in strict
    mode: a value of the wrong JSON type is refused instead of coerced (`false` is not the
    integer 0, `"5"` not a number, `"true"` not a boolean), as the OpenAPI document says. A
    number is a number, however written: `29.0` is the integer 29, as in JSON Schema. Raises
    ValidationError."""
    if isinstance(value, Document):
        if not value.has_float:
            # Nothing to rewrite: the bytes read are the document, validated as they are
            # (a 100-hash match spent a tenth of its request time writing them again; issue 19).
            return model.model_validate_json(value.raw, strict=True)
        value = value.value
    return model.model_validate_json(pydantic_core.to_json(_integral_floats_as_ints(value)), strict=True)


def _integral_floats_as_ints(value: Any) -> Any:
    # Depth is bounded by check_value before any document gets here.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


async def read_form(request: Request, document: str, *, max_files: int, max_fields: int,
                    max_part_size: int) -> FormData:
    """A multipart body's parts (files spooled to disk): 413 when a text part, such as the
    ``document`` part, passes ``max_part_size``; 422 ``malformed_multipart`` when the body does
    not parse. Starlette turns its parser's refusal into a bare 400 once an application is in
    the request's scope: both are caught, so neither reaches the client in another shape."""
    try:
        return await request.form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
    except (MultiPartException, HTTPException) as exc:
        message = exc.message if isinstance(exc, MultiPartException) else str(exc.detail)
        if "maximum size" in message:
            raise ApiError(413, "payload_too_large", f"the {document!r} part exceeds the limit of {max_part_size} bytes",
                           [{"field": document, "message": "too large"}]) from exc
        raise ApiError(422, "malformed_multipart", message) from exc
