"""Durable background jobs on the database.

Why not a queue library: the embedded default must run with SQLite and no other service, and
production on PostgreSQL; a job must be enqueued in the same transaction as the data it acts
on. The maintained libraries either need Redis/RabbitMQ (Celery, RQ, Dramatiq) or PostgreSQL
only (procrastinate, pgqueuer). This queue is one table: enqueue is an INSERT in the caller's
transaction; a worker claims a job atomically (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL,
the SQLite write lock otherwise) with a lease; a worker killed mid-job leaves the lease to
expire and the job runs again, so handlers are written to be idempotent; failures are retried
with exponential backoff until ``max_attempts``, then marked failed and kept visible.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import Job

log = logging.getLogger("balise.jobs")

Handler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


class JobQueue:
    def __init__(self, new_session: Callable[[], Session], clock: Callable[[], datetime],
                 lease: timedelta = timedelta(minutes=5)) -> None:
        self._new_session = new_session
        self._clock = clock
        self.lease = lease

    def enqueue(self, session: Session, kind: str, payload: dict[str, Any], *,
                run_at: datetime | None = None, dedupe_key: str | None = None, max_attempts: int = 8) -> Job | None:
        """Add a job in the caller's transaction. With ``dedupe_key``, nothing is added while
        a job with that key is still pending."""
        if dedupe_key is not None:
            pending = session.execute(
                select(Job.id).where(Job.dedupe_key == dedupe_key, Job.status == "pending")
            ).first()
            if pending:
                return None
        job = Job(kind=kind, payload=payload, dedupe_key=dedupe_key, status="pending", attempts=0,
                  max_attempts=max_attempts, run_at=run_at or self._clock(), created_at=self._clock())
        session.add(job)
        session.flush()
        return job

    def claim(self, worker: str, kinds: set[str] | None = None) -> ClaimedJob | None:
        now = self._clock()
        with self._new_session() as session, session.begin():
            ready = or_(
                (Job.status == "pending") & (Job.run_at <= now),
                (Job.status == "running") & (Job.locked_until < now),  # its worker died
            )
            query = select(Job).where(ready).order_by(Job.run_at, Job.id).limit(1).with_for_update(skip_locked=True)
            if kinds:
                query = query.where(Job.kind.in_(sorted(kinds)))
            job = session.execute(query).scalar_one_or_none()
            if job is None:
                return None
            job.status = "running"
            job.locked_by = worker
            job.locked_until = now + self.lease
            job.attempts += 1
            return ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts)

    def complete(self, job_id: int, worker: str) -> None:
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is not None and job.locked_by == worker and job.status == "running":
                job.status = "done"
                job.finished_at = self._clock()
                job.locked_until = None

    def fail(self, job_id: int, worker: str, error: str) -> None:
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.locked_by != worker:
                return
            job.last_error = error[-4000:]
            job.locked_until = None
            if job.attempts >= job.max_attempts:
                job.status = "failed"
                job.finished_at = self._clock()
            else:
                job.status = "pending"
                job.run_at = self._clock() + timedelta(seconds=min(3600, 2 ** job.attempts))

    def retry(self, job_id: int) -> bool:
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.status not in ("failed", "pending"):
                return False
            job.status, job.run_at, job.attempts = "pending", self._clock(), 0
            return True

    def list(self, status: str | None = None, limit: int = 50) -> list[Job]:
        with self._new_session() as session:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if status:
                query = query.where(Job.status == status)
            return list(session.execute(query).scalars())

    def run_one(self, handlers: dict[str, Handler], worker: str) -> bool:
        """Claim and run one job; False when none was ready."""
        job = self.claim(worker, set(handlers))
        if job is None:
            return False
        try:
            handlers[job.kind](job.payload)
        except Exception as exc:  # noqa: BLE001 - recorded on the job and retried
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            self.fail(job.id, worker, "".join(traceback.format_exception(exc)))
        else:
            self.complete(job.id, worker)
        return True

    def run_until_idle(self, handlers: dict[str, Handler], worker: str | None = None, limit: int = 10_000) -> int:
        worker = worker or worker_name()
        done = 0
        while done < limit and self.run_one(handlers, worker):
            done += 1
        return done


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class BackgroundWorker(threading.Thread):
    """Runs jobs in a thread of the serving process (the embedded default)."""

    def __init__(self, queue: JobQueue, handlers: dict[str, Handler], poll_seconds: float = 0.5) -> None:
        super().__init__(name="balise-jobs", daemon=True)
        self._queue = queue
        self._handlers = handlers
        self._poll = poll_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        name = worker_name()
        while not self._stop_event.is_set():
            try:
                if not self._queue.run_one(self._handlers, name):
                    self._stop_event.wait(self._poll)
            except Exception:  # noqa: BLE001 - the database may be briefly unavailable
                log.exception("job worker loop error")
                self._stop_event.wait(self._poll * 4)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)
