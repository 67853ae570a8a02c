"""The guard in front of every HTML form (staff pages and the public reporting pages): CSRF, and
bounds on what a form body may be, checked while it streams in, before any route sees it.

It replaces asgi-csrf 0.11, whose multipart path calls python-multipart with an argument that
library no longer takes (every multipart POST failed with a 500) and which read a whole
urlencoded body into memory whatever its size. The protection is the same: a random token
signed with the server's key in a cookie (double submit; the same cookie, form field, header
and signature as before, so pages already open keep working), required on every unsafe request
that carries cookies and on the sign-in and public form paths even without them. Parsing is
Starlette's (python-multipart underneath), signing is itsdangerous.

A form body is refused, and no route runs, when:

* it is larger than ``max_bytes`` — at once when Content-Length says so, otherwise as soon as the
  bytes read pass the limit (413);
* a field name, a field value, a file name or a query parameter holds a NUL character, which
  PostgreSQL text cannot store (422, naming the field);
* it cannot be parsed, or has more than ``max_fields`` fields (400);
* its CSRF token is missing or wrong (403).

The refusal is an HTML page in the page's language (``refuse`` renders it), with
``Connection: close`` when the rest of the body was not read.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from itsdangerous import BadSignature
from itsdangerous.url_safe import URLSafeSerializer
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

COOKIE_NAME = "csrftoken"
FORM_FIELD = "csrftoken"
HEADER = "x-csrftoken"
SCOPE_KEY = "csrftoken"
NAMESPACE = "csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Refusal:
    """Why a form was refused; ``field`` names the field when one is at fault."""

    status: int
    code: str  # too_large | nul_character | malformed_form | csrf_failed
    field: str | None = None
    limit: int | None = None


Refuse = Callable[[dict[str, Any], Refusal], Awaitable[Any]]  # (scope, refusal) -> an ASGI app


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


class FormGuard:
    def __init__(self, app: Any, *, signing_secret: str, always_protect: set[str] | frozenset[str],
                 skip: Callable[[dict[str, Any]], bool], refuse: Refuse, max_bytes: int, max_fields: int,
                 cookie_secure: bool, cookie_samesite: str = "Strict") -> None:
        self.app = app
        self.signer = URLSafeSerializer(signing_secret)
        self.always_protect = frozenset(always_protect)
        self.skip = skip
        self.refuse = refuse
        self.max_bytes = max_bytes
        self.max_fields = max_fields
        self.cookie_secure = cookie_secure
        self.cookie_samesite = cookie_samesite

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.skip(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token, valid_cookie = self._cookie_token(headers)
        state = {"set_cookie": False, "vary": False}

        def get_token() -> str:
            state["vary"] = True
            if not valid_cookie:
                state["set_cookie"] = True
            return token

        scope = {**scope, SCOPE_KEY: get_token}

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and (state["vary"] or state["set_cookie"]):
                headers = list(message.get("headers", []))
                if state["vary"]:
                    # A page holding the token depends on the cookie: caches must key on it.
                    varies = [v for k, v in headers if k.lower() == b"vary"]
                    values = [p.strip() for v in varies for p in v.split(b",") if p.strip()]
                    if b"cookie" not in {v.lower() for v in values}:
                        values.append(b"Cookie")
                    headers = [(k, v) for k, v in headers if k.lower() != b"vary"] + [(b"vary", b", ".join(values))]
                if state["set_cookie"]:
                    attrs = [f"{COOKIE_NAME}={token}", "Path=/", f"SameSite={self.cookie_samesite}"]
                    if self.cookie_secure:
                        attrs.append("Secure")
                    headers.append((b"set-cookie", "; ".join(attrs).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            self._check_query(scope)
            if scope["method"] in SAFE_METHODS:
                replay = receive
            else:
                replay = await self._check(scope, headers, receive, token)
        except _Refused as refused:
            response = await self.refuse(scope, refused.refusal)
            if refused.refusal.status == 413:
                # The rest of the body was not read: this connection cannot carry another request.
                response.headers["connection"] = "close"
            await response(scope, receive, send_with_cookie)
            return
        await self.app(scope, replay, send_with_cookie)

    def _cookie_token(self, headers: Headers) -> tuple[str, bool]:
        raw = headers.get("cookie")
        if raw:
            cookie = SimpleCookie()
            try:
                cookie.load(raw)
            except CookieError:
                cookie = SimpleCookie()
            morsel = cookie.get(COOKIE_NAME)
            if morsel is not None:
                try:
                    self.signer.loads(morsel.value, NAMESPACE)
                    return morsel.value, True
                except BadSignature:
                    pass
        return self.signer.dumps(secrets.token_urlsafe(16), NAMESPACE), False

    async def _check(self, scope: dict[str, Any], headers: Headers, receive: Any, token: str) -> Any:
        """Read and check the body; returns a receive that replays it to the app."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        is_form = content_type in (URLENCODED, MULTIPART)
        header_ok = secrets.compare_digest(headers.get(HEADER, "").encode(), token.encode())
        # Requests without cookies cannot ride on a session; the sign-in and public form paths
        # are protected all the same (no session cookie exists yet there).
        needs_token = not header_ok and (bool(headers.get("cookie")) or scope["path"] in self.always_protect)
        if needs_token and headers.get("authorization", "").startswith("Bearer "):
            needs_token = False
        if not is_form:
            if needs_token:
                raise _Refused(Refusal(403, "csrf_failed"))
            return receive
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Refused(Refusal(413, "too_large", limit=self.max_bytes))
        messages: list[dict[str, Any]] = []
        form = await self._parse(content_type, headers, self._stream(receive, messages))
        try:
            self._check_fields(form)
            if needs_token:
                sent = form.get(FORM_FIELD)
                if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), token.encode()):
                    raise _Refused(Refusal(403, "csrf_failed"))
        finally:
            await form.close()

        async def replay() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            return await receive()

        return replay

    async def _stream(self, receive: Any, messages: list[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
        read = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] == "http.disconnect":
                raise _Refused(Refusal(400, "malformed_form"))
            body = message.get("body", b"")
            read += len(body)
            if read > self.max_bytes:
                raise _Refused(Refusal(413, "too_large", limit=self.max_bytes))
            if body:
                yield body
            if not message.get("more_body", False):
                return

    async def _parse(self, content_type: str, headers: Headers, stream: AsyncGenerator[bytes, None]) -> FormData:
        try:
            if content_type == MULTIPART:
                return await MultiPartParser(headers, stream, max_files=self.max_fields, max_fields=self.max_fields,
                                             max_part_size=self.max_bytes).parse()
            return await FormParser(headers, stream, max_fields=self.max_fields, max_part_size=self.max_bytes).parse()
        except MultiPartException as exc:
            raise _Refused(Refusal(400, "malformed_form")) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Refused(Refusal(400, "malformed_form")) from exc

    @staticmethod
    def _check_query(scope: dict[str, Any]) -> None:
        """Query parameters are text the pages filter on: a NUL in one is refused like in a form."""
        raw = scope.get("query_string", b"")
        if b"%00" not in raw and b"\x00" not in raw:
            return
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                raise _Refused(Refusal(422, "nul_character", name.replace("\x00", "\\0")))

    @staticmethod
    def _check_fields(form: FormData) -> None:
        for name, value in form.multi_items():
            if "\x00" in name:
                raise _Refused(Refusal(422, "nul_character", name.replace("\x00", "\\0")))
            if isinstance(value, UploadFile):
                if value.filename and "\x00" in value.filename:
                    raise _Refused(Refusal(422, "nul_character", name))
            elif "\x00" in value:
                raise _Refused(Refusal(422, "nul_character", name))
