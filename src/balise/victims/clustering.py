"""Re-clustering the series from scratch (``balise series recluster``): the connected
components of the near-duplicate graph over every indexed hash, in bulk.

Assignment at hashing time keeps series current one item at a time; this recomputes the
*proposed* series of every item that is not in a series an analyst confirmed (their decisions
stand), e.g. after the threshold changed. The graph: one node per item (a video's frames are
one node), an edge between two items with hashes within the threshold, found with one
:class:`PdqIndex` self-query in batches; components by vectorised union-find (min-label
propagation with pointer jumping, numpy only). A new component keeps the reference of the old
proposed series most of its items were in, when free, so that references people know survive.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Column, MetaData, Table, Uuid, insert, or_, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Series, SeriesHash
from balise.detection.adapters.pdq_index import PdqIndex, hex_to_words
from balise.domain.audit import AuditEvent
from balise.domain.series import SERIES_PDQ_THRESHOLD, SeriesStatus
from balise.governance.audit import AuditTrail
from balise.victims.assignment import SeriesAssignment

BATCH = 20_000


def components(words: np.ndarray, node: np.ndarray, threshold: int = SERIES_PDQ_THRESHOLD,
               batch: int = BATCH) -> np.ndarray:
    """The component label (smallest node number) of every node, for hashes ``words`` (N, 4)
    belonging to nodes ``node`` (N,), nodes numbered 0..K-1. Nodes with several hashes (a
    video's frames) are joined through any of them."""
    k = int(node.max()) + 1 if node.size else 0
    labels = np.arange(k, dtype=np.int64)
    if not node.size:
        return labels
    index = PdqIndex.build(words, np.arange(words.shape[0], dtype=np.int64))
    parts_a, parts_b = [], []
    for start in range(0, words.shape[0], batch):
        res = index.query(words[start:start + batch], threshold)
        a = node[res.query_index + start]
        b = node[res.ids]
        keep = a != b
        parts_a.append(a[keep])
        parts_b.append(b[keep])
    a = np.concatenate(parts_a) if parts_a else np.zeros(0, dtype=np.int64)
    b = np.concatenate(parts_b) if parts_b else np.zeros(0, dtype=np.int64)
    while a.size:
        m = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, m)
        np.minimum.at(labels, b, m)
        while True:  # pointer jumping: every node points at its root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(before, labels):
            break
    return labels


class Reclustering:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], assignment: SeriesAssignment,
                 threshold: int = SERIES_PDQ_THRESHOLD) -> None:
        self._audit = audit
        self._clock = clock
        self._assignment = assignment
        self._threshold = threshold

    def run(self, session: Session, actor: Actor) -> dict[str, Any]:
        self._assignment.lock(session)
        now = self._clock()
        # Analysts' and partners' decisions stand: confirmed and identified series are left as they are.
        confirmed = {sid for (sid,) in session.execute(select(Series.id).where(
            (Series.status == SeriesStatus.CONFIRMED.value) | Series.identified.is_(True))).all()}
        rows = session.execute(select(SeriesHash.item_id, SeriesHash.pdq, SeriesHash.series_id)
                               .order_by(SeriesHash.id)).all()
        free = [r for r in rows if r[2] not in confirmed]
        item_ids = list(dict.fromkeys(r[0] for r in free))
        number = {item: n for n, item in enumerate(item_ids)}
        node = np.fromiter((number[r[0]] for r in free), dtype=np.int64, count=len(free))
        words = hex_to_words([r[1] for r in free]) if free else np.zeros((0, 4), dtype=np.uint64)
        labels = components(words, node, self._threshold)
        old = {r[0]: r[2] for r in free}
        groups: dict[int, list[uuid.UUID]] = {}
        for item, n in number.items():
            groups.setdefault(int(labels[n]), []).append(item)
        multi = [g for g in groups.values() if len(g) > 1]
        # Keep a known reference where the component's items mostly were; close the others.
        previous = {sid for sid in old.values() if sid is not None}
        taken: set[int] = set()
        plan: list[tuple[int | None, list[uuid.UUID]]] = []
        for members in sorted(multi, key=len, reverse=True):
            votes: dict[int, int] = {}
            for item in members:
                if old[item] is not None and old[item] not in taken:
                    votes[old[item]] = votes.get(old[item], 0) + 1
            keep = max(votes, key=lambda s: (votes[s], -s)) if votes else None
            if keep is not None:
                taken.add(keep)
            plan.append((keep, members))
        created = self._write(session, now, plan, old, previous, taken)
        summary = {"items": len(item_ids), "hashes": len(free), "series": len(plan), "created": created,
                   "kept": len(taken), "closed": len(previous - taken), "confirmed_untouched": len(confirmed)}
        self._audit.record(session, AuditEvent.SERIES_RECLUSTER, actor, "series", "all",
                           "re-cluster the proposed series from scratch", summary)
        return summary

    @staticmethod
    def _write(session: Session, now: datetime, plan: list[tuple[int | None, list[uuid.UUID]]],
               old: dict[uuid.UUID, int | None], previous: set[int], taken: set[int]) -> int:
        """Write the plan in a fixed number of statements whatever the number of series: the
        new series in one multi-row insert, every item's series through a temporary table and
        two ``UPDATE … FROM``, the counts by primary key in bulk. (One flush and one UPDATE per
        series made 1 M items take most of an hour.)"""
        fresh = [n for n, (keep, _) in enumerate(plan) if keep is None]
        if fresh:
            ids = session.scalars(
                insert(Series).returning(Series.id, sort_by_parameter_order=True),
                [{"status": SeriesStatus.PROPOSED.value, "item_count": 0, "identified": False, "created_at": now,
                  "updated_at": now} for _ in fresh]).all()
            for n, sid in zip(fresh, ids, strict=True):
                plan[n] = (sid, plan[n][1])
        members = {item: keep for keep, items in plan for item in items}
        # Items that were in a proposed series and are alone now leave it.
        rows = [{"item_id": item, "series_id": members.get(item)} for item, was in old.items()
                if item in members or was is not None]
        connection = session.connection()
        target = Table("recluster_plan", MetaData(), Column("item_id", Uuid, primary_key=True),
                       Column("series_id", BigInteger), prefixes=["TEMPORARY"])
        target.create(connection)
        try:
            for start in range(0, len(rows), 10_000):
                connection.execute(insert(target), rows[start:start + 10_000])
            # Rows an analyst's decision holds (a confirmed or identified series) stay where they are.
            decided = select(Series.id).where(
                (Series.status == SeriesStatus.CONFIRMED.value) | Series.identified.is_(True)).scalar_subquery()
            free = or_(SeriesHash.series_id.is_(None), SeriesHash.series_id.not_in(decided))
            connection.execute(update(SeriesHash.__table__)
                               .where(SeriesHash.item_id == target.c.item_id, target.c.series_id.is_not(None), free)
                               .values(series_id=target.c.series_id, linked_by="system:recluster", linked_at=now))
            connection.execute(update(SeriesHash.__table__)
                               .where(SeriesHash.item_id == target.c.item_id, target.c.series_id.is_(None), free)
                               .values(series_id=None))
        finally:
            target.drop(connection)
        if plan:
            session.execute(update(Series), [{"id": keep, "item_count": len(items), "updated_at": now}
                                             for keep, items in plan])
        closed = sorted(previous - taken)
        for start in range(0, len(closed), 5_000):
            session.execute(update(Series).where(Series.id.in_(closed[start:start + 5_000]),
                                                 Series.status == SeriesStatus.PROPOSED.value)
                            .values(status=SeriesStatus.EMPTY.value, item_count=0, updated_at=now),
                            execution_options={"synchronize_session": False})
        return len(fresh)
