"""Group commit of intakes: the reports that arrive together share one transaction and one commit.

Every intake appends to the audit chain, and the chain's head stays locked from that append
until the commit has reached the disk (the WAL flush on PostgreSQL). Intakes therefore pass the
head one at a time, each waiting for the flush of the one before: a third of intake's throughput
was that wait (docs/benchmarks.md, issue 19).

Here one thread per process (the committer) takes every unit that is waiting and runs each in
one shared transaction. A unit writes nothing itself: it leaves the rows it stores in the
group's pending rows (``balise.adapters.db.pending_rows``), and the committer writes them all
at once, one INSERT per table and set of columns whatever the number of reports (on
PostgreSQL all in one round trip), then appends what every unit left for last (``finish``: the
audit events of all the reports, one append, one lock of the head) and commits once. The units
of a group therefore cost a handful of statements between them, where each report alone cost
six round trips (a savepoint, four INSERTs, its release) and the ORM's unit of work, most of a
hash-only report's server CPU (issue 19).

Each caller blocks until its unit's group has committed, so a 201 is still sent only for a
report that is on disk. A unit that fails has its pending rows taken back alone and its caller
gets its exception; the others commit. A unit must therefore not write through the session:
a flush of its objects raises, and a unit that leaves objects in the session sends its whole
group to run alone, where it fails by itself (an INSERT it executes itself cannot be seen, and
is a bug of the same kind). If the group's write or commit fails (a duplicate Idempotency-Key
from another process, a full disk), every unit of the group runs again alone, in its own
transaction, so one bad unit cannot take the others down with it.

No unit waits for a timer: the committer takes what is waiting when it is free, so a lone
request commits at once and a group forms only while a commit is in flight. A group holds at
most ``max_units`` units (64 at most): a bigger group would hold the audit chain's head no
longer, but its callers would wait for one another longer.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from balise.adapters.db.pending_rows import PENDING_ROWS, PendingRows

log = logging.getLogger("balise.intake.grouping")

T = TypeVar("T")

MAX_UNITS_LIMIT = 64


#: A unit: leaves its rows in the session's pending rows, returns its result and what it
#: leaves for ``finish``.
Work = Callable[[Session], "tuple[T, list[Any]]"]


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Work[T]
    # The caller's context (its request id for the logs, its language): the unit runs in it.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    result: Future[T] = field(default_factory=Future)


class TransactionGroups:
    """Runs units of work ``work(session) -> (result, tail)`` in shared transactions; the tails
    of a group's units that succeeded go, in order, to one ``finish(session, tails)`` call made
    last before the commit (see the module)."""

    def __init__(self, new_session: Callable[[], Session], finish: Callable[[Session, list[Any]], Any],
                 max_units: int = 32) -> None:
        if not 1 <= max_units <= MAX_UNITS_LIMIT:
            raise ValueError(f"a group holds 1 to {MAX_UNITS_LIMIT} units, not {max_units}")
        self._new_session = new_session
        self._finish = finish
        self.max_units = max_units
        self._waiting: list[_Unit[Any]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: Groups committed (read by tests).
        self.groups_committed = 0
        # A forked process (a pre-forking server; `balise serve --workers N` spawns instead)
        # inherits no thread, and perhaps a lock held by one: it starts afresh, with no unit
        # (those are its parent's callers').
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (groups := me()) is not None and groups._after_fork())

    def _after_fork(self) -> None:
        self._cond = threading.Condition()
        self._waiting = []
        self._thread = None

    def run(self, work: Work[T]) -> T:
        """Run ``work`` in the next group and return its result once that group has committed
        (or raise what ``work`` raised; nothing of it is then stored). Safe from any thread
        except the committer's; ``work`` may run twice if its group's commit fails, so it must
        create what it stores each time it runs."""
        if self._thread is threading.current_thread():
            # It would wait for its own group: a unit must not file another.
            raise RuntimeError("a unit of an intake group cannot run another unit")
        unit: _Unit[T] = _Unit(work)
        with self._cond:
            if self._closed or self.max_units == 1:
                alone = True
            else:
                alone = False
                self._ensure_committer()
                self._waiting.append(unit)
                self._cond.notify_all()  # the committer, and whoever waits to see the queue grow
        if alone:
            return unit.context.run(self._alone, work)
        return unit.result.result()

    def close(self) -> None:
        """Commit what is waiting and stop the committer; later units run alone."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    # -- the committer ---------------------------------------------------------------------

    def _ensure_committer(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="balise-intake-commit", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if not self._waiting:
                    return  # closed, and nothing waits
                group = self._waiting[: self.max_units]
                del self._waiting[: len(group)]
            self._commit(group)

    def _commit(self, group: list[_Unit[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._new_session() as session, session.begin():
                pending = session.info[PENDING_ROWS] = PendingRows()
                tails: list[Any] = []
                for unit in group:
                    mark = pending.mark()
                    try:
                        result, tail = unit.context.run(unit.work, session)
                    except Exception as exc:  # the unit's own failure: its rows are taken back
                        pending.take_back(mark)
                        outcomes.append((False, exc))
                    else:
                        outcomes.append((True, result))
                        tails += tail
                    if session.new or session.dirty or session.deleted:
                        # Its writes could not be taken back if another unit failed.
                        raise RuntimeError("a unit of an intake group wrote through the session")
                pending.write(session)  # nothing at all if no unit left a row
                # Last: what takes a lock held until the commit (the audit chain's head).
                self._finish(session, tails)
        except Exception:
            # The shared transaction failed (its commit, or a savepoint that could not be
            # undone): no unit of it is stored. Each runs again in a transaction of its own.
            log.warning("an intake group of %d failed to commit; each report is filed alone", len(group),
                        exc_info=True)
            for unit in group:
                try:
                    unit.result.set_result(unit.context.run(self._alone, unit.work))
                except Exception as exc:
                    unit.result.set_exception(exc)
            return
        except BaseException as exc:  # the committer is stopping abnormally: no caller hangs
            for unit in group:
                if not unit.result.done():
                    unit.result.set_exception(exc)
            raise
        self.groups_committed += 1
        for unit, (ok, value) in zip(group, outcomes):
            if ok:
                unit.result.set_result(value)
            else:
                unit.result.set_exception(value)

    def _alone(self, work: Work[T]) -> T:
        with self._new_session() as session, session.begin():
            pending = session.info[PENDING_ROWS] = PendingRows()
            result, tail = work(session)
            pending.write(session)
            self._finish(session, tail)
            return result
