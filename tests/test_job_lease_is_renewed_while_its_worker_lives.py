"""A job that runs longer than its lease keeps it while its worker lives (a heartbeat renews
it), so no second worker runs it at the same time; once the work is done it is not run again."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from balise.adapters.db.models import Job
from balise.jobs.queue import JobQueue
from tests.servers import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _locked_until(balise, job_id: int) -> datetime:
    with balise.db.sessions() as s:
        return s.get(Job, job_id).locked_until


def test_a_job_longer_than_its_lease_is_not_claimed_by_a_second_worker_while_the_first_lives(balise) -> None:
    clock = Clock()
    # A short lease: the heartbeat beats every third of it (0.1 s of real time).
    queue = JobQueue(balise.db.sessions, clock, lease=timedelta(seconds=0.3))
    with balise.db.transaction() as s:
        job_id = queue.enqueue(s, "test.slow", {})
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(payload) -> None:
        runs.append("run")
        started.set()
        assert release.wait(60)

    worker = threading.Thread(target=queue.run_one, args=({"test.slow": slow}, "first"))
    worker.start()
    try:
        assert started.wait(60)
        # Far past the lease taken at the claim: without renewal the job would look abandoned.
        clock.now += timedelta(minutes=10)
        assert wait_for(lambda: _locked_until(balise, job_id) > clock.now, seconds=30), "the lease was never renewed"
        assert queue.claim("second") is None
    finally:
        release.set()
        worker.join(60)
    [job] = queue.list()
    assert (job.status, job.attempts, job.locked_by) == ("done", 1, "first") and runs == ["run"]
    clock.now += timedelta(hours=1)
    assert queue.claim("second") is None


def test_a_renewal_by_a_worker_that_lost_its_job_changes_nothing(balise) -> None:
    clock = Clock()
    queue = JobQueue(balise.db.sessions, clock, lease=timedelta(seconds=30))
    with balise.db.transaction() as s:
        queue.enqueue(s, "test.job", {})
    dead = queue.claim("presumed-dead")
    clock.now += timedelta(seconds=31)
    alive = queue.claim("other")
    assert alive is not None and alive.id == dead.id
    taken_until = _locked_until(balise, alive.id)
    clock.now += timedelta(seconds=5)
    assert queue.renew(dead.id, "presumed-dead") is False  # its heartbeat stops there
    assert _locked_until(balise, alive.id) == taken_until
    assert queue.renew(alive.id, "other") is True and _locked_until(balise, alive.id) == clock.now + queue.lease
