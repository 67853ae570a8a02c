"""Victims' requests (CSAR Art. 20, 21), filed by a coordinating authority on a victim's behalf.

The request carries the hashes of the victim's material, never an identity. Balise answers at
once with the reports that contained matching items: exact hashes (MD5, SHA-1, SHA-256) and
PDQ within the series threshold, widened to the series those items belong to. For each report:
the provider, the date, whether and where it was forwarded, whether the material was removed.
Removal support re-checks every known URL of those reports (the existing removal
verification), sends the hosts a notice for voluntary consideration (Art. 49, existing notice
channels) and can mark that a removal order was asked for (the order itself is built elsewhere).
The answer goes back to the authority only; every step is audited (``victim_request:*``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Item,
    Notice,
    Organisation,
    Partner,
    Report,
    SeriesHash,
    Takedown,
    UrlHosting,
    VictimRequest,
)
from balise.domain.audit import AuditEvent
from balise.domain.model import OrgKind
from balise.domain.series import SERIES_PDQ_THRESHOLD
from balise.domain.victims import InvalidVictimRequest, check_hashes, check_reference, request_reference
from balise.governance.audit import AuditTrail
from balise.victims.assignment import SeriesAssignment

FORWARD_KINDS = ("police_forward", "hotline_referral")
DELIVERED = ("sent", "acknowledged")


class NotAnAuthority(PermissionError):
    """The caller's organisation is not a coordinating authority."""


class VictimRequests:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], assignment: SeriesAssignment, *,
                 notices: Any, takedowns_check: Callable[[Session, Takedown, str], bool],
                 holds: Any) -> None:
        self._audit = audit
        self._clock = clock
        self._assignment = assignment
        self._notices = notices
        self._recheck = takedowns_check
        self._holds = holds

    # -- filing and answering -----------------------------------------------------------------

    def refuse(self, session: Session, actor: Actor, organisation_id: uuid.UUID, why: str) -> None:
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_REFUSE, actor, "organisation", str(organisation_id),
                           f"refused: {why}", {})

    def file(self, session: Session, actor: Actor, organisation_id: uuid.UUID, body: dict[str, Any]) -> VictimRequest:
        """Check, store and answer a request in one transaction. NotAnAuthority or
        InvalidVictimRequest (naming the field) change nothing but the refusal's audit event,
        which the caller records in its own transaction."""
        org = session.get(Organisation, organisation_id)
        if org is None or org.kind != OrgKind.COORDINATING_AUTHORITY.value:
            raise NotAnAuthority("only a coordinating authority files victims' requests (CSAR Art. 20, 21)")
        if not isinstance(body, dict):
            raise InvalidVictimRequest("body", "the request is a JSON object")
        unknown = sorted(set(body) - {"hashes", "removal_support", "authority_reference"})
        if unknown:
            raise InvalidVictimRequest(unknown[0], "unknown field")
        hashes = check_hashes(body.get("hashes"))
        removal = body.get("removal_support", False)
        if not isinstance(removal, bool):
            raise InvalidVictimRequest("removal_support", "true or false")
        ref = check_reference(body.get("authority_reference"), "authority_reference")
        now = self._clock()
        request = VictimRequest(organisation_id=org.id, authority_reference=ref, hashes=hashes,
                                removal_support=removal, filed_at=now)
        session.add(request)
        session.flush()
        reference = request_reference(request.id)
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_FILE, actor, "victim_request", reference,
                           "victim's request filed by a coordinating authority (CSAR Art. 20, 21)",
                           {"hashes": len(hashes), "removal_support": removal, "authority_reference": ref})
        self.answer(session, actor, request)
        if removal:
            self.support_removal(session, actor, request)
        return request

    def _matching_items(self, session: Session, hashes: list[dict[str, str]]) -> dict[uuid.UUID, str]:
        """Item id -> how it matched (``hash`` exact, ``pdq`` near, ``series`` same series)."""
        found: dict[uuid.UUID, str] = {}
        exact = {"md5": Item.md5, "sha1": Item.sha1, "sha256": Item.sha256}
        conditions = [exact[h["type"]] == h["value"] for h in hashes if h["type"] in exact]
        if conditions:
            for (item_id,) in session.execute(select(Item.id).where(or_(*conditions))).all():
                found[item_id] = "hash"
        pdqs = [h["value"] for h in hashes if h["type"] == "pdq"]
        if pdqs:
            index = self._assignment.index
            index.catch_up(session)
            if len(index):
                _, ids, _ = index.query(pdqs, SERIES_PDQ_THRESHOLD)
                if ids.size:
                    for (item_id,) in session.execute(select(SeriesHash.item_id).where(
                            SeriesHash.id.in_(sorted({int(i) for i in ids.tolist()})))).all():
                        found.setdefault(item_id, "pdq")
        if found:
            series = {r[0] for r in session.execute(select(SeriesHash.series_id).where(
                SeriesHash.item_id.in_(list(found)), SeriesHash.series_id.is_not(None))).all()}
            if series:
                for (item_id,) in session.execute(select(SeriesHash.item_id).where(
                        SeriesHash.series_id.in_(sorted(series))).distinct()).all():
                    found.setdefault(item_id, "series")
        return found

    def answer(self, session: Session, actor: Actor, request: VictimRequest) -> list[dict[str, Any]]:
        found = self._matching_items(session, request.hashes)
        by_report: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
        for item_id, report_id in session.execute(select(Item.id, Item.report_id).where(Item.id.in_(list(found)))).all() \
                if found else []:
            by_report.setdefault(report_id, []).append((item_id, found[item_id]))
        answer = []
        for report_id, items in by_report.items():
            report = session.get(Report, report_id)
            if report is None:
                continue
            org = session.get(Organisation, report.organisation_id) if report.organisation_id else None
            notices = session.execute(select(Notice.kind, Notice.status, Notice.sent_at, Partner.name, Partner.country)
                                      .outerjoin(Partner, Partner.id == Notice.partner_id)
                                      .where(Notice.report_id == report_id, Notice.kind.in_(FORWARD_KINDS))).all()
            forwarded = [n for n in notices if n[1] in DELIVERED]
            takedowns = session.execute(select(Takedown.status, Takedown.removed_at)
                                        .where(Takedown.report_id == report_id)).all()
            removed_urls = sum(1 for t in takedowns if t[0] == "removed")
            answer.append({
                "report": str(report_id),
                "provider": org.name if org else ("public report" if report.source == "public_form" else None),
                "received_at": report.created_at.isoformat(),
                "items": len(items),
                "matched_by": sorted({how for _, how in items}),
                "forwarded": bool(forwarded),
                "forwarded_to": sorted({f"{n[3]} ({n[4]})" if n[4] else str(n[3]) for n in forwarded if n[3]}),
                "removed_by_provider": report.content_removed,
                "urls": len(takedowns),
                "urls_removed": removed_urls,
                "removed": bool(report.content_removed) and removed_urls == len(takedowns),
            })
        answer.sort(key=lambda a: a["received_at"])
        request.answer, request.answered_at = answer, self._clock()
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_ANSWER, actor, "victim_request",
                           request_reference(request.id), "answer to the coordinating authority (CSAR Art. 20)",
                           {"reports": len(answer), "items": sum(a["items"] for a in answer)})
        return answer

    # -- removal support (Art. 21, 49) ----------------------------------------------------------

    def support_removal(self, session: Session, actor: Actor, request: VictimRequest) -> dict[str, Any]:
        """Re-check every known URL of the answered reports and send their hosts a notice for
        voluntary consideration (once per request and URL). Reports under a do-not-remove hold
        are left alone and counted."""
        if request.answer is None:
            self.answer(session, actor, request)
        reference = request_reference(request.id)
        summary = {"rechecks": 0, "notices": 0, "held": 0, "already_removed": 0, "no_contact": 0}
        for entry in request.answer or []:
            report_id = uuid.UUID(entry["report"])
            if self._holds.active(session, report_id).do_not_remove_until is not None:
                summary["held"] += 1
                continue
            for takedown in session.execute(select(Takedown).where(Takedown.report_id == report_id)).scalars():
                if takedown.status == "removed":
                    summary["already_removed"] += 1
                    continue
                if self._recheck(session, takedown, f"victim:{request.id}:{takedown.item_id}"):
                    summary["rechecks"] += 1
                hosting = session.get(UrlHosting, takedown.item_id)
                if hosting is None or not hosting.abuse_email:
                    summary["no_contact"] += 1
                    continue
                notice = self._notices.create(
                    session, report_id=report_id, item_id=takedown.item_id, kind="host_notice",
                    dedupe=f"victim:{request.id}:host_notice:{takedown.item_id}", recipient=hosting.abuse_email,
                    channel="email", language="en", actor=actor,
                    context={"recipient_name": hosting.abuse_name or hosting.organisation, "urls": [takedown.url],
                             "assessed_at": takedown.assessed_at or takedown.received_at, "legal_basis": ["csar"],
                             "hashes": [takedown.original_sha256] if takedown.original_sha256 else None,
                             "do_not_inform_user": False})
                if notice is not None:
                    summary["notices"] += 1
        now = self._clock()
        request.removal_support = True
        request.removal_started_at = request.removal_started_at or now
        request.removal = {**summary, "at": now.isoformat()}
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_REMOVAL, actor, "victim_request", reference,
                           "removal support for a victim (CSAR Art. 21, 49)", summary)
        return summary

    def request_order(self, session: Session, actor: Actor, request: VictimRequest, order_reference: str | None) -> None:
        """Mark that a removal order was asked of the competent authority (the order is built
        by the orders capability; only the flag and its reference are kept here)."""
        ref = check_reference(order_reference, "order_reference")
        now = self._clock()
        request.order_requested_at = request.order_requested_at or now
        request.order_reference = ref or request.order_reference
        request.order_requested_by = f"{actor.type.value}:{actor.id}:{actor.label}"[:300]
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_ORDER, actor, "victim_request",
                           request_reference(request.id), "removal order requested for a victim's material",
                           {"order_reference": ref})

    def get(self, session: Session, request_id: int, organisation_id: uuid.UUID | None = None) -> VictimRequest:
        request = session.get(VictimRequest, request_id)
        if request is None or (organisation_id is not None and request.organisation_id != organisation_id):
            raise LookupError(f"no victim request {request_reference(request_id)}")
        return request

    def read(self, session: Session, actor: Actor, request: VictimRequest, purpose: str) -> None:
        self._audit.record(session, AuditEvent.VICTIM_REQUEST_READ, actor, "victim_request",
                           request_reference(request.id), purpose, {})

    def list(self, session: Session, limit: int = 200) -> list[VictimRequest]:
        return list(session.execute(select(VictimRequest).order_by(VictimRequest.id.desc()).limit(limit)).scalars())


def request_out(request: VictimRequest, now: datetime) -> dict[str, Any]:
    """What the authority receives: the answer and its clocks (never anything about the victim)."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    answered = request.answered_at
    return {
        "reference": request_reference(request.id), "authority_reference": request.authority_reference,
        "hashes": len(request.hashes), "removal_support": request.removal_support,
        "reports": request.answer or [],
        "removal": request.removal, "removal_order_requested": request.order_requested_at is not None,
        "order_reference": request.order_reference,
        "clocks": {"filed_at": iso(request.filed_at), "answered_at": iso(answered),
                   "answered_within_seconds": round((answered - request.filed_at).total_seconds(), 3) if answered else None,
                   "removal_started_at": iso(request.removal_started_at),
                   "order_requested_at": iso(request.order_requested_at)},
    }
