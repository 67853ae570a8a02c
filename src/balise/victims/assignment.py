"""Series assignment at hashing time, incremental, for millions of items.

Every hashed picture (PDQ of quality >= 50) and every video (up to 64 distinct good vPDQ
frames) is appended to ``series_hashes``. The new item's hashes are looked up in an in-memory
:class:`PdqIndex` of every earlier row (exact range search, threshold 31); its neighbours'
series decide where it goes (``domain/series.decide``): the series of a neighbour, a new series
with the neighbours that had none, and proposed series it links merged into one (union-find
whose representative is stored on the rows: a merge relabels the smaller series' rows).

Consistency: assignment runs in the transaction that records the item's hashes, after taking
the ``series_head`` row lock (PostgreSQL) or the SQLite write lock. Rows are therefore appended
in commit order, and the index catches up with ``id > last seen`` under that lock before it
answers: two items landing near each other at once end in one series. The index is per process
(a worker that hashes), built from the table on first use; its delta is compacted outside the
lock once it grows (``COMPACT_DELTA``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Series, SeriesHash, SeriesHead
from balise.detection.adapters.pdq_index import PdqIndex, hex_to_words
from balise.domain.audit import AuditEvent
from balise.domain.series import (
    MAX_VIDEO_FRAMES,
    SERIES_MIN_QUALITY,
    SERIES_PDQ_THRESHOLD,
    VIDEO_FRAME_SHARE,
    Neighbour,
    SeriesStatus,
    decide,
    reference,
)
from balise.governance.audit import AuditTrail

log = logging.getLogger("balise.series")

SYSTEM = Actor.system("series")
PURPOSE = "series assignment of a hashed item"
#: The index's delta (searched by brute force) is folded into the main index beyond this size.
COMPACT_DELTA = 20_000
_READ_BATCH = 200_000


@dataclass(frozen=True)
class ItemHashes:
    """The perceptual hashes of one item, as the series index keeps them."""

    kind: str  # pdq, vpdq
    values: tuple[str, ...]


def hashes_for_series(hashes: dict[str, Any] | None, frames: Sequence[dict[str, Any]] | None) -> ItemHashes | None:
    """What of an item's hashes goes into the series index: a picture's PDQ when its quality
    is good enough; a video's distinct good frames, at most ``MAX_VIDEO_FRAMES`` evenly spread."""
    hashes = hashes or {}
    if frames:
        seen: dict[str, None] = {}
        for f in frames:
            try:
                if int(f.get("quality", 0)) >= SERIES_MIN_QUALITY and len(str(f.get("pdq", ""))) == 64:
                    seen.setdefault(str(f["pdq"]).lower(), None)
            except (TypeError, ValueError):
                continue
        good = list(seen)
        if len(good) > MAX_VIDEO_FRAMES:
            picks = np.linspace(0, len(good) - 1, MAX_VIDEO_FRAMES).round().astype(int)
            good = [good[i] for i in picks]
        return ItemHashes("vpdq", tuple(good)) if good else None
    pdq = hashes.get("pdq")
    quality = hashes.get("pdq_quality")
    if isinstance(pdq, str) and len(pdq) == 64 and (quality is None or int(quality) >= SERIES_MIN_QUALITY):
        return ItemHashes("pdq", (pdq.lower(),))
    return None


# Built once: assignment runs for every hashed item, and building a statement cost more than
# running it (benchmarks/bench_series.py).
_LOCK = select(SeriesHead.id).where(SeriesHead.id == 1).with_for_update()
_EXISTING = select(SeriesHash.series_id).where(SeriesHash.item_id == bindparam("item")).limit(1)
_SINCE = (select(SeriesHash.id, SeriesHash.pdq).where(SeriesHash.id > bindparam("seen"))
          .order_by(SeriesHash.id).limit(bindparam("limit")))
_NEIGHBOUR_ROWS = (select(SeriesHash.id, SeriesHash.item_id, SeriesHash.series_id, Series.status)
                   .outerjoin(Series, Series.id == SeriesHash.series_id)
                   .where(SeriesHash.id.in_(bindparam("ids", expanding=True))))
_SIZES = select(Series.id, Series.item_count).where(Series.id.in_(bindparam("ids", expanding=True)))
_INSERT = insert(SeriesHash)
_ONE_MORE = (update(Series).where(Series.id == bindparam("sid"))
             .values(item_count=Series.item_count + 1, updated_at=bindparam("now")))


class SeriesIndex:
    """The per-process PdqIndex over ``series_hashes`` (ids are the rows' ids)."""

    def __init__(self) -> None:
        self._index: PdqIndex | None = None
        self.seen = 0
        self._lock = threading.Lock()

    def catch_up(self, session: Session) -> None:
        """Add every row with an id above the last one seen (call it under the head lock)."""
        with self._lock:
            if self._index is None:
                self._index = self._build(session)
                return
            while True:
                rows = session.connection().execute(_SINCE, {"seen": self.seen, "limit": _READ_BATCH}).all()
                if not rows:
                    return
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                self._index.add(hex_to_words([r[1] for r in rows]), ids)
                self.seen = int(ids[-1])

    def _build(self, session: Session) -> PdqIndex:
        ids_parts, word_parts = [], []
        last = 0
        while True:
            rows = session.connection().execute(_SINCE, {"seen": last, "limit": _READ_BATCH}).all()
            if not rows:
                break
            ids_parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            word_parts.append(hex_to_words([r[1] for r in rows]))
            last = int(ids_parts[-1][-1])
        self.seen = last
        if not ids_parts:
            return PdqIndex()
        return PdqIndex.build(np.concatenate(word_parts), np.concatenate(ids_parts))

    def maybe_compact(self) -> None:
        with self._lock:
            if self._index is not None and self._index.delta_size >= COMPACT_DELTA:
                self._index.compact()

    def query(self, values: Sequence[str], threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, series_hashes id, distance) of every indexed hash within the threshold."""
        assert self._index is not None
        res = self._index.query(hex_to_words(list(values)), threshold)
        return res.query_index, res.ids, res.distances

    def __len__(self) -> int:
        return len(self._index) if self._index is not None else 0


class SeriesAssignment:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], index: SeriesIndex | None = None,
                 threshold: int = SERIES_PDQ_THRESHOLD) -> None:
        self._audit = audit
        self._clock = clock
        self.index = index or SeriesIndex()
        self._threshold = threshold

    def lock(self, session: Session) -> None:
        """The head lock: series assignment and analysts' changes to series are serialised."""
        session.connection().execute(_LOCK).first()

    def assign(self, session: Session, item: Item, frames: Sequence[dict[str, Any]] | None = None) -> int | None:
        """Index ``item``'s perceptual hashes and link it to a series when it lands near other
        items, in the caller's transaction. Returns its series id (None: no neighbour, or
        nothing to index). Idempotent: an item already indexed is left as it is."""
        found = hashes_for_series(item.hashes, frames)
        if found is None:
            return None
        self.index.maybe_compact()
        self.lock(session)
        existing = session.connection().execute(_EXISTING, {"item": item.id}).first()
        if existing is not None:
            return existing[0]
        self.index.catch_up(session)
        neighbours = self._neighbours(session, item.id, found)
        now = self._clock()
        decision = decide(neighbours, self._sizes(session, neighbours))
        series_id = None
        if decision is not None:
            series_id = self._apply(session, item, decision, now)
        linked_by = f"system:{SYSTEM.id}" if series_id else None
        session.connection().execute(_INSERT, [{"item_id": item.id, "report_id": item.report_id, "kind": found.kind, "pdq": value,
                                   "series_id": series_id, "distance": decision.distance if decision else None,
                                   "linked_by": linked_by, "linked_at": now if series_id else None, "created_at": now}
                                  for value in found.values])
        if series_id is not None:
            assert decision is not None
            if decision.series_id is None or decision.adopt or decision.merge:
                count = self.recount(session, series_id)
            else:  # the usual case: one more item in an existing series
                session.connection().execute(_ONE_MORE, {"sid": series_id, "now": now})
                count = None
            self._audit.record(session, AuditEvent.SERIES_LINK, SYSTEM, "item", str(item.id), PURPOSE,
                               {"series": reference(series_id), "report": str(item.report_id),
                                "distance": decision.distance, "automatic": True,
                                **({"items_in_series": count} if count is not None else {})})
        return series_id

    def _neighbours(self, session: Session, item_id: uuid.UUID, found: ItemHashes) -> list[Neighbour]:
        if len(self.index) == 0:
            return []
        q_rows, ids, dists = self.index.query(found.values, self._threshold)
        if ids.size == 0:
            return []
        rows = session.connection().execute(_NEIGHBOUR_ROWS, {"ids": sorted({int(i) for i in ids.tolist()})}).all()
        by_row = {r[0]: r for r in rows}
        # Per neighbouring item: which of our hashes have a neighbour there, and the nearest.
        hit_rows: dict[uuid.UUID, set[int]] = {}
        nearest: dict[uuid.UUID, int] = {}
        series_of: dict[uuid.UUID, tuple[int | None, str | None]] = {}
        for q, row_id, d in zip(q_rows.tolist(), ids.tolist(), dists.tolist()):
            row = by_row.get(int(row_id))
            if row is None or row[1] == item_id:
                continue  # a row deleted with its report, or our own
            other = row[1]
            hit_rows.setdefault(other, set()).add(int(q))
            nearest[other] = min(nearest.get(other, 257), int(d))
            series_of[other] = (row[2], row[3])
        needed = 1 if len(found.values) == 1 else max(1, int(np.ceil(VIDEO_FRAME_SHARE * len(found.values))))
        return [Neighbour(str(other), nearest[other], series_of[other][0], series_of[other][1])
                for other, hits in hit_rows.items() if len(hits) >= needed]

    @staticmethod
    def _sizes(session: Session, neighbours: list[Neighbour]) -> dict[int, int]:
        ids = sorted({n.series_id for n in neighbours if n.series_id is not None})
        if not ids:
            return {}
        return dict(session.connection().execute(_SIZES, {"ids": ids}).all())

    def _apply(self, session: Session, item: Item, decision: Any, now: datetime) -> int:
        target = decision.series_id
        if target is None:
            series = Series(status=SeriesStatus.PROPOSED.value, item_count=0, identified=False, created_at=now,
                            updated_at=now)
            session.add(series)
            session.flush()
            target = series.id
            self._audit.record(session, AuditEvent.SERIES_CREATE, SYSTEM, "series", reference(target), PURPOSE,
                               {"proposed_by": "near-duplicate graph", "first_item": str(item.id)})
        if decision.adopt:
            session.execute(update(SeriesHash).where(SeriesHash.item_id.in_([uuid.UUID(k) for k in decision.adopt]),
                                                     SeriesHash.series_id.is_(None))
                            .values(series_id=target, linked_by=f"system:{SYSTEM.id}", linked_at=now,
                                    distance=decision.distance))
        for other in decision.merge:
            self.merge_rows(session, other, target, now)
            self._audit.record(session, AuditEvent.SERIES_MERGE, SYSTEM, "series", reference(other), PURPOSE,
                               {"into": reference(target), "automatic": True, "bridging_item": str(item.id)})
        return target

    def merge_rows(self, session: Session, source: int, target: int, now: datetime) -> None:
        """Move every row of series ``source`` to ``target`` and close ``source``; an
        identification of the source is kept on the target when it has none (a conflict is
        an analyst's decision and refused before this is called)."""
        session.execute(update(SeriesHash).where(SeriesHash.series_id == source).values(series_id=target))
        src = session.get(Series, source, with_for_update=True)
        dst = session.get(Series, target, with_for_update=True)
        assert src is not None and dst is not None
        if src.identified and not dst.identified:
            dst.identified, dst.case_reference = True, src.case_reference
            dst.identified_by, dst.identified_at = src.identified_by, src.identified_at
        src.status, src.merged_into, src.item_count, src.updated_at = SeriesStatus.MERGED.value, target, 0, now
        dst.updated_at = now

    @staticmethod
    def recount(session: Session, series_id: int) -> int:
        count = session.execute(select(func.count(func.distinct(SeriesHash.item_id)))
                                .where(SeriesHash.series_id == series_id)).scalar_one()
        series = session.get(Series, series_id)
        if series is not None:
            series.item_count = int(count)
            if count == 0 and series.status != SeriesStatus.MERGED.value:
                series.status = SeriesStatus.EMPTY.value
        return int(count)
