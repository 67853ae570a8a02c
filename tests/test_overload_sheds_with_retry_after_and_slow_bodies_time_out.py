"""Overload (issue 19): past BALISE_MAX_CONCURRENT_REQUESTS requests in progress a new one is
answered 503 with Retry-After at once instead of queueing; a client that stops sending its body
gets 408 after BALISE_BODY_READ_TIMEOUT_SECONDS and holds nothing longer; health probes are
never shed. Driven through the ASGI interface of the real middleware around a small app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from balise.web.limits import Overload


class Held:
    """An application whose requests stay in progress until released; it reads the body first."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Any, path: str, body_parts: list[bytes] | None = None, stall: bool = False) -> list[dict[str, Any]]:
    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    parts = list(body_parts or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if parts:
            part = parts.pop(0)
            return {"type": "http.request", "body": part, "more_body": bool(parts) or stall}
        await asyncio.Event().wait()  # a client that never sends the rest
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _status(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes], dict[str, Any] | bytes]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    try:
        parsed: dict[str, Any] | bytes = json.loads(body)
    except ValueError:
        parsed = body
    return start["status"], dict(start["headers"]), parsed


def test_requests_past_the_bound_are_shed_with_retry_after_and_probes_pass():
    async def scenario() -> None:
        inner = Held()
        app = Overload(inner, max_concurrent=2, body_timeout=5)
        held = [asyncio.create_task(_call(app, "/api/v1/match")) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert app.in_progress == 2
        status, headers, body = _status(await _call(app, "/api/v1/match"))
        assert status == 503 and headers[b"retry-after"] == b"1" and body["error"] == "overloaded"
        probe = asyncio.create_task(_call(app, "/readyz"))  # not shed, though held like the others
        await asyncio.sleep(0.01)
        inner.release.set()
        for task in [*held, probe]:
            assert _status(await task)[0] == 200
        assert app.in_progress == 0 and app.shed == 1
        # Capacity is back once the requests end.
        assert _status(await _call(app, "/api/v1/match"))[0] == 200

    asyncio.run(scenario())


def test_a_body_that_stops_arriving_gets_408_and_frees_its_place():
    async def scenario() -> None:
        inner = Held()
        inner.release.set()
        app = Overload(inner, max_concurrent=1, body_timeout=0.05)
        status, headers, body = _status(await _call(app, "/api/v1/reports", [b'{"repo'], stall=True))
        assert status == 408 and body["error"] == "body_timeout" and headers[b"connection"] == b"close"
        assert app.in_progress == 0
        assert _status(await _call(app, "/api/v1/reports", [b"{}"]))[0] == 200

    asyncio.run(scenario())


def test_no_bound_means_nothing_is_shed():
    async def scenario() -> None:
        inner = Held()
        app = Overload(inner, max_concurrent=0, body_timeout=0)
        tasks = [asyncio.create_task(_call(app, "/api/v1/match")) for _ in range(50)]
        await asyncio.sleep(0.01)
        inner.release.set()
        assert {_status(await t)[0] for t in tasks} == {200}

    asyncio.run(scenario())
