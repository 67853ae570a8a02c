"""Durable background jobs on the database.

Why not a queue library: the embedded default must run with SQLite and no other service, and
production on PostgreSQL; a job must be enqueued in the same transaction as the data it acts
on. The maintained libraries either need Redis/RabbitMQ (Celery, RQ, Dramatiq) or PostgreSQL
only (procrastinate, pgqueuer). This queue is one table: enqueue is an INSERT in the caller's
transaction; a worker claims a job atomically (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL,
the SQLite write lock otherwise) with a lease; while the handler runs, a heartbeat renews the
lease, so a long job is never claimed by a second worker while its first worker is alive; a
worker killed mid-job stops renewing, its lease expires and the job runs again, so handlers are
written to be idempotent; failures are retried with exponential backoff until
``max_attempts``, then marked failed and kept visible. A handler that knows retrying is
pointless raises :class:`PermanentJobFailure`: the job is marked failed at once.

A ``dedupe_key`` keeps at most one *pending* job per key: a partial unique index (PostgreSQL
and SQLite) makes that hold even when two transactions enqueue at the same moment. A running
job may queue its own successor under its key (the next removal check, the next periodic run).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.adapters.db.models import Job
from balise.adapters.db.pending_rows import pending_rows
from balise.adapters.logs import bound_request_id, current_request_id

log = logging.getLogger("balise.jobs")

Handler = Callable[[dict[str, Any]], None]
# Called in the transaction that puts a failed job back in the queue (e.g. the notice it
# delivers becomes pending again).
RetryHook = Callable[[Session, dict[str, Any]], None]


class PermanentJobFailure(Exception):
    """Raised by a handler when another attempt cannot succeed (the handler has recorded why):
    the job is marked failed at once, whatever its attempts."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    request_id: str | None = None


@dataclass(frozen=True)
class NewJob:
    """A job to add with :meth:`JobQueue.enqueue_many`."""

    kind: str
    payload: dict[str, Any]
    dedupe_key: str


def _job_row(kind: str, payload: dict[str, Any], dedupe_key: str | None, max_attempts: int,
             run_at: datetime, now: datetime) -> dict[str, Any]:
    """A pending job's row, tagged with the request that queues it."""
    return {"kind": kind, "payload": payload, "dedupe_key": dedupe_key, "status": "pending", "attempts": 0,
            "max_attempts": max_attempts, "run_at": run_at, "created_at": now, "request_id": current_request_id()}


@functools.cache
def _enqueue_statement(dialect: str | None) -> Any:
    """The INSERT of a job, built once (building it per call cost more than running it); with
    a dialect, the one that adds nothing while a job with the same dedupe key is pending."""
    # On the table, not the mapped class: the ORM's bulk-insert path costs more than the
    # statement (issue 19).
    jobs = Job.__table__
    if dialect is None:
        return insert(jobs).returning(jobs.c.id)
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # The index's predicate as a literal: with a bound parameter PostgreSQL cannot infer the
    # partial index once psycopg prepares the statement (its sixth run on a connection).
    return upsert(jobs).on_conflict_do_nothing(
        index_elements=[jobs.c.dedupe_key], index_where=text("status = 'pending'")).returning(jobs.c.id)


class JobQueue:
    def __init__(self, new_session: Callable[[], Session], clock: Callable[[], datetime],
                 lease: timedelta = timedelta(minutes=5)) -> None:
        self._new_session = new_session
        self._clock = clock
        self.lease = lease

    def enqueue(self, session: Session, kind: str, payload: dict[str, Any], *,
                run_at: datetime | None = None, dedupe_key: str | None = None, max_attempts: int = 8) -> int | None:
        """Add a job in the caller's transaction; its id. With ``dedupe_key``, nothing is added
        (None) while a job with that key is pending; a running one does not count, so a job can
        queue its successor. Two transactions enqueuing the same key at once: the unique index
        lets one in, the other waits for it and gets None, its transaction going on.

        One statement (INSERT … ON CONFLICT DO NOTHING on the partial unique index): a report's
        jobs are queued inside the transaction that holds the audit chain's head, so each
        round trip here delayed every other intake (issue 19; it took a read, a savepoint, the
        insert and its release before)."""
        now = self._clock()
        values = _job_row(kind, payload, dedupe_key, max_attempts, run_at or now, now)
        dialect = session.get_bind().dialect.name if dedupe_key is not None else None
        return session.execute(_enqueue_statement(dialect), values).scalar_one_or_none()

    def enqueue_many(self, session: Session, jobs: list[NewJob], *, max_attempts: int = 8) -> int:
        """Add several jobs, each with its dedupe key, in the caller's transaction by one
        statement (a new report's jobs: triage, entity extraction, URL fetches); how many were
        added. A job whose key is pending already is left out, as :meth:`enqueue` would.
        In an intake group (intake/grouping.py) the jobs are written with the group's rows,
        before its commit, and the number returned is of those queued, none left out yet."""
        if not jobs:
            return 0
        now = self._clock()
        rows = [_job_row(job.kind, job.payload, job.dedupe_key, max_attempts, now, now) for job in jobs]
        statement = _enqueue_statement(session.get_bind().dialect.name)
        pending = pending_rows(session)
        if pending is not None:
            pending.add_rows(statement, rows)
            return len(rows)
        # One multi-row INSERT (SQLAlchemy's "insertmanyvalues"), whatever the number of jobs.
        return len(session.execute(statement, rows).scalars().all())

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
            return ClaimedJob(job.id, job.kind, dict(job.payload), job.attempts, job.request_id)

    def complete(self, job_id: int, worker: str) -> None:
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is not None and job.locked_by == worker and job.status == "running":
                job.status = "done"
                job.finished_at = self._clock()
                job.locked_until = None

    def renew(self, job_id: int, worker: str) -> bool:
        """Extend the lease of a job this worker holds; False when it is no longer its job."""
        with self._new_session() as session, session.begin():
            result = session.execute(
                update(Job).where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
                .values(locked_until=self._clock() + self.lease))
            return bool(result.rowcount)

    def fail(self, job_id: int, worker: str, error: str, *, permanent: bool = False) -> None:
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.locked_by != worker or job.status != "running":
                return
            job.last_error = error[-4000:]
            job.locked_until = None
            if permanent or job.attempts >= job.max_attempts:
                job.status = "failed"
                job.finished_at = self._clock()
                return
            job.run_at = self._clock() + timedelta(seconds=min(3600, 2 ** job.attempts))
            if not self._to_pending(session, job):
                # While it ran, the job queued its successor under its key: that one will do
                # the work, so this one ends here instead of running twice.
                job.status, job.finished_at = "done", self._clock()
                job.last_error = (job.last_error + "\n(superseded by a pending job with the same key)")[-4000:]

    def _to_pending(self, session: Session, job: Job) -> bool:
        """Make a job pending again unless another job with its key is pending already."""
        if job.dedupe_key is None:
            job.status = "pending"
            return True
        other = session.execute(select(Job.id).where(Job.dedupe_key == job.dedupe_key, Job.status == "pending",
                                                     Job.id != job.id)).first()
        if other:
            return False
        try:
            with session.begin_nested():
                job.status = "pending"
                session.flush()
        except IntegrityError:  # another transaction just queued one (PostgreSQL)
            return False
        return True

    def retry(self, job_id: int, hooks: dict[str, RetryHook] | None = None) -> bool:
        """Put a failed (or pending) job back in the queue to run now, with its attempts reset;
        the hook for its kind runs in the same transaction. False when there is no such job,
        it is running or done, or another job with its key is pending."""
        with self._new_session() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.status not in ("failed", "pending"):
                return False
            if job.status == "failed" and not self._to_pending(session, job):
                return False
            job.run_at, job.attempts, job.finished_at = self._clock(), 0, None
            hook = (hooks or {}).get(job.kind)
            if hook is not None:
                hook(session, dict(job.payload))
            return True

    def reset_failed(self, session: Session, dedupe_key: str) -> bool:
        """In the caller's transaction: put the failed job with this key back in the queue
        (its history stays on it). False when there is none or one with the key is pending."""
        job = session.execute(select(Job).where(Job.dedupe_key == dedupe_key, Job.status == "failed")
                              .order_by(Job.id.desc()).limit(1).with_for_update()).scalar_one_or_none()
        if job is None or not self._to_pending(session, job):
            return False
        job.run_at, job.attempts, job.finished_at = self._clock(), 0, None
        return True

    def list(self, status: str | None = None, limit: int = 50) -> list[Job]:
        with self._new_session() as session:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if status:
                query = query.where(Job.status == status)
            return list(session.execute(query).scalars())

    def run_one(self, handlers: dict[str, Handler], worker: str) -> bool:
        """Claim and run one job; False when none was ready. While the handler runs, a
        heartbeat thread renews the lease (every third of it), so no other worker claims the
        job as long as this one lives."""
        job = self.claim(worker, set(handlers))
        if job is None:
            return False
        # Every line logged while the job runs carries the request that enqueued it, and so
        # does every job it enqueues in turn.
        with bound_request_id(job.request_id):
            self._run(job, handlers, worker)
        return True

    def _run(self, job: ClaimedJob, handlers: dict[str, Handler], worker: str) -> None:
        log.debug("job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
        started = time.perf_counter()
        heartbeat = _Heartbeat(self, job.id, worker)
        heartbeat.start()
        error, permanent = None, False
        try:
            handlers[job.kind](job.payload)
        except PermanentJobFailure as exc:
            log.warning("job %s (%s) failed for good: %s", job.id, job.kind, exc)
            error, permanent = f"{type(exc).__name__}: {exc}", True
        except Exception as exc:  # noqa: BLE001 - recorded on the job and retried
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            error = "".join(traceback.format_exception(exc))
        finally:
            heartbeat.stop()
        if error is None:
            self.complete(job.id, worker)
            log.info("job %s (%s) done in %.3f s", job.id, job.kind, time.perf_counter() - started)
        else:
            self.fail(job.id, worker, error, permanent=permanent)

    def run_until_idle(self, handlers: dict[str, Handler], worker: str | None = None, limit: int = 10_000) -> int:
        worker = worker or worker_name()
        done = 0
        while done < limit and self.run_one(handlers, worker):
            done += 1
        return done


class _Heartbeat(threading.Thread):
    """Renews a running job's lease until stopped. A renewal that finds the job taken by
    another worker (this one was presumed dead) stops; a database error is logged and retried
    at the next beat."""

    def __init__(self, queue: JobQueue, job_id: int, worker: str) -> None:
        super().__init__(name=f"balise-job-heartbeat-{job_id}", daemon=True)
        self._queue = queue
        self._job_id = job_id
        self._worker = worker
        self._stopped = threading.Event()
        self.interval = max(0.05, queue.lease.total_seconds() / 3)

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                if not self._queue.renew(self._job_id, self._worker):
                    log.warning("job %s: lease lost to another worker", self._job_id)
                    return
            except Exception:  # noqa: BLE001 - the database may be briefly unavailable
                log.exception("job %s: lease renewal failed", self._job_id)

    def stop(self) -> None:
        self._stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


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
