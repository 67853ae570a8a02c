"""Automatic triage of every new report: completeness, duplicates, re-use of earlier
assessments, priority. It suggests; it never forwards or dismisses."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator, Item, Report, ReportEvent
from balise.detection.adapters.pdq_index import hamming, hex_to_words
from balise.detection.media_hashing import has_pending
from balise.domain.audit import AuditEvent
from balise.domain.indicators import PDQ_MATCH_THRESHOLD, IndicatorStatus
from balise.domain.series import SeriesLink
from balise.domain.states import ReportState, check_transition
from balise.domain.triage import missing_fields, priority
from balise.governance.audit import AuditTrail

log = logging.getLogger("balise.triage")

TRIAGE_JOB = "report.triage"
SYSTEM = Actor.system("triage")
REUSE_KINDS = frozenset({"known_csam", "new_csam"})


def transition(session: Session, audit: AuditTrail, report: Report, target: ReportState, actor: Actor,
               reason: str, now: datetime) -> None:
    """Move a report to another state: checked, timestamped, attributed, audited."""
    current = ReportState(report.state)
    if current == target:
        return
    check_transition(current, target)
    report.state = target.value
    report.updated_at = now
    report.revision = (report.revision or 0) + 1
    report.events.append(ReportEvent(from_state=current.value, to_state=target.value, occurred_at=now,
                                     actor_type=actor.type.value, actor_id=actor.id, reason=reason))
    audit.record(session, AuditEvent.REPORT_TRANSITION, actor, "report", str(report.id), reason,
                 {"from": current.value, "to": target.value})


def report_facts(report: Report) -> dict[str, Any]:
    return {
        "source": report.source,
        "signature": report.provider_signature,
        "provider": {"contact_point": (report.provider_contact or {}).get("contact_point")},
        "user_decision": report.user_decision,
        "reported_elsewhere": report.reported_elsewhere,
        "awareness": report.awareness_source,
        "content_removed": report.content_removed,
        "type": report.report_type,
    }


class Triage:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, clock: Callable[[], datetime],
                 pdq_threshold: int = PDQ_MATCH_THRESHOLD,
                 series_links: Callable[[Session, uuid.UUID], list[SeriesLink]] | None = None) -> None:
        self._new_session = new_session
        # The report's items in series known from other reports (balise/victims), for the score.
        self._series_links = series_links
        self._audit = audit
        self._clock = clock
        self._threshold = pdq_threshold

    @staticmethod
    def _generative_items(session: Session, report_id: Any) -> int:
        from balise.adapters.db.models import ItemLead

        return len(session.execute(select(ItemLead.item_id).where(
            ItemLead.report_id == report_id, ItemLead.generative.is_(True))).all())

    def handle(self, payload: dict[str, Any]) -> None:
        """The job handler. Idempotent: running it twice on a report gives the same result."""
        self.triage(uuid.UUID(payload["report_id"]))

    def triage(self, report_id: uuid.UUID) -> Report | None:
        now = self._clock()
        with self._new_session() as session, session.begin():
            report = session.get(Report, report_id, with_for_update=True)
            if report is None or report.state not in (
                ReportState.RECEIVED.value, ReportState.INCOMPLETE.value, ReportState.INFORMATION_REQUESTED.value
            ):
                return report  # already triaged, decided or retracted
            if has_pending(report):
                # Not on missing data: the media.hash job that records the last perceptual hash
                # of this report queues its triage again, in the same transaction.
                log.info("triage of report %s deferred: media still being hashed", report_id)
                return report
            for item in report.items:
                self._link_duplicate(session, item)
                self.reuse_assessment(session, item, now)
            unmatched = sum(1 for i in report.items if i.kind == "media" and not i.matched and i.outcome is None)
            score, reasons = priority(urgent=report.urgent, imminent_threat=report.imminent_threat,
                                      unmatched_media=unmatched, victims=report.victims,
                                      received_at=report.created_at, now=now,
                                      series_links=self._series_links(session, report.id) if self._series_links else None)
            report.priority = score
            generative = self._generative_items(session, report.id)
            # Routed, never dismissed: AI-generated material remains abuse material
            # (docs/intelligence.md#leads-from-the-files). No points either way.
            report.priority_reasons = [r.as_dict() for r in reasons] + (
                [{"code": "generative", "points": 0, "detail": f"{generative} item(s) declare generative AI"}]
                if generative else [])
            report.triaged_at = now
            missing = missing_fields(report_facts(report))
            report.missing_fields = missing or None
            if missing:
                if report.state == ReportState.RECEIVED.value:
                    transition(session, self._audit, report, ReportState.INCOMPLETE, SYSTEM,
                               "missing Annex III information: " + ", ".join(missing), now)
                if report.state == ReportState.INCOMPLETE.value:
                    report.information_request = "Please complete: " + ", ".join(missing)
                    transition(session, self._audit, report, ReportState.INFORMATION_REQUESTED, SYSTEM,
                               "information requested from the provider", now)
            else:
                transition(session, self._audit, report, ReportState.IN_ASSESSMENT, SYSTEM,
                           "complete; queued for assessment", now)
            return report

    def _link_duplicate(self, session: Session, item: Item) -> None:
        if item.duplicate_of is not None:
            return
        earlier: Item | None = None
        distance = 0
        if item.sha256:
            earlier = session.execute(
                select(Item).where(Item.sha256 == item.sha256, Item.id != item.id, Item.duplicate_of.is_(None),
                                   Item.created_at <= item.created_at)
                .order_by(Item.created_at, Item.id).limit(1)
            ).scalar_one_or_none()
        pdq = (item.hashes or {}).get("pdq")
        if earlier is None and pdq and (item.hashes or {}).get("pdq_quality", 100) >= 50:
            earlier, distance = self._near_duplicate(session, item, pdq)
        if earlier is not None:
            item.duplicate_of = earlier.id
            item.duplicate_distance = distance
            earlier.times_reported = (earlier.times_reported or 1) + 1

    def _near_duplicate(self, session: Session, item: Item, pdq: str) -> tuple[Item | None, int]:
        # Earlier canonical items with a PDQ. A linear scan in numpy: fine for the item counts of
        # a hotline; the centre-scale path is the PDQ index of the detection engine.
        rows = session.execute(
            select(Item.id, Item.hashes).where(Item.id != item.id, Item.duplicate_of.is_(None),
                                              Item.created_at <= item.created_at, Item.media_type == "image")
        ).all()
        candidates = [(rid, h["pdq"]) for rid, h in rows if h and h.get("pdq")]
        if not candidates:
            return None, 0
        distances = hamming(hex_to_words([c[1] for c in candidates]), hex_to_words([pdq]))
        best = int(np.argmin(distances))
        if int(distances[best]) > self._threshold:
            return None, 0
        return session.get(Item, candidates[best][0]), int(distances[best])

    def reuse_assessment(self, session: Session, item: Item, now: datetime) -> None:
        """An item matching a confirmed indicator inherits its classification and is never put
        in front of a human again."""
        if item.outcome is not None or not item.matches:
            return
        ids = [m["indicator_id"] for m in item.matches]
        indicators = session.execute(
            select(Indicator).where(Indicator.id.in_(ids), Indicator.status == IndicatorStatus.ACTIVE.value,
                                    Indicator.kind.in_(sorted(REUSE_KINDS)))
        ).scalars().all()
        if not indicators:
            return
        by_id = {i.id: i for i in indicators}
        best = min((m for m in item.matches if m["indicator_id"] in by_id), key=lambda m: m.get("distance", 0))
        source = by_id[best["indicator_id"]]
        item.outcome = "illegal"
        item.classification = source.classification or {}
        item.assessment_source = f"reuse:indicator:{source.id}"
        item.assessed_by = "system:triage"
        item.assessed_at = now
        item.revision = (item.revision or 0) + 1


def supply_information(session: Session, audit: AuditTrail, report: Report, data: dict[str, Any], actor: Actor,
                       now: datetime) -> None:
    """Apply what the provider added and send the report back through triage."""
    if "signature" in data:
        report.provider_signature = data["signature"]
    if "provider" in data:
        report.provider_contact = {**(report.provider_contact or {}), **data["provider"]}
    if "user_decision" in data:
        report.user_decision = data["user_decision"]
    if "reported_elsewhere" in data:
        elsewhere = data["reported_elsewhere"]
        report.reported_elsewhere = elsewhere["reported"]
        report.reported_elsewhere_body = elsewhere.get("body")
        report.reported_elsewhere_reference = elsewhere.get("reference")
    if "victims" in data:
        report.victims = data["victims"]
    if "awareness" in data:
        report.awareness_source = data["awareness"]["source"]
        report.awareness_detail = data["awareness"].get("detail")
    if "content_removed" in data:
        report.content_removed = data["content_removed"]
    if "type" in data:
        report.report_type = data["type"]
    if "additional_info" in data:
        report.additional_info = ((report.additional_info or "") + "\n" + data["additional_info"]).strip()
    if report.state == ReportState.INFORMATION_REQUESTED.value:
        transition(session, audit, report, ReportState.INCOMPLETE, actor,
                   "provider supplied information: " + ", ".join(sorted(data)), now)
