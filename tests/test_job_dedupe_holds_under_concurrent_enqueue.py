"""At most one pending job per dedupe key, also when two transactions enqueue the same key at
the same moment (a partial unique index; the loser gets None, its transaction goes on); a
running job may queue its successor under its own key."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from sqlalchemy import select, text

from balise.adapters.db.models import Job
from balise.jobs.queue import JobQueue
from tests.servers import wait_for


def _queue(balise) -> JobQueue:
    return JobQueue(balise.db.sessions, lambda: datetime.now(timezone.utc))


def _blocked_on_a_lock(balise) -> bool:
    with balise.db.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar())


def test_two_transactions_enqueuing_one_key_at_once_leave_one_pending_job(balise) -> None:
    queue = _queue(balise)
    results: dict[str, object] = {}
    with balise.db.transaction() as first:
        assert queue.enqueue(first, "k", {"by": "first"}, dedupe_key="same") is not None

        def second() -> None:
            with balise.db.transaction() as s:
                results["job"] = queue.enqueue(s, "k", {"by": "second"}, dedupe_key="same")
                # Its transaction is still usable after losing the race.
                results["other"] = queue.enqueue(s, "k", {"by": "second"}, dedupe_key="another") is not None

        racer = threading.Thread(target=second)
        racer.start()
        if balise.db.engine.dialect.name == "postgresql":
            # The second transaction did not see the first's uncommitted job: it must now wait
            # for it on the unique index (SQLite serialises whole transactions instead).
            assert wait_for(lambda: _blocked_on_a_lock(balise) or not racer.is_alive(), seconds=30)
            assert racer.is_alive(), "the second enqueue went through without waiting for the first"
    racer.join(60)
    assert results == {"job": None, "other": True}
    with balise.db.sessions() as s:
        pending = s.execute(select(Job.payload).where(Job.dedupe_key == "same", Job.status == "pending")).scalars().all()
    assert pending == [{"by": "first"}]


def test_a_running_job_can_queue_its_successor_under_its_key_and_a_retry_does_not_duplicate_it(balise) -> None:
    queue = _queue(balise)
    with balise.db.transaction() as s:
        queue.enqueue(s, "chain", {}, dedupe_key="chain", max_attempts=1)

    def next_then_fail(payload) -> None:
        with balise.db.transaction() as s:
            assert queue.enqueue(s, "chain", {"next": True}, dedupe_key="chain") is not None
        raise RuntimeError("failed after queuing the next run")

    assert queue.run_one({"chain": next_then_fail}, "w") is True
    first, successor = sorted(queue.list(), key=lambda j: j.id)
    assert (first.status, successor.status) == ("failed", "pending")
    # Putting the failed one back would make two pending jobs with one key: refused.
    assert queue.retry(first.id) is False
    assert [j.status for j in sorted(queue.list(), key=lambda j: j.id)] == ["failed", "pending"]
