"""API authentication: an organisation's key, its scopes, its rate limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from balise.accounts.organisations import Principal
from balise.domain.model import Scope


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str,
        fields: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require_scope(scope: Scope) -> Callable[..., Principal]:
    def dependency(request: Request) -> Principal:
        balise = request.app.state.balise
        presented = _presented_key(request)
        if not presented:
            raise ApiError(401, "unauthenticated", "an API key is required (Authorization: Bearer <key>)",
                           headers={"WWW-Authenticate": "Bearer"})
        with balise.db.sessions() as session:
            principal = balise.organisations.authenticate(session, presented)
        if principal is None:
            raise ApiError(401, "unauthenticated", "the API key is unknown or revoked",
                           headers={"WWW-Authenticate": "Bearer"})
        allowed, retry_after = request.app.state.api_limiter.hit("api", principal.key_prefix)
        if not allowed:
            raise ApiError(429, "rate_limited", f"too many requests for this API key; retry in {retry_after} s",
                           headers={"Retry-After": str(retry_after)})
        if scope.value not in principal.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the scope {scope.value!r}")
        return principal

    return dependency


def principal_with(scope: Scope) -> Any:
    return Depends(require_scope(scope))
