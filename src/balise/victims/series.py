"""Series: what analysts and partners do with them, and what other capabilities read.

Analysts confirm, split and merge series; a law-enforcement liaison marks one as depicting an
identified victim with a case reference only (never an identity); a partner downloads a
series' hashes under an access grant (CSAR Art. 46). Every action is audited (``series:*``).
All changes take the series head lock, as assignment does, so a split never races an item
being linked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Organisation, Report, Series, SeriesHash
from balise.domain.audit import AuditEvent
from balise.domain.grants import GrantDatabase, GrantOperation
from balise.domain.series import (
    SeriesError,
    SeriesLink,
    SeriesStatus,
    check_case_reference,
    check_reason,
    reference,
)
from balise.governance.audit import AuditTrail
from balise.governance.grants import Access, Grants
from balise.victims.assignment import SeriesAssignment


def actor_ref(actor: Actor) -> str:
    return f"{actor.type.value}:{actor.id}:{actor.label}"[:300]


@dataclass(frozen=True)
class Member:
    item_id: uuid.UUID
    report_id: uuid.UUID
    provider: str | None
    received_at: datetime
    media_type: str | None
    distance: int | None
    linked_by: str | None
    linked_at: datetime | None


@dataclass(frozen=True)
class ItemSeries:
    """What a report page says about one of its items: the series, whether the victim is
    identified, how many other reports carry items of it."""

    item_id: uuid.UUID
    series_id: int
    identified: bool
    other_reports: int

    @property
    def reference(self) -> str:
        return reference(self.series_id)


class SeriesService:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], assignment: SeriesAssignment,
                 grants: Grants) -> None:
        self._audit = audit
        self._clock = clock
        self._assignment = assignment
        self._grants = grants

    # -- reading ---------------------------------------------------------------------------

    def get(self, session: Session, series_id: int) -> Series:
        series = session.get(Series, series_id)
        if series is None:
            raise SeriesError("series", f"no series {reference(series_id)}")
        return series

    def list(self, session: Session, *, identified: bool | None = None, limit: int = 200) -> list[Series]:
        """Live series, unidentified and largest first (possible ongoing abuse first)."""
        query = select(Series).where(Series.status.in_((SeriesStatus.PROPOSED.value, SeriesStatus.CONFIRMED.value)))
        if identified is not None:
            query = query.where(Series.identified.is_(identified))
        return list(session.execute(query.order_by(Series.identified, Series.item_count.desc(), Series.id)
                                    .limit(limit)).scalars())

    def members(self, session: Session, series_id: int) -> list[Member]:
        rows = session.execute(
            select(SeriesHash.item_id, SeriesHash.report_id, Organisation.name, Report.created_at, Item.media_type,
                   func.min(SeriesHash.distance), func.min(SeriesHash.linked_by), func.min(SeriesHash.linked_at))
            .join(Item, Item.id == SeriesHash.item_id).join(Report, Report.id == SeriesHash.report_id)
            .outerjoin(Organisation, Organisation.id == Report.organisation_id)
            .where(SeriesHash.series_id == series_id)
            .group_by(SeriesHash.item_id, SeriesHash.report_id, Organisation.name, Report.created_at, Item.media_type)
            .order_by(Report.created_at, SeriesHash.item_id)).all()
        return [Member(*r) for r in rows]

    def hashes(self, session: Session, series_id: int) -> list[tuple[str, str]]:
        """(kind, PDQ) of every hash of the series, each once."""
        return [(k, v) for k, v in session.execute(
            select(SeriesHash.kind, SeriesHash.pdq).where(SeriesHash.series_id == series_id)
            .group_by(SeriesHash.kind, SeriesHash.pdq).order_by(SeriesHash.kind, SeriesHash.pdq)).all()]

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[ItemSeries]:
        """The series of a report's items, with how many other reports the series spans."""
        rows = session.execute(
            select(SeriesHash.item_id, SeriesHash.series_id, Series.identified)
            .join(Series, Series.id == SeriesHash.series_id)
            .where(SeriesHash.report_id == report_id, SeriesHash.series_id.is_not(None)).distinct()).all()
        if not rows:
            return []
        ids = sorted({r[1] for r in rows})
        spans = dict(session.execute(
            select(SeriesHash.series_id, func.count(distinct(SeriesHash.report_id)))
            .where(SeriesHash.series_id.in_(ids), SeriesHash.report_id != report_id)
            .group_by(SeriesHash.series_id)).all())
        return sorted((ItemSeries(r[0], r[1], bool(r[2]), int(spans.get(r[1], 0))) for r in rows),
                      key=lambda s: (s.series_id, str(s.item_id)))

    def links_for_triage(self, session: Session, report_id: uuid.UUID) -> list[SeriesLink]:
        """The report's items that landed in a series already known from other reports."""
        return [SeriesLink(s.series_id, s.identified) for s in self.for_report(session, report_id)
                if s.other_reports > 0]

    def read(self, session: Session, actor: Actor, series_id: int, purpose: str) -> Series:
        """A staff member opens a series: audited (it lists reports and items)."""
        series = self.get(session, series_id)
        self._audit.record(session, AuditEvent.SERIES_READ, actor, "series", reference(series_id), purpose,
                           {"items": series.item_count})
        return series

    # -- analysts --------------------------------------------------------------------------

    def _live(self, session: Session, series_id: int) -> Series:
        series = session.get(Series, series_id, with_for_update=True)
        if series is None:
            raise SeriesError("series", f"no series {reference(series_id)}")
        if series.status == SeriesStatus.MERGED.value:
            raise SeriesError("series", f"series {reference(series_id)} was merged into "
                                        f"{reference(series.merged_into or 0)}; act on that one")
        if series.status == SeriesStatus.EMPTY.value:
            raise SeriesError("series", f"series {reference(series_id)} has no items any more")
        return series

    def confirm(self, session: Session, actor: Actor, series_id: int, reason: str) -> Series:
        text = check_reason(reason, "confirmation")
        self._assignment.lock(session)
        series = self._live(session, series_id)
        now = self._clock()
        series.status, series.confirmed_by, series.confirmed_at, series.updated_at = (
            SeriesStatus.CONFIRMED.value, actor_ref(actor), now, now)
        self._audit.record(session, AuditEvent.SERIES_CONFIRM, actor, "series", reference(series_id), text,
                           {"items": series.item_count})
        return series

    def split(self, session: Session, actor: Actor, series_id: int, item_ids: Iterable[str], reason: str) -> Series:
        """Move ``item_ids`` out of the series into a new, confirmed one (an analyst's decision:
        automatic merges leave both alone). The identification stays with the original."""
        text = check_reason(reason, "split")
        wanted = []
        for raw in item_ids:
            try:
                wanted.append(uuid.UUID(str(raw)))
            except ValueError:
                raise SeriesError("items", f"not an item id: {str(raw)[:80]!r}") from None
        if not wanted:
            raise SeriesError("items", "choose the items to split off")
        self._assignment.lock(session)
        series = self._live(session, series_id)
        members = {r[0] for r in session.execute(select(SeriesHash.item_id)
                                                  .where(SeriesHash.series_id == series_id).distinct()).all()}
        outside = [str(i) for i in wanted if i not in members]
        if outside:
            raise SeriesError("items", f"not in {reference(series_id)}: {', '.join(outside)[:300]}")
        if set(wanted) >= members:
            raise SeriesError("items", "a split leaves at least one item in the series; choose fewer items")
        now = self._clock()
        new = Series(status=SeriesStatus.CONFIRMED.value, item_count=0, identified=False, confirmed_by=actor_ref(actor),
                     confirmed_at=now, created_at=now, updated_at=now)
        session.add(new)
        session.flush()
        session.execute(update(SeriesHash).where(SeriesHash.series_id == series_id, SeriesHash.item_id.in_(wanted))
                        .values(series_id=new.id, linked_by=actor_ref(actor), linked_at=now))
        series.status, series.updated_at = SeriesStatus.CONFIRMED.value, now
        series.confirmed_by, series.confirmed_at = series.confirmed_by or actor_ref(actor), series.confirmed_at or now
        session.flush()
        self._assignment.recount(session, series_id)
        self._assignment.recount(session, new.id)
        self._audit.record(session, AuditEvent.SERIES_SPLIT, actor, "series", reference(series_id), text,
                           {"into": reference(new.id), "items": [str(i) for i in wanted]})
        return new

    def merge(self, session: Session, actor: Actor, target_id: int, source_id: int, reason: str) -> Series:
        text = check_reason(reason, "merge")
        if target_id == source_id:
            raise SeriesError("source", "a series cannot be merged into itself")
        self._assignment.lock(session)
        target, source = self._live(session, target_id), self._live(session, source_id)
        if target.identified and source.identified and target.case_reference != source.case_reference:
            raise SeriesError("source", f"{reference(target_id)} and {reference(source_id)} are identified under "
                                        "different case references; a law-enforcement liaison must settle it first")
        now = self._clock()
        self._assignment.merge_rows(session, source_id, target_id, now)
        target.status, target.confirmed_by, target.confirmed_at = (SeriesStatus.CONFIRMED.value,
                                                                   actor_ref(actor), now)
        session.flush()
        self._assignment.recount(session, target_id)
        self._audit.record(session, AuditEvent.SERIES_MERGE, actor, "series", reference(source_id), text,
                           {"into": reference(target_id), "automatic": False})
        return target

    def identify(self, session: Session, actor: Actor, series_id: int, case_reference: str, reason: str) -> Series:
        """A law-enforcement partner says the series depicts an identified victim: only the
        case reference is kept, never who the victim is."""
        ref = check_case_reference(case_reference)
        text = check_reason(reason, "identification")
        self._assignment.lock(session)
        series = self._live(session, series_id)
        now = self._clock()
        series.identified, series.case_reference = True, ref
        series.identified_by, series.identified_at, series.updated_at = actor_ref(actor), now, now
        self._audit.record(session, AuditEvent.SERIES_IDENTIFY, actor, "series", reference(series_id), text,
                           {"case_reference": ref})
        return series

    # -- partners --------------------------------------------------------------------------

    def export_access(self, session: Session, organisation_id: uuid.UUID) -> Access:
        return self._grants.check(session, organisation_id, GrantOperation.DOWNLOAD, (GrantDatabase.SERIES,))

    def export(self, session: Session, actor: Actor, series_id: int, access: Access) -> dict[str, Any]:
        """The hashes of a series for a partner holding a live grant to download them. Only
        hashes and the series' reference and state: no report, item, provider or case reference."""
        if not access.allowed:
            raise SeriesError("grant", f"no live access grant allows {access.missing}")
        series = self._live(session, series_id)
        hashes = self.hashes(session, series_id)
        self._grants.used(session, access)
        self._audit.record(session, AuditEvent.SERIES_EXPORT, actor, "series", reference(series_id),
                           access.audit_purpose() or "series export", {**access.audit_details(), "hashes": len(hashes)})
        return {"series": reference(series_id), "status": series.status, "identified": bool(series.identified),
                "items": series.item_count, "exported_at": self._clock().isoformat(),
                "hashes": [{"type": kind, "value": value} for kind, value in hashes]}


def series_of_items(session: Session, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(item_ids)
    if not ids:
        return {}
    return {r[0]: r[1] for r in session.execute(
        select(SeriesHash.item_id, SeriesHash.series_id)
        .where(and_(SeriesHash.item_id.in_(ids), SeriesHash.series_id.is_not(None)))).all()}
