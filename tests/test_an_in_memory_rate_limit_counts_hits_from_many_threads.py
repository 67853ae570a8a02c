"""The in-memory rate limiter (memory://, the embedded default) is hit from the event loop and
from the thread pool at once. The `limits` library's memory storage starts its expiry timer
without a lock, so two threads hitting it together could both start the same timer, and the
request failed with a 500 ("threads can only be started once"; seen once in about 7,500
100-hash matches of the line-rate benchmark). Balise serialises the calls into that storage."""

from __future__ import annotations

import threading

import limits.storage.memory

from balise.web.limits import RateLimiter


class _MeetingSlot:
    """The storage's `timer` attribute, where two threads are made to meet. The race is between
    one thread's `self.timer = Timer(...)` and its `self.timer.start()`: a second thread that
    assigns its own timer in between makes both start that one. Once armed, a thread that has
    assigned waits for a second one to assign too; the second then lets the first start the
    timer before it goes on to start it again, so the race happens the same way every time.
    When only one thread can be there (Balise's lock), nobody comes: the wait times out and
    the thread goes on."""

    def __init__(self) -> None:
        self.armed = False
        self.assigned = 0
        self._count = threading.Lock()
        self._meet = threading.Barrier(2, timeout=0.5)

    def __get__(self, obj, owner=None):  # type: ignore[no-untyped-def]
        return self if obj is None else obj.__dict__["_balise_test_timer"]

    def __set__(self, obj, value) -> None:  # type: ignore[no-untyped-def]
        obj.__dict__["_balise_test_timer"] = value
        if not self.armed:
            return
        with self._count:
            self.assigned += 1
            second = self.assigned == 2
        try:
            self._meet.wait()
        except threading.BrokenBarrierError:
            return  # alone in the window: the lock kept the other thread out
        if second:
            # Both threads will start this timer: the first one does so now.
            value._started.wait(timeout=0.5)


# Without the lock the second thread starts the timer the first one has just started:
# "threads can only be started once".
def test_two_threads_starting_the_expiry_timer_together_both_get_an_answer(monkeypatch) -> None:
    slot = _MeetingSlot()
    monkeypatch.setattr(limits.storage.memory.MemoryStorage, "timer", slot, raising=False)
    limiter = RateLimiter("1000/minute", "memory://")
    # The storage's first timer runs out after 10 ms; from then on the next hit starts a new one.
    limiter._limiter.storage.timer.join()
    slot.armed = True
    go = threading.Barrier(2)
    answers: list[bool] = []
    errors: list[BaseException] = []

    def hit() -> None:
        go.wait()
        try:
            answers.append(limiter.hit("api", "key-a")[0])
        except BaseException as exc:  # noqa: BLE001 - the failure under test is any exception
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The window was reached (the library still keeps its timer in that attribute).
    assert slot.assigned >= 1
    assert [str(e) for e in errors] == []
    assert answers == [True, True]


def test_hits_from_many_threads_at_once_are_all_counted() -> None:
    tight = RateLimiter("5/minute", "memory://")
    results: list[bool] = []
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
