"""API authentication: an organisation's key, its scopes, its rate limit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from fastapi import Depends, Request

from balise.accounts.organisations import OrganisationSuspended, Principal
from balise.adapters.db.epoch import credential_epoch
from balise.domain.grants import GrantDatabase, GrantOperation
from balise.domain.model import Scope
from balise.governance.grants import Access


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


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def no_key() -> ApiError:
    return ApiError(401, "unauthenticated", "an API key is required (Authorization: Bearer <key>)",
                    headers={"WWW-Authenticate": "Bearer"})


def require_scope(scope: Scope | None, grant: GrantNeed | None = None) -> Callable[..., Principal]:
    """The caller's principal; with ``scope`` None any valid key (whatever its scopes) passes.
    With ``grant`` (operation, databases, endpoint), the key must also act within a live access
    grant: checked in the session that authenticates it (no second session per request), the
    answer left in ``request.state.grant_access`` for the endpoint."""
    def dependency(request: Request) -> Principal:
        balise = request.app.state.balise
        presented = presented_key(request)
        if not presented:
            raise no_key()
        address = request.client.host if request.client else "unknown"
        failures = request.app.state.api_auth_failures
        allowed, retry_after = failures.test("api-auth-failure", address)
        if not allowed:
            raise ApiError(429, "rate_limited", "too many failed authentications from this address; "
                           f"retry in {retry_after} s", headers={"Retry-After": str(retry_after)})
        access = None
        # One one-row read when the key and its grants are in this process's cache; a change
        # of any credential or grant raises the epoch, so nothing stale is used.
        epoch = balise.credential_epoch()
        with balise.db.sessions() as session:
            try:
                principal = balise.organisations.authenticate(session, presented, epoch=epoch)
            except OrganisationSuspended as exc:
                raise ApiError(403, "organisation_suspended", str(exc)) from None
            if principal is not None and grant is not None:
                access = balise.grants.check(session, principal.organisation_id, grant[0], grant[1], epoch=epoch)
            if principal is not None:
                session.commit()  # the key's last use (accounts/organisations.py), at most once a minute
        if principal is None:
            failures.hit("api-auth-failure", address)
            with balise.db.transaction() as session:
                balise.organisations.record_refusal(session, presented)
            raise ApiError(401, "unauthenticated", "the API key is unknown or revoked",
                           headers={"WWW-Authenticate": "Bearer"})
        admit(request, principal)
        if scope is not None and scope.value not in principal.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the scope {scope.value!r}")
        if grant is not None and access is not None:
            if not access.allowed:
                _refuse(request, principal, access, grant[2])
            request.state.grant_access = access
        return principal

    return dependency


def admit(request: Request, principal: Principal) -> None:
    """Counts the request against its key's rate limit; 429 once the key has used it up."""
    allowed, retry_after = request.app.state.api_limiter.hit("api", principal.key_prefix)
    if not allowed:
        raise _rate_limited(retry_after)


async def admit_on_the_loop(request: Request, principal: Principal) -> None:
    """:func:`admit` on the event loop (the limiter ``usable_on_the_loop``)."""
    allowed, retry_after = await request.app.state.api_limiter.hit_on_the_loop("api", principal.key_prefix)
    if not allowed:
        raise _rate_limited(retry_after)


def _rate_limited(retry_after: int) -> ApiError:
    return ApiError(429, "rate_limited", f"too many requests for this API key; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)})


async def cleared_on_the_loop(request: Request, scope: Scope, grant: GrantNeed) -> tuple[Principal, Access] | None:
    """What :func:`require_scope` would let through, decided on the event loop without waiting
    on the database (the key, its organisation and grants from this process's memory, the rate
    limits in memory or through Redis's asyncio client), or None whenever that is not certain:
    the credential epoch is not held in memory (SQLite, BALISE_CREDENTIAL_CHANGES=read, or the
    listener not current), the key or its grants are not cached at that epoch, its last use is
    due to be written, the rate limits are in a store the loop cannot reach without blocking,
    or the request would be refused (the thread pool refuses it, audits it and answers in its
    usual order). Counts nothing: the caller counts the request (:func:`admit_on_the_loop`) once
    it is sure to answer it itself."""
    state = request.app.state
    if not (state.api_limiter.usable_on_the_loop and state.api_auth_failures.usable_on_the_loop):
        return None
    balise = state.balise
    held = getattr(balise.credential_epoch, "from_memory", None)
    epoch = held() if held is not None else None
    if epoch is None:
        return None
    presented = presented_key(request)
    if not presented:
        return None
    principal = balise.organisations.from_memory(presented, epoch)
    if principal is None or scope.value not in principal.scopes:
        return None
    access = balise.grants.from_memory(principal.organisation_id, grant[0], grant[1], epoch)
    if access is None or not access.allowed:
        return None
    address = request.client.host if request.client else "unknown"
    if not await state.api_auth_failures.test_on_the_loop("api-auth-failure", address):
        return None
    return principal, access


def principal_with(scope: Scope | None, grant: GrantNeed | None = None) -> Any:
    return Depends(require_scope(scope, grant))


def require_grant(request: Request, principal: Principal, operation: GrantOperation,
                  databases: Iterable[GrantDatabase], endpoint: str) -> Access:
    """The live access grants (CSAR Art. 46) under which ``principal`` may do ``operation`` on
    any of ``databases``; otherwise 403 `no_grant` naming what is missing, audited as
    grant:refuse. Read on every request, so a revoked or expired grant stops the key at once."""
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        access = balise.grants.check(session, principal.organisation_id, operation, databases,
                                     epoch=credential_epoch(session))
    if not access.allowed:
        _refuse(request, principal, access, endpoint)
    return access


def _refuse(request: Request, principal: Principal, access: Access, endpoint: str) -> NoReturn:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        balise.grants.refused(session, principal.actor, principal.organisation_id, access, endpoint)
    operation = access.operation
    raise ApiError(403, "no_grant", f"no live access grant of your organisation allows {access.missing}; "
                                    "request one with POST /api/v1/grants (docs/api.md#access-grants)",
                   extra={"missing_grant": {"operation": operation.value, "databases": [d.value for d in access.wanted]}})


#: What an endpoint needs a live grant for: the operation, the databases (any of them), and
#: the endpoint's name for the audit trail.
GrantNeed = tuple[GrantOperation, tuple[GrantDatabase, ...], str]
