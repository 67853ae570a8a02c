"""The in-memory rate limiter (memory://, the embedded default) is hit from the event loop and
from the thread pool at once. The `limits` library's memory storage starts its expiry timer
without a lock, so two threads hitting it together could both start the same timer, and the
request failed with a 500 ("threads can only be started once"; seen once in about 7,500
100-hash matches of the line-rate benchmark). Balise serialises the calls into that storage."""

from __future__ import annotations

import threading
import time

import limits.storage.memory

from balise.web.limits import RateLimiter


class _SlowTimerSlot:
    """The storage's `timer` attribute, slowed down after each assignment. The race is between
    one thread's `self.timer = Timer(...)` and its `self.timer.start()`: another thread that
    assigns its own timer in between makes both start the same one. Holding the window open
    a moment lets the threads below meet in it every time, instead of once in thousands."""

    assigned = 0

    def __get__(self, obj, owner=None):  # type: ignore[no-untyped-def]
        return self if obj is None else obj.__dict__["_balise_test_timer"]

    def __set__(self, obj, value) -> None:  # type: ignore[no-untyped-def]
        obj.__dict__["_balise_test_timer"] = value
        type(self).assigned += 1
        time.sleep(0.002)


def test_hits_from_many_threads_raise_nothing_and_are_all_counted(monkeypatch) -> None:
    monkeypatch.setattr(limits.storage.memory.MemoryStorage, "timer", _SlowTimerSlot(), raising=False)
    limiter = RateLimiter("1000000/minute", "memory://")
    errors: list[BaseException] = []
    allowed = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        mine = 0
        for _ in range(300):
            try:
                ok, _ = limiter.hit("api", "key-a")
                mine += ok
            except BaseException as exc:  # noqa: BLE001 - the failure under test is any exception
                errors.append(exc)
            # Spread over many lives of the storage's 10 ms expiry timer: each time it has run
            # out, the next hits race to start a new one.
            time.sleep(0.001)
        allowed.append(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The window was really held open (the library still keeps its timer there).
    assert _SlowTimerSlot.assigned > 1
    assert errors == []
    assert sum(allowed) == 8 * 300
    # Every hit was counted: the next one beyond the limit's remaining room is refused.
    tight = RateLimiter("5/minute", "memory://")
    results = []
    barrier = threading.Barrier(10)

    def one() -> None:
        barrier.wait()
        results.append(tight.hit("api", "key-b")[0])

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True] * 5
