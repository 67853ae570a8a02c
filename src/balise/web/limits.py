"""Request size limit (refuses before reading) and per-key rate limiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for a body over ``limit`` bytes: at once when Content-Length says so, or as soon
    as a streamed (chunked) body passes the limit — never after reading it all."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"error": "bad_request", "message": "invalid Content-Length"})
                    return
        if declared is not None and declared > self.limit:
            await _send_json(send, 413, _too_large(self.limit))
            return
        received = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, _too_large(self.limit))


def _too_large(limit: int) -> dict[str, Any]:
    return {"error": "payload_too_large", "message": f"the request body exceeds the limit of {limit} bytes"}


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": payload})


class FramingGuard:
    """A request with both Content-Length and Transfer-Encoding is refused (400) and its
    connection closed. RFC 9112 section 6.3: the two disagree on where the body ends, which is
    how requests are smuggled past a proxy that reads the other one; a server must close the
    connection after such a request. uvicorn (h11) reads the chunked body and would keep the
    connection open for the next request, so the guard answers before anything else runs, with
    ``Connection: close`` (which uvicorn honours by closing)."""

    def __init__(self, app: Any, refuse: Any) -> None:
        self.app = app
        self.refuse = refuse  # (scope) -> (status, headers, body)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            names = {name.lower() for name, _ in scope.get("headers", [])}
            if b"transfer-encoding" in names and b"content-length" in names:
                status, headers, body = self.refuse(scope)
                await send({"type": "http.response.start", "status": status,
                            "headers": [*headers, (b"content-length", str(len(body)).encode()),
                                        (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


AMBIGUOUS_FRAMING = "the request has both Content-Length and Transfer-Encoding: its length is ambiguous"


# Storage schemes whose asyncio client `limits` reaches with redis-py's (no other dependency).
ASYNC_SCHEMES = frozenset({"redis", "rediss", "redis+unix"})


class RateLimiter:
    """A moving window per key. Storage is memory:// (one process) or redis:// (shared)."""

    def __init__(self, spec: str, storage_uri: str) -> None:
        self._item = parse(spec)
        self._uri = storage_uri
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._in_memory = storage_uri.startswith("memory://")
        # `limits` 5.8's memory storage starts its expiry timer without a lock: two threads
        # hitting it at once (the event loop and the thread pool) could start the same timer
        # twice, and the request failed with a 500. Calls into it are serialised (microseconds
        # each); Redis storages need no lock here.
        self._memory_lock = threading.Lock() if self._in_memory else contextlib.nullcontext()
        # Whether the event loop can count without blocking: in this process's memory, or in
        # Redis through its asyncio client (the same counters as the thread pool's).
        self.usable_on_the_loop = self._in_memory or storage_uri.split("://", 1)[0] in ASYNC_SCHEMES
        self._async: tuple[Any, Any] | None = None  # (event loop, asyncio limiter)

    async def hit_on_the_loop(self, *identifiers: str) -> tuple[bool, int]:
        """:meth:`hit` for the event loop (``usable_on_the_loop``): never blocks it."""
        if self._in_memory:
            in_memory = self  # counted in this process's memory: no wait
            return in_memory.hit(*identifiers)
        limiter = self._loop_limiter()
        if await limiter.hit(self._item, *identifiers):
            return True, 0
        return False, _seconds_until((await limiter.get_window_stats(self._item, *identifiers)).reset_time)

    async def test_on_the_loop(self, *identifiers: str) -> bool:
        """Whether :meth:`hit` would be allowed now, for the event loop; counts nothing."""
        if self._in_memory:
            return self.test(*identifiers)[0]
        return bool(await self._loop_limiter().test(self._item, *identifiers))

    def _loop_limiter(self) -> Any:
        # An asyncio client belongs to the loop it first ran on: one per loop (a server has one).
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            from limits.aio.strategies import MovingWindowRateLimiter as LoopLimiter

            storage = storage_from_string(f"async+{self._uri}", implementation="redispy")
            self._async = (loop, LoopLimiter(storage))
        return self._async[1]

    def hit(self, *identifiers: str) -> tuple[bool, int]:
        """(allowed, seconds until a slot frees up)."""
        with self._memory_lock:
            if self._limiter.hit(self._item, *identifiers):
                return True, 0
            return False, self._retry_after(*identifiers)

    def test(self, *identifiers: str) -> tuple[bool, int]:
        """Whether a hit would be allowed now, without counting one."""
        with self._memory_lock:
            if self._limiter.test(self._item, *identifiers):
                return True, 0
            return False, self._retry_after(*identifiers)

    def _retry_after(self, *identifiers: str) -> int:
        return _seconds_until(self._limiter.get_window_stats(self._item, *identifiers).reset_time)


def _seconds_until(reset_time: float) -> int:
    """Retry-After for a window that frees a slot at ``reset_time`` (epoch seconds): at least 1."""
    return max(1, int(reset_time - time.time()) + 1)


class BodyReadTimeout(Exception):
    pass


class Overload:
    """Bounded work per process (issue 19, overload): past ``max_concurrent`` requests in
    progress, a new one is refused at once with 503 and ``Retry-After`` rather than queued
    without bound (health probes and /metrics excepted: they say how the process is); and a
    client that stops sending its body for ``body_timeout`` seconds gets 408 and its connection
    closed, so a slow client cannot hold a worker thread or a database connection."""

    EXEMPT = ("/healthz", "/readyz", "/metrics")

    def __init__(self, app: Any, max_concurrent: int, body_timeout: float, retry_after: int = 1) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.body_timeout = body_timeout
        self.retry_after = retry_after
        self.in_progress = 0
        self.shed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        if self.max_concurrent and self.in_progress >= self.max_concurrent:
            self.shed += 1
            payload = json.dumps({"error": "overloaded", "message": "the server is at capacity; retry in "
                                  f"{self.retry_after} s"}).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode()),
                                    (b"retry-after", str(self.retry_after).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        timed_out = False
        started = False

        async def timed_receive() -> dict[str, Any]:
            nonlocal timed_out
            try:
                return await asyncio.wait_for(receive(), self.body_timeout)
            except asyncio.TimeoutError:
                timed_out = True
                raise BodyReadTimeout() from None

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal started
            if timed_out:
                return  # the application's answer to the exception is replaced by the 408
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        self.in_progress += 1
        try:
            await self.app(scope, timed_receive if self.body_timeout else receive, guarded_send)
        except BodyReadTimeout:
            pass
        finally:
            self.in_progress -= 1
        if timed_out and not started:
            await _send_json(send, 408, {"error": "body_timeout", "message": "the request body did not arrive within "
                                         f"{self.body_timeout:g} s between parts"})
