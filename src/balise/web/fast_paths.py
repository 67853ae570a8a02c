"""POST /api/v1/match and POST /api/v1/reports without FastAPI's routing, dependency solving
and middleware (issue 19).

A cached one-hash match spends more of its server CPU in the framework around the endpoint
than in the endpoint: eleven ASGI layers, a walk through the included routers, dependency
solving (which builds a Response, the query parameters and the cache keys of dependencies
the route does not have) and the exception middleware. The endpoint itself takes the request
and reads its body; it needs none of that. So the two paths that providers call thousands of
times a second (a match, a hash-only report) go straight from Balise's own safety layers
(metrics, overload, framing, body limit, security headers) to their endpoints, which check
the key themselves (web/api/match.py, web/api/reports.py).

What stays the same, proved by tests/test_match_fast_path_answers_exactly_as_the_routed_endpoint.py
and tests/test_report_fast_path_answers_exactly_as_the_routed_endpoint.py: the endpoint
function, its refusals in the shapes the application's exception handlers give them, the route
label in /metrics, and everything else (other methods, other paths, a trailing slash) still
routed by FastAPI, where the routes also stay for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from balise.web.observability import ROUTE_KEY


class FastPaths:
    """``endpoints``: path -> (endpoint taking the request, its FastAPI route), for POST."""

    def __init__(self, app: Any, fastapi_app: Any, endpoints: dict[str, tuple[Any, Any]]) -> None:
        self.app = app
        self.enabled = True  # off: every request goes through FastAPI (tests compare both)
        self._fastapi = fastapi_app
        self._endpoints = endpoints
        # The handlers FastAPI's exception layer would call (by class, most specific first);
        # a handler of Exception itself belongs to the server-error layer, which answers 500
        # and re-raises: left out, so an unexpected error reaches the server as there.
        self._handlers: dict[type, Any] = {k: v for k, v in fastapi_app.exception_handlers.items()
                                           if isinstance(k, type) and k is not Exception}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        target = self._endpoints.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if target is None or not self.enabled:
            await self.app(scope, receive, send)
            return
        endpoint, route = target
        scope["app"] = self._fastapi
        scope["route"] = route
        holder = scope.get(ROUTE_KEY)
        if holder is not None:
            holder["route"] = route.path
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = next((self._handlers[c] for c in type(exc).__mro__ if c in self._handlers), None)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)
