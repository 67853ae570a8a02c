"""The match access log: every answered match query, written in batches by a background
thread so that logging a query costs no transaction of its own (docs/oversight.md).

``append`` only puts the entry in memory; the writer commits a batch when ``batch_size`` entries
wait or ``flush_interval`` has passed since the first of them, whichever comes first. Each batch
is one row whose MAC covers its entries and the previous batch's MAC, and ``match_access_head``
holds the last one (locked by each append, so two processes never fork the chain). A clean
shutdown (``close``) writes what is waiting; a process killed with SIGKILL loses the entries not
yet written, at most one batch (``batch_size`` entries or ``flush_interval`` of queries).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.adapters.db.models import MatchAccessBatch, MatchAccessHead
from balise.domain.checkpoints import GENESIS, ChainHead, batch_mac
from balise.governance.audit import VerifyResult

log = logging.getLogger("balise.access_log")


class AccessLog:
    def __init__(self, new_session: Callable[[], Session], key: bytes, clock: Callable[[], datetime],
                 batch_size: int = 1000, flush_interval: float = 0.1) -> None:
        self._new_session = new_session
        self._key = key
        self._clock = clock
        self._batch_size = batch_size
        self._interval = flush_interval
        self._pending: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()  # one batch at a time from this process, in order
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- writing ---------------------------------------------------------------------------

    def append(self, entry: dict[str, Any]) -> None:
        """Queue one entry; returns at once. Written within flush_interval."""
        with self._cond:
            self._pending.append(entry)
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name="balise-access-log", daemon=True)
                self._thread.start()
            if len(self._pending) == 1 or len(self._pending) >= self._batch_size:
                self._cond.notify()

    def write_now(self, session: Session, entries: list[dict[str, Any]]) -> None:
        """Append one batch in the caller's transaction (the CLI: no writer thread)."""
        if entries:
            self._append_batch(session, entries)

    def flush(self) -> int:
        """Write every waiting entry now, and wait for a batch the writer has in hand; returns
        how many entries this call wrote."""
        written = 0
        while n := self._take_and_write():
            written += n
        return written

    def close(self) -> None:
        """Stop the writer and write what is waiting (a clean shutdown loses nothing)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.flush()
        with self._cond:
            # A later append (the same container serving again, as tests do) starts a new writer.
            self._thread, self._closing = None, False

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._closing:
                    self._cond.wait()
                if len(self._pending) < self._batch_size and not self._closing:
                    # Let the batch fill for at most one interval after its first entry.
                    self._cond.wait_for(lambda: len(self._pending) >= self._batch_size or self._closing,
                                        timeout=self._interval)
                if self._closing:
                    return
            try:
                self._take_and_write()
            except Exception:
                log.exception("match access log: a batch was not written; retrying")
                with self._cond:
                    self._cond.wait(timeout=max(self._interval, 1.0))

    def _take_and_write(self) -> int:
        # The write lock is taken before the batch leaves the queue, so flush() returns only
        # once a batch the writer thread took is committed, and batches commit in order.
        with self._write_lock:
            with self._cond:
                batch = self._pending[: self._batch_size]
                del self._pending[: len(batch)]
            if not batch:
                return 0
            try:
                with self._new_session() as session, session.begin():
                    self._append_batch(session, batch)
            except Exception:
                with self._cond:
                    self._pending[:0] = batch
                raise
            return len(batch)

    def _append_batch(self, session: Session, entries: list[dict[str, Any]]) -> MatchAccessBatch:
        head = session.execute(select(MatchAccessHead).where(MatchAccessHead.id == 1).with_for_update()).scalar_one()
        seq, written_at = head.seq + 1, self._clock()
        mac = batch_mac(self._key, seq, written_at, entries, head.mac)
        row = MatchAccessBatch(seq=seq, written_at=written_at, entry_count=len(entries), entries=entries,
                               prev_mac=head.mac, mac=mac)
        session.add(row)
        head.seq, head.mac = seq, mac
        session.flush()
        return row

    # -- reading ---------------------------------------------------------------------------

    def head(self, session: Session) -> ChainHead:
        head = session.execute(select(MatchAccessHead).where(MatchAccessHead.id == 1)).scalar_one()
        return ChainHead(head.seq, head.mac)

    def verify(self, session: Session, batch: int = 500) -> VerifyResult:
        """Every batch follows the one before and still has its MAC; the head is the last one."""
        expected, prev_mac, checked = 1, GENESIS, 0
        while True:
            rows = session.execute(select(MatchAccessBatch).where(MatchAccessBatch.seq >= expected)
                                   .order_by(MatchAccessBatch.seq).limit(batch)).scalars().all()
            if not rows:
                break
            for row in rows:
                if row.seq != expected:
                    return VerifyResult(False, checked, expected,
                                        f"access log batch {expected} is missing (next present is {row.seq})")
                if row.prev_mac != prev_mac:
                    return VerifyResult(False, checked, row.seq,
                                        f"access log batch {row.seq} does not follow batch {row.seq - 1} (chain broken)")
                if (batch_mac(self._key, row.seq, row.written_at, row.entries, row.prev_mac) != row.mac
                        or row.entry_count != len(row.entries)):
                    return VerifyResult(False, checked, row.seq,
                                        f"access log batch {row.seq} was altered (its MAC does not match its content)")
                prev_mac, expected, checked = row.mac, expected + 1, checked + 1
            session.expunge_all()
        head = session.execute(select(MatchAccessHead).where(MatchAccessHead.id == 1)).scalar_one_or_none()
        if head is None:
            return VerifyResult(False, checked, expected, "the access log head row is missing")
        if head.seq != expected - 1 or head.mac != prev_mac:
            if head.seq > expected - 1:
                return VerifyResult(False, checked, expected,
                                    f"access log batches {expected}..{head.seq} are missing (the log was cut short)")
            return VerifyResult(False, checked, head.seq + 1, "the access log head does not match the last batch")
        return VerifyResult(True, checked)
