"""Periodic work on the durable job queue: each periodic task is a job that, when it has run,
queues its next run in the same transaction as its effect. ``ensure`` (called when a worker
starts) queues a task that has no pending or running job, so a chain broken by a crash is
restarted and two workers never run two chains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.adapters.db.models import Job
from balise.jobs.queue import JobQueue

PREFIX = "periodic."


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every: timedelta
    run: Callable[[Session], None] | None = None  # runs in the transaction that queues the next run
    # Batched work in transactions of its own, run first (retention: one transaction per report).
    # It must be idempotent: after a crash it runs again before the next run is queued.
    work: Callable[[], None] | None = None
    # When the next run is due, from the end of this one (a nightly task names its hour);
    # without it, ``every`` after this one.
    next_run: Callable[[datetime], datetime] | None = None

    @property
    def kind(self) -> str:
        return PREFIX + self.name


class Periodic:
    def __init__(self, new_session: Callable[[], Session], jobs: JobQueue, clock: Callable[[], datetime],
                 tasks: list[PeriodicTask]) -> None:
        self._new_session = new_session
        self._jobs = jobs
        self._clock = clock
        self._tasks = {t.kind: t for t in tasks}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {kind: (lambda payload, kind=kind: self._run(kind)) for kind in self._tasks}

    def ensure(self) -> int:
        added = 0
        with self._new_session() as session, session.begin():
            for kind in self._tasks:
                live = session.execute(select(Job.id).where(Job.kind == kind, Job.status.in_(("pending", "running")))
                                       .limit(1)).first()
                if not live:
                    self._jobs.enqueue(session, kind, {}, dedupe_key=kind)
                    added += 1
        return added

    def _run(self, kind: str) -> None:
        task = self._tasks[kind]
        if task.work is not None:
            task.work()
        with self._new_session() as session, session.begin():
            if task.run is not None:
                task.run(session)
            now = self._clock()
            run_at = task.next_run(now) if task.next_run is not None else now + task.every
            self._jobs.enqueue(session, kind, {}, run_at=run_at, dedupe_key=kind)
