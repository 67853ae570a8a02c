"""``/ispws``: the NCMEC CyberTipline-compatible reporting API (docs/ncmec-api.md).

A client built for NCMEC's Reporting API works by changing only its base URL and credentials:
HTTP Basic authentication, the same endpoints, XML documents and response codes. It is a
separate ASGI application in front of the main one (:func:`with_ispws`), so that every answer,
even to an oversized body or an unknown path, is a CyberTipline ``<reportResponse>`` with a
``Request-ID`` header, and no cookie, session or CSRF machinery applies.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from balise.domain.ispws import Code, IspwsError
from balise.intake.ispws import IspwsPrincipal
from balise.intake.ncmec import done_response, report_response, schema_bytes
from balise.web.limits import RateLimiter

log = logging.getLogger("balise.ispws")

PREFIX = "/ispws"
XML = "application/xml; charset=utf-8"
MAX_FORM_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024
MAX_REPORT_ID = 2**63 - 1
HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=XML, headers=headers)


def error_response(exc: IspwsError) -> Response:
    headers = dict(exc.headers)
    if exc.http_status == 413:
        headers["connection"] = "close"
    return _xml(report_response(exc.code, exc.description), exc.http_status, headers)


class _RequestId:
    """Adds a fresh ``Request-ID`` and the security headers to every answer, and turns an
    unexpected failure into code 1000 (logged with the request id)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"request-id"]
                headers.append((b"request-id", request_id.encode()))
                present = {k.lower() for k, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette answers with _server_error first, then re-raises for the server's log.
            log.exception("ispws request %s failed", request_id)
            if not started:
                await _server_error_response(request_id)(scope, receive, send_with_id)


def _server_error_response(request_id: str) -> Response:
    return _xml(report_response(Code.SERVER_ERROR, f"Server error: quote Request-ID {request_id} when reporting it"),
                500)


# -- reading requests within limits ----------------------------------------------------------


def _too_large(limit: int) -> IspwsError:
    return IspwsError(Code.INVALID_REQUEST, f"the request body exceeds the limit of {limit} bytes", 413)


def _declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise IspwsError(Code.INVALID_REQUEST, "invalid Content-Length") from None
    if length > limit:
        raise _too_large(limit)


async def _bounded(request: Request, limit: int) -> AsyncIterator[bytes]:
    _declared_length(request, limit)
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        yield chunk


async def _read(request: Request, limit: int) -> bytes:
    return b"".join([chunk async for chunk in _bounded(request, limit)])


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class _FileTooLarge(MultiPartException):
    pass


class _InMemoryMultipart(MultiPartParser):
    """Starlette's parser, but the file stays in memory (never spooled to disk) and is cut off
    at ``file_limit`` bytes."""

    def __init__(self, request: Request, stream: AsyncIterator[bytes], *, max_files: int, file_limit: int) -> None:
        super().__init__(request.headers, stream, max_files=max_files, max_fields=4, max_part_size=4096)
        self.spool_max_size = file_limit + MULTIPART_OVERHEAD
        self._file_limit = file_limit
        self._file_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_part.file is not None:
            self._file_bytes += end - start
            if self._file_bytes > self._file_limit:
                raise _FileTooLarge(f"the file exceeds the limit of {self._file_limit} bytes")
        super().on_part_data(data, start, end)


async def _multipart(request: Request, stream: AsyncIterator[bytes], max_files: int, file_limit: int) -> Any:
    if "boundary=" not in request.headers.get("content-type", ""):
        raise IspwsError(Code.MALFORMED_FILE, "multipart/form-data without a boundary")
    try:
        return await _InMemoryMultipart(request, stream, max_files=max_files, file_limit=file_limit).parse()
    except _FileTooLarge as exc:
        raise IspwsError(Code.UPLOAD_REFUSED, exc.message) from exc
    except MultiPartException as exc:
        raise IspwsError(Code.MALFORMED_FILE, f"malformed multipart body: {exc.message}") from exc


def _report_id(value: Any) -> int:
    if not isinstance(value, str) or not value.strip():
        raise IspwsError(Code.INVALID_REQUEST, "the form field 'id' (the report id) is missing")
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_REPORT_ID:
        raise IspwsError(Code.INVALID_REQUEST, f"the form field 'id' must be a report id (a positive integer), not {text[:40]!r}")
    return int(text)


async def _form_id(request: Request) -> int:
    kind = _media_type(request)
    if kind == "application/x-www-form-urlencoded":
        body = await _read(request, MAX_FORM_BYTES)
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                               max_num_fields=10)
        except (UnicodeDecodeError, ValueError) as exc:
            raise IspwsError(Code.INVALID_REQUEST, f"malformed form body: {exc}") from exc
        ids = [v for k, v in fields if k == "id"]
    elif kind == "multipart/form-data":
        form = await _multipart(request, _bounded(request, MAX_FORM_BYTES), max_files=0, file_limit=0)
        ids = [v for k, v in form.multi_items() if k == "id"]
    elif not kind and not await _read(request, MAX_FORM_BYTES):
        ids = []  # no body at all: say what is missing
    else:
        raise IspwsError(Code.INVALID_REQUEST, "send the form field 'id' as application/x-www-form-urlencoded or "
                                               "multipart/form-data", 415)
    if len(ids) > 1:
        raise IspwsError(Code.INVALID_REQUEST, "the form field 'id' is given more than once")
    return _report_id(ids[0] if ids else None)


async def _xml_body(request: Request) -> tuple[bytes, str | None]:
    kind = _media_type(request)
    if kind not in ("", "application/xml", "text/xml"):
        raise IspwsError(Code.INVALID_REQUEST, f"send the XML document as text/xml or application/xml, not {kind}", 415)
    limit = request.app.state.balise.settings.ispws_max_xml_bytes
    return await _read(request, limit), request.headers.get("content-type")


# -- authentication --------------------------------------------------------------------------


def _basic(request: Request) -> tuple[str, str]:
    challenge = {"WWW-Authenticate": 'Basic realm="Balise ISPWS", charset="UTF-8"'}
    header = request.headers.get("authorization")
    if not header:
        raise IspwsError(Code.AUTHENTICATION_REQUIRED, "send HTTP Basic credentials (Authorization: Basic …)",
                         headers=challenge)
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise IspwsError(Code.AUTHENTICATION_REQUIRED, f"only HTTP Basic authentication is accepted, not {scheme[:20]}",
                         headers=challenge)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise IspwsError(Code.AUTHENTICATION_REQUIRED, "malformed Basic credentials (not base64 of UTF-8)",
                         headers=challenge) from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise IspwsError(Code.AUTHENTICATION_REQUIRED, "malformed Basic credentials (no user name and password)",
                         headers=challenge)
    if "\x00" in decoded:
        # No credential holds one, and PostgreSQL could not even look it up.
        raise IspwsError(Code.AUTHENTICATION_REQUIRED, "malformed Basic credentials (a NUL character)",
                         headers=challenge)
    return username, password


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _principal(request: Request) -> IspwsPrincipal:
    # Failed authentications are counted per client address, before any credential is looked
    # at: once the address is over its budget every request is refused the same way, so the
    # answer says nothing about whether a user name exists or a password was right.
    failures = request.app.state.auth_failures
    address = _address(request)
    allowed, retry_after = failures.test("ispws-auth-failure", address)  # always in memory
    if not allowed:
        raise IspwsError(Code.AUTHENTICATION_REQUIRED,
                         f"too many failed authentication attempts from this address; retry in {retry_after} s",
                         429, headers={"Retry-After": str(retry_after)})
    balise = request.app.state.balise
    try:
        username, password = _basic(request)
        principal = await run_in_threadpool(balise.ispws.authenticate, username, password)
    except IspwsError as exc:
        # A request without any Authorization header is how a client learns the scheme (the
        # challenge); only credentials that were sent and failed count.
        if exc.code == Code.AUTHENTICATION_REQUIRED and request.headers.get("authorization"):
            failures.hit("ispws-auth-failure", address)
        raise
    allowed, retry_after = await run_in_threadpool(request.app.state.limiter.hit, "ispws", principal.username)
    if not allowed:
        raise IspwsError(Code.INVALID_REQUEST, f"too many requests for this credential; retry in {retry_after} s", 429,
                         headers={"Retry-After": str(retry_after)})
    return principal


# -- endpoints -------------------------------------------------------------------------------


async def status(request: Request) -> Response:
    principal = await _principal(request)
    address = _address(request)
    return _xml(report_response(Code.SUCCESS, f"Remote User : {principal.username}, Remote Ip : {address}"))


async def xsd(request: Request) -> Response:
    await _principal(request)
    return _xml(schema_bytes())


async def submit(request: Request) -> Response:
    principal = await _principal(request)
    body, content_type = await _xml_body(request)
    report_id = await run_in_threadpool(request.app.state.balise.ispws.open_report, principal, body, content_type)
    return _xml(report_response(Code.SUCCESS, report_id=report_id))


async def upload(request: Request) -> Response:
    principal = await _principal(request)
    if _media_type(request) != "multipart/form-data":
        raise IspwsError(Code.MALFORMED_FILE, "send the file as multipart/form-data with the fields 'id' and 'file'")
    settings = request.app.state.balise.settings
    limit = settings.max_file_bytes
    form = await _multipart(request, _bounded(request, limit + MULTIPART_OVERHEAD), max_files=1, file_limit=limit)
    try:
        names = [k for k, _ in form.multi_items()]
        unexpected = sorted(set(names) - {"id", "file"})
        if unexpected:
            raise IspwsError(Code.MALFORMED_FILE, "unexpected form fields: " + ", ".join(unexpected))
        if names.count("id") > 1:
            raise IspwsError(Code.MALFORMED_FILE, "the form field 'id' is given more than once")
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise IspwsError(Code.MALFORMED_FILE, "the multipart field 'file' (a file part) is missing")
        report_id = _report_id(form.get("id"))
        # PostgreSQL text cannot hold U+0000: refused here, not as a failed transaction.
        for what, value in (("file name", file.filename), ("content type", file.content_type)):
            if value and "\x00" in value:
                raise IspwsError(Code.MALFORMED_FILE, f"the {what} of the part 'file' contains a NUL character", 422)
        file_id, md5 = await run_in_threadpool(request.app.state.balise.ispws.upload, principal, report_id, file.file,
                                               file.filename, file.content_type)
    finally:
        await form.close()
    return _xml(report_response(Code.SUCCESS, report_id=report_id, file_id=file_id, md5=md5))


async def fileinfo(request: Request) -> Response:
    principal = await _principal(request)
    body, content_type = await _xml_body(request)
    report_id, file_id = await run_in_threadpool(request.app.state.balise.ispws.file_details, principal, body,
                                                 content_type)
    return _xml(report_response(Code.SUCCESS, report_id=report_id, file_id=file_id))


async def finish(request: Request) -> Response:
    principal = await _principal(request)
    report_id = await _form_id(request)
    report_id, file_ids = await run_in_threadpool(request.app.state.balise.ispws.finish, principal, report_id)
    return _xml(done_response(report_id, file_ids))


async def retract(request: Request) -> Response:
    principal = await _principal(request)
    report_id = await _form_id(request)
    await run_in_threadpool(request.app.state.balise.ispws.retract, principal, report_id)
    return _xml(report_response(Code.SUCCESS, report_id=report_id))


async def _ispws_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IspwsError)
    return error_response(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    return _server_error_response(request.scope.get("state", {}).get("request_id", "unknown"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(IspwsError(Code.INVALID_REQUEST, f"{request.method} is not allowed on {request.url.path}",
                                         405, headers=dict(exc.headers or {})))
    return error_response(IspwsError(Code.NOT_FOUND, f"no endpoint {request.url.path}", 404))


def create_ispws_app(balise: Any) -> Any:
    routes = [
        Route(f"{PREFIX}/status", status, methods=["GET"]),
        Route(f"{PREFIX}/xsd", xsd, methods=["GET"]),
        Route(f"{PREFIX}/submit", submit, methods=["POST"]),
        Route(f"{PREFIX}/upload", upload, methods=["POST"]),
        Route(f"{PREFIX}/fileinfo", fileinfo, methods=["POST"]),
        Route(f"{PREFIX}/finish", finish, methods=["POST"]),
        Route(f"{PREFIX}/retract", retract, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={IspwsError: _ispws_error, HTTPException: _http_error,
                                                              Exception: _server_error})
    app.state.balise = balise
    app.state.limiter = RateLimiter(balise.settings.ispws_rate_limit, balise.settings.rate_limit_storage)
    # Always in this process's memory: client addresses are not written to a shared store.
    app.state.auth_failures = RateLimiter(balise.settings.ispws_auth_failure_limit, "memory://")
    return _RequestId(app)


class _Dispatch:
    """``/ispws`` and everything under it to the CyberTipline-compatible API, the rest (and the
    lifespan) to the main application."""

    def __init__(self, main: Any, ispws: Any) -> None:
        self.main = main
        self.ispws = ispws

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.ispws(scope, receive, send)
        else:
            await self.main(scope, receive, send)


def with_ispws(main: Any, balise: Any) -> Any:
    return _Dispatch(main, create_ispws_app(balise))
