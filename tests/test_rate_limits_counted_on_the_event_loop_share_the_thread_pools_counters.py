"""The event loop counts a request against its key's rate limit without blocking (web/limits.py):
in this process's memory, or in Redis through redis-py's asyncio client. Either way it is the
same count as the thread pool's: a limit of three is three requests, whichever path answers
them, and the fourth is refused with the seconds until a slot frees up."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from balise.web.limits import RateLimiter


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/0"])
def test_the_loop_and_the_thread_pool_count_against_one_limit(storage):
    limiter = RateLimiter("3/minute", storage)
    assert limiter.usable_on_the_loop
    key = uuid.uuid4().hex  # this test's own counter in a shared Redis

    async def on_the_loop() -> list[object]:
        return [await limiter.test_on_the_loop("api", key), await limiter.hit_on_the_loop("api", key),
                await limiter.test_on_the_loop("api", key), await limiter.hit_on_the_loop("api", key)]

    assert limiter.hit("api", key) == (True, 0)
    assert limiter.hit("api", key) == (True, 0)
    allowed_before, last, allowed_after, refused = asyncio.run(on_the_loop())
    assert allowed_before is True and last == (True, 0)
    assert allowed_after is False
    assert refused[0] is False and 1 <= refused[1] <= 61
    assert limiter.hit("api", key)[0] is False and limiter.test("api", key)[0] is False
