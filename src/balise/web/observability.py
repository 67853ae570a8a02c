"""What operators watch: each request's id and log line, and the Prometheus metrics — what one
API process served, and the state of the work read from the database at each scrape
(docs/deployment.md#metrics, #logs).

HTTP counters live in the process that serves the requests (one per container: `balise serve`
runs one process), so Prometheus scrapes each API container directly, not through the load
balancer. The queue, index, clock and audit figures are read from the database when scraped:
every API process reports the same values, so dashboards take ``max`` over instances.
No label carries a path with identifiers in it (the route *template* is used) nor any
personal data.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from balise import __version__
from balise.adapters.db.models import AuditHead, AuditRecord, Job
from balise.adapters.logs import accept_request_id, bound_request_id
from balise.container import Balise
from balise.domain.clocks import ClockKind, ClockState

log = logging.getLogger("balise.metrics")

LOOPBACK = {"127.0.0.1", "::1"}


class HttpMetrics:
    """Counts and times requests by method, route template and status, in its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("balise_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("balise_http_request_duration_seconds",
                                 "Time from the request's arrival to the end of its answer",
                                 ["method", "route"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


ROUTE_KEY = "balise.route"


async def note_route(request: Request) -> None:
    """A dependency of every FastAPI route: tells the metrics layer which route answered.
    Layers between them copy the ASGI scope, so the note goes into a dict they all share.
    Async: it only touches memory, and a plain function would cost every request a trip to
    the thread pool."""
    holder = request.scope.get(ROUTE_KEY)
    route = request.scope.get("route")
    if holder is not None and route is not None:
        holder["route"] = route.path


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's template (/api/v1/reports/{report_id}), never the raw path, so the
    number of label values stays bounded and no identifier lands in a label."""
    noted = scope.get(ROUTE_KEY, {}).get("route")
    if noted:
        return str(noted)
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    path = scope.get("path", "")
    for prefix in ("/ispws", "/static", "/report-static", "/api/docs-static"):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix + "/*"
    return "(unmatched)"


REQUEST_ID_HEADER = b"x-request-id"
request_log = logging.getLogger("balise.http")


class ObservedRequests:
    """Outermost ASGI layer. Gives each HTTP request its id (a sane incoming X-Request-ID, else
    a new one), bound to every log line written while serving it and echoed in the answer;
    counts and times every answered request, refused ones included; and logs one line per
    request: method, route template, status, duration. Never the client address, the path's
    identifiers or the query string (docs/deployment.md#logs)."""

    def __init__(self, app: Any, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == REQUEST_ID_HEADER), None)
        request_id = accept_request_id(given)
        started = time.perf_counter()
        status = {"code": 500}
        scope[ROUTE_KEY] = {}

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())]}
            await send(message)

        with bound_request_id(request_id):
            try:
                await self.app(scope, receive, send_status)
            finally:
                method, route, seconds = scope.get("method", ""), route_template(scope), time.perf_counter() - started
                self.metrics.observe(method, route, status["code"], seconds)
                request_log.info("%s %s %s %.3f s", method, route, status["code"], seconds)


class StateCollector(Collector):
    """Figures read from the database at each scrape."""

    def __init__(self, balise: Balise) -> None:
        self.balise = balise

    def collect(self) -> Iterable[Any]:
        info = InfoMetricFamily("balise_build", "The running Balise version")
        info.add_metric([], {"version": __version__})
        yield info
        up = GaugeMetricFamily("balise_metrics_database_up", "1 when the figures below could be read from the database")
        try:
            families = list(self._from_database())
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the database does not
            log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self) -> Iterable[Any]:
        balise = self.balise
        now = balise.clock()
        with balise.db.sessions() as session:
            jobs = GaugeMetricFamily("balise_jobs", "Jobs by kind and state (done jobs are not counted)",
                                     labels=["kind", "status"])
            for kind, status, count in session.execute(
                    select(Job.kind, Job.status, func.count()).where(Job.status != "done")
                    .group_by(Job.kind, Job.status)).all():
                jobs.add_metric([kind, status], count)
            oldest = GaugeMetricFamily("balise_jobs_oldest_ready_age_seconds",
                                       "How long the oldest pending job of each kind has been ready to run",
                                       labels=["kind"])
            for kind, run_at in session.execute(
                    select(Job.kind, func.min(Job.run_at)).where(Job.status == "pending", Job.run_at <= now)
                    .group_by(Job.kind)).all():
                oldest.add_metric([kind], max(0.0, (now - run_at).total_seconds()))

            by_state: dict[tuple[str, str], int] = {}
            for running in balise.clocks.running(session):
                key = (running.kind.value, running.state(now).value)
                by_state[key] = by_state.get(key, 0) + 1
            clocks = GaugeMetricFamily("balise_clocks", "Running clocks by kind and state: running, "
                                       "due_soon (inside its warning window) or overdue", labels=["kind", "state"])
            # Every kind and state, zeros included: an alert on "overdue > 0" needs the series.
            for kind in ClockKind:
                for state in ClockState:
                    clocks.add_metric([kind.value, state.value], by_state.get((kind.value, state.value), 0))

            head = session.execute(select(AuditHead.seq)).scalar_one_or_none() or 0
            last_at = session.execute(select(AuditRecord.occurred_at).where(AuditRecord.seq == head)).scalar_one_or_none()
            indicator_version = balise.indicators.current_version(session)
        audit_seq = GaugeMetricFamily("balise_audit_head_sequence", "Number of the newest audit event")
        audit_seq.add_metric([], head)
        audit_age = GaugeMetricFamily("balise_audit_head_age_seconds", "Age of the newest audit event")
        audit_age.add_metric([], max(0.0, (now - last_at).total_seconds()) if last_at else 0.0)
        index_size = GaugeMetricFamily("balise_match_index_hashes", "PDQ hashes in this process's match index")
        index_size.add_metric([], len(balise.pdq_index))
        index_version = GaugeMetricFamily("balise_match_index_version",
                                          "Indicator version this process's match index has reached")
        index_version.add_metric([], balise.pdq_index.version)
        db_version = GaugeMetricFamily("balise_indicator_version", "Newest indicator version in the database")
        db_version.add_metric([], indicator_version)
        yield from (jobs, oldest, clocks, audit_seq, audit_age, index_size, index_version, db_version)


def new_registry(balise: Balise) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry(auto_describe=False)
    http = HttpMetrics(registry)
    registry.register(StateCollector(balise))
    return registry, http


def metrics_response(request: Request, balise: Balise, registry: CollectorRegistry) -> Response:
    """The exposition, if the caller may read it (BALISE_METRICS_TOKEN, BALISE_METRICS_OPEN)."""
    settings = balise.settings
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.get_secret_value().encode()):
            return JSONResponse({"error": "unauthorized", "message": "send Authorization: Bearer <BALISE_METRICS_TOKEN>"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not settings.metrics_open:
        client = request.client.host if request.client else ""
        if not (settings.is_development and client in LOOPBACK):
            return JSONResponse({"error": "metrics_disabled",
                                 "message": "set BALISE_METRICS_TOKEN_FILE (or BALISE_METRICS_OPEN=true behind a "
                                            "private network) to serve /metrics"}, status_code=403)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
