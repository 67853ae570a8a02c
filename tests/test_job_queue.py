"""Durable jobs: claimed once even when workers race, retried with backoff, run again after a
worker dies, visible and retryable."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from balise.adapters.db.models import Job
from balise.jobs.queue import JobQueue


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _queue(balise, clock=None) -> JobQueue:
    return JobQueue(balise.db.sessions, clock or (lambda: datetime.now(timezone.utc)))


def _enqueue(balise, queue, n, kind="test.job"):
    with balise.db.transaction() as s:
        for i in range(n):
            queue.enqueue(s, kind, {"n": i})


def test_racing_workers_claim_each_job_exactly_once(balise):
    queue = _queue(balise)
    _enqueue(balise, queue, 40)
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (job := queue.claim(name)) is not None:
            with lock:
                claimed.append(job.id)
            queue.complete(job.id, name)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 40
    with balise.db.sessions() as s:
        assert set(s.execute(select(Job.status)).scalars()) == {"done"}


def test_a_failing_job_is_retried_with_backoff_then_marked_failed(balise):
    clock = Clock()
    queue = _queue(balise, clock)
    with balise.db.transaction() as s:
        queue.enqueue(s, "test.fail", {}, max_attempts=3)

    def boom(payload):
        raise RuntimeError("remote end unreachable")

    handlers = {"test.fail": boom}
    assert queue.run_one(handlers, "w") is True
    assert queue.run_one(handlers, "w") is False  # backing off
    for _ in range(2):
        clock.now += timedelta(hours=2)
        assert queue.run_one(handlers, "w") is True
    [job] = queue.list()
    assert job.status == "failed" and job.attempts == 3 and "remote end unreachable" in job.last_error
    assert queue.retry(job.id)
    assert queue.list()[0].status == "pending"


def test_a_job_whose_worker_died_runs_again_after_its_lease(balise):
    clock = Clock()
    queue = _queue(balise, clock)
    _enqueue(balise, queue, 1)
    dead = queue.claim("worker-that-dies")
    assert dead is not None
    assert queue.claim("other") is None  # leased
    clock.now += queue.lease + timedelta(seconds=1)
    again = queue.claim("other")
    assert again is not None and again.id == dead.id and again.attempts == 2
    queue.complete(again.id, "other")
    # The dead worker's late completion is ignored: the job belongs to "other" now.
    queue.complete(dead.id, "worker-that-dies")
    assert queue.list()[0].status == "done"


def test_dedupe_key_keeps_one_pending_job(balise):
    queue = _queue(balise)
    with balise.db.transaction() as s:
        assert queue.enqueue(s, "k", {}, dedupe_key="same") is not None
        assert queue.enqueue(s, "k", {}, dedupe_key="same") is None
    assert len(queue.list()) == 1


def test_jobs_enqueued_in_a_rolled_back_transaction_never_run(balise):
    queue = _queue(balise)
    try:
        with balise.db.transaction() as s:
            queue.enqueue(s, "k", {})
            raise RuntimeError("the data it acts on was not stored")
    except RuntimeError:
        pass
    assert queue.list() == []
