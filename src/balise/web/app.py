"""The ASGI application: API, staff UI, health endpoints, and the middleware around them."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match, Mount

from balise import __version__
from balise.adapters.db.migrate import is_current
from balise.container import Balise
from balise.web.api import entities as api_entities
from balise.web.api import (
    exchange,
    grants,
    match,
    orders,
    referrals,
    report_defaults,
    reports,
    submissions,
    url_list,
    victims,
)
from balise.web.api.contract import request_components
from balise.web.api.deps import ApiError
from balise.web.forms import FormGuard, Refusal
from balise.web.limits import AMBIGUOUS_FRAMING, BodyLimitMiddleware, BodyTooLarge, FramingGuard, Overload, RateLimiter
from balise.web.public import routes as public
from balise.web.public import transparency as public_transparency
from balise.web.ui import routes as ui
from balise.web.ui import admin, directory, error_rates, media, sso, wellness, workbench
from balise.web.ui import security_keys as ui_security_keys
from balise.web.ui import grants as ui_grants
from balise.web.ui import orders as ui_orders
from balise.web.ui import submissions as ui_submissions
from balise.web.ui import series as ui_series
from balise.web.ui import intelligence as ui_intelligence
from balise.web.ui import referrals as ui_referrals
from balise.web.ui.routes import Forbidden, NotSignedIn, SecurityKeyRequired

log = logging.getLogger("balise.web")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def create_fastapi(balise: Balise) -> FastAPI:
    from balise.web.observability import metrics_response, new_registry, note_route

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # A clean shutdown (SIGTERM, Ctrl-C) writes the match access log entries still waiting.
        if "match_log" in balise.__dict__:
            await run_in_threadpool(balise.match_log.close)

    # fastapi-offline serves the Swagger UI from the package, not from a CDN.
    app = FastAPIOffline(
        lifespan=lifespan,
        dependencies=[Depends(note_route)],
        title="Balise API",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs-static",
        # FastAPI's native OpenTelemetry hooks are off: Balise exports its own metrics
        # (/metrics) and logs, and the hooks' per-request look-up of a tracer provider cost
        # 7 % of a cached match request (issue 19).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.balise = balise
    settings = balise.settings
    app.state.api_limiter = RateLimiter(settings.api_rate_limit, settings.rate_limit_storage)
    app.state.api_auth_failures = RateLimiter(settings.api_auth_failure_limit, settings.rate_limit_storage)
    app.state.login_limiter = RateLimiter(settings.login_rate_limit, settings.rate_limit_storage)
    app.state.metrics_registry, app.state.http_metrics = new_registry(balise)

    app.include_router(reports.router)
    app.include_router(match.router)
    app.include_router(grants.router)
    app.include_router(orders.router)
    app.include_router(submissions.router)
    app.include_router(url_list.router)
    app.include_router(exchange.router)
    app.include_router(referrals.router)
    app.include_router(report_defaults.router)
    app.include_router(victims.router)
    app.include_router(api_entities.router)
    app.include_router(ui.router)
    app.include_router(workbench.router)
    app.include_router(ui_series.router)
    app.include_router(media.router)
    app.include_router(directory.router)
    app.include_router(wellness.router)
    app.include_router(error_rates.router)
    app.include_router(ui_grants.router)
    app.include_router(ui_orders.router)
    app.include_router(ui_submissions.router)
    app.include_router(admin.router)
    app.include_router(sso.router)
    app.include_router(ui_security_keys.router)
    app.include_router(ui_intelligence.router)
    app.include_router(ui_referrals.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "ui" / "static")), name="static")
    app.include_router(public.router)
    app.include_router(public_transparency.router)
    app.mount("/report-static", StaticFiles(directory=str(public.STATIC_DIR)), name="report-static")

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        limit = settings.max_request_bytes
        return JSONResponse({"error": "payload_too_large",
                             "message": f"the request body exceeds the limit of {limit} bytes"},
                            status_code=413, headers={"connection": "close"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
             "message": str(e["msg"]).removeprefix("Value error, ")}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid_request", "message": "the request is invalid", "fields": fields},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; a path
            # with GET and PATCH routes would answer OPTIONS with "Allow: GET".
            allow = ", ".join(allowed_methods(app, request.scope))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            if path.startswith("/api/"):
                return JSONResponse({"error": "method_not_allowed",
                                     "message": f"{request.method} is not allowed on {path}; allowed: {allow}"},
                                    status_code=405, headers={"Allow": allow})
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": allow})
        elif exc.status_code == 404 and path.startswith("/api/"):
            return JSONResponse({"error": "not_found", "message": f"no endpoint {path}"}, status_code=404)
        return await http_exception_handler(request, exc)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/ui/login", status_code=303)

    @app.exception_handler(SecurityKeyRequired)
    async def _key_required(request: Request, exc: SecurityKeyRequired) -> Response:
        return RedirectResponse("/ui/account/keys", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return ui.render(request, "error.html", status=403, title=ui.N_("Not allowed"),
                         message=ui.N_("Your role does not give access to this page."))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/healthz", tags=["health"], summary="The process is alive", openapi_extra={"security": []},
             response_model=None, responses={200: {"model": Health, "description": "Alive"}})
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database is reachable and migrated",
             openapi_extra={"security": []}, response_model=None,
             responses={200: {"model": Readiness, "description": "Ready"},
                        503: {"model": Readiness, "description": "The database is unreachable or not migrated"}})
    def readyz() -> JSONResponse:
        try:
            with balise.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = is_current(balise.db.engine)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if not current:
            return JSONResponse({"status": "unavailable", "database": "migrations pending"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    # For Prometheus, not for API clients: left out of the OpenAPI document.
    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return metrics_response(request, balise, app.state.metrics_registry)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                             description="Provider API of Balise. Authenticate with `Authorization: Bearer <key>`.")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(request_components())
        schema["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer bal_…`"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the same key"},
        }
        schema["security"] = [{"bearer": []}, {"apiKey": []}]
        # FastAPI adds its own 422 shape ("detail") to operations with parameters; the API's
        # validation errors are answered in its one error shape.
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for operations in schema["paths"].values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422")
                if answer is not None and "HTTPValidationError" in json.dumps(answer):
                    answer["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    return app


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method some route answers on the path of ``scope``, and OPTIONS (mounted static
    files are not API paths and are left out)."""
    methods = {"OPTIONS"}
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**scope, "method": method}
        if any(not isinstance(route, Mount) and route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            methods.add(method)
    return sorted(methods)


def create_app(balise: Balise) -> Any:
    """The full ASGI stack: body limit → form guard (CSRF, form bounds) → sessions → FastAPI."""
    settings = balise.settings
    settings.check_safe()
    app = create_fastapi(balise)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="balise_session",
        max_age=settings.session_max_age_seconds,
        same_site="strict",
        https_only=not settings.is_development,
    )
    protected = FormGuard(
        app,
        signing_secret=settings.secret_key.get_secret_value() + ":csrf",
        # Forms without a session cookie yet (sign-in) are protected too.
        always_protect={"/ui/login", "/ui/login/totp", "/ui/login/key", "/ui/logout", *public.POST_PATHS},
        # The API authenticates with keys in headers, never with cookies; its bodies are JSON
        # or multipart submissions it bounds itself.
        skip=lambda scope: scope["path"].startswith("/api/"),
        refuse=lambda scope, refusal: _refuse_form({**scope, "app": app}, refusal),
        max_bytes=settings.max_form_bytes,
        max_fields=settings.max_form_fields,
        cookie_secure=not settings.is_development,
        cookie_samesite="Strict",
    )
    from balise.web.ispws import with_ispws

    # /ispws (NCMEC-compatible API) is its own stack: XML answers, its own limits, no cookies.
    from balise.web.observability import ObservedRequests

    from balise.web.api.match import match, router as match_router
    from balise.web.api.reports import file_report, router as reports_router
    from balise.web.fast_paths import FastPaths

    def route(router: Any, path: str) -> Any:
        return next(r for r in router.routes if getattr(r, "path", None) == path and "POST" in r.methods)

    # The endpoints providers call thousands of times a second skip FastAPI's routing and
    # layers (web/fast_paths.py); they keep every layer of Balise's own.
    fast = FastPaths(protected, app, {"/api/v1/match": (match, route(match_router, "/api/v1/match")),
                                      "/api/v1/reports": (file_report, route(reports_router, "/api/v1/reports"))})
    app.state.fast_paths = fast
    stack = with_ispws(BodyLimitMiddleware(SecurityHeaders(fast), settings.max_request_bytes), balise)
    # Overload: bounded requests in progress (503 + Retry-After past them), bounded waits for a
    # body (408); inside the metrics so that shed requests are counted.
    guarded = Overload(FramingGuard(stack, refuse_ambiguous_framing), settings.max_concurrent_requests,
                       settings.body_read_timeout_seconds)
    app.state.overload = guarded
    observed = ObservedRequests(guarded, app.state.http_metrics)
    observed.state = app.state  # the application's state reachable from the outermost layer
    return observed


def refuse_ambiguous_framing(scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """400 in the shape the path's clients read: XML for /ispws, JSON elsewhere."""
    if scope["path"] == "/ispws" or scope["path"].startswith("/ispws/"):
        from balise.domain.ispws import Code, IspwsError
        from balise.web.ispws import error_response

        response = error_response(IspwsError(Code.INVALID_REQUEST, AMBIGUOUS_FRAMING, 400))
        return 400, [(b"content-type", response.media_type.encode())], bytes(response.body)
    body = json.dumps({"error": "ambiguous_framing", "message": AMBIGUOUS_FRAMING}).encode()
    return 400, [(b"content-type", b"application/json")], body


async def _refuse_form(scope: dict[str, Any], refusal: Refusal) -> Response:
    """The HTML page for a refused form body: the public pages' in their language, else staff's.
    The guard runs in front of the application, so ``scope`` is given the application here
    (pages read settings through it)."""
    request = Request(scope)
    if scope["path"] == "/report" or scope["path"].startswith("/report/"):
        return public.refused(request, refusal)
    return ui.refused(request, refusal)


class SecurityHeaders:
    """Adds the security headers to every response; no-store on UI and API answers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    # Swagger UI needs its inline script.
                    if name == "content-security-policy" and path.startswith("/api/docs"):
                        continue
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if path.startswith(("/ui", "/api")) and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_from_environment() -> Any:
    """The application of one process of `balise serve --workers N` (uvicorn's factory): its
    own container from the same environment as its parent, its PDQ index opened from the
    host's snapshot (mmap, shared with the other processes) and brought up to date."""
    from balise.adapters.logs import configure_logging
    from balise.container import Balise
    from balise.settings import Settings

    balise = Balise(Settings())
    configure_logging(balise.settings.log_as_json, balise.settings.log_level, balise.settings.access_log)
    balise.pdq_index.refresh(force=True)
    balise.pdq_index.keep_fresh()
    app = create_app(balise)
    settle_heap()
    return app


def settle_heap() -> None:
    """Puts every object alive once a serving process has started (modules, the application and
    its routes, the container, the index's arrays' wrappers: about 240,000) out of the cyclic
    garbage collector's sight. A full collection otherwise walks them all, 70–290 ms measured
    in an API process under load, during which the process answers nothing (issue 19: the
    99th percentile at half load); it then walks only what requests created since.

    And keeps the memory a request frees for the next one instead of giving it back to the
    system (adapters/allocator.py): a 100-hash match otherwise spends a third of its CPU on
    the page faults of its fresh arrays."""
    from balise.adapters.allocator import keep_freed_memory

    keep_freed_memory()
    gc.collect()
    gc.freeze()
