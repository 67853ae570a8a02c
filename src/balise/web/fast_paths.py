"""POST /api/v1/match without FastAPI's routing, dependency solving and middleware (issue 19).

A cached one-hash match spends more of its server CPU in the framework around the endpoint
than in the endpoint: eleven ASGI layers, a walk through the included routers, dependency
solving (which builds a Response, the query parameters and the cache keys of dependencies
the route does not have) and the exception middleware. The endpoint itself takes the request
and reads its body; it needs none of that. So the one path that providers call thousands of
times a second goes straight from Balise's own safety layers (metrics, overload, framing,
body limit, security headers) to the endpoint.

What stays the same, proved by tests/test_match_fast_path_answers_exactly_as_the_routed_endpoint.py:
the endpoint function, its refusals in the shapes the application's exception handlers give
them, the route label in /metrics, and everything else (other methods, other paths, a
trailing slash) still routed by FastAPI, where the route also stays for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from balise.web.observability import ROUTE_KEY

PATH = "/api/v1/match"


class MatchFastPath:
    def __init__(self, app: Any, fastapi_app: Any, endpoint: Any, route: Any) -> None:
        self.app = app
        self.enabled = True  # off: every request goes through FastAPI (tests compare both)
        self._fastapi = fastapi_app
        self._endpoint = endpoint
        self._route = route
        # The handlers FastAPI's exception layer would call (by class, most specific first);
        # a handler of Exception itself belongs to the server-error layer, which answers 500
        # and re-raises: left out, so an unexpected error reaches the server as there.
        self._handlers: dict[type, Any] = {k: v for k, v in fastapi_app.exception_handlers.items()
                                           if isinstance(k, type) and k is not Exception}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" or not self.enabled:
            await self.app(scope, receive, send)
            return
        scope["app"] = self._fastapi
        scope["route"] = self._route
        holder = scope.get(ROUTE_KEY)
        if holder is not None:
            holder["route"] = PATH
        request = Request(scope, receive, send)
        try:
            response = await self._endpoint(request)
        except Exception as exc:
            handler = next((self._handlers[c] for c in type(exc).__mro__ if c in self._handlers), None)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)
