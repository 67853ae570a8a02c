"""The clocks of orders, computed from the registry (docs/clocks.md, docs/orders.md):

* ``order_removal``: 24 h from the provider's receipt of a removal order, paused while a
  clarification is requested or the order is impossible to execute;
* ``order_opinion``: 4 weeks from a draft detection order's submission to the centre's opinion;
* ``order_period``: the end of a detection order's period, when its grant ends by itself.

Then what acts when the removal clock runs out: each URL is fetched again through the removal
verification (``Takedowns.verify_url``), in a job outside any transaction; URLs still served
are escalated to the issuing authority through the partner directory's notice channel, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.adapters.db.models import Order, OrderEvent, OrderReport
from balise.domain.audit import AuditEvent
from balise.domain.clocks import Clock, ClockKind, clock
from balise.domain.orders import REMOVAL_HOURS, OrderKind, OrderState, StateChange, opinion_deadline, removal_deadline
from balise.domain.partners import PartnerKind
from balise.governance.audit import AuditTrail
from balise.jobs.queue import JobQueue
from balise.orders.registry import SYSTEM

RECHECK_JOB = "order.recheck"
REMOVED = ("gone", "changed", "media_gone")


class UrlVerifier(Protocol):
    def verify_url(self, url: str, item_id: uuid.UUID | None = None) -> tuple[str, str | None]: ...


class OrderClocks:
    def __init__(self, audit: AuditTrail, clock_now: Callable[[], datetime], *, jobs: JobQueue,
                 new_session: Callable[[], Session], verifier: Callable[[], UrlVerifier],
                 partners: Any, notices: Callable[[], Any]) -> None:
        self._audit = audit
        self._now = clock_now
        self._jobs = jobs
        self._new_session = new_session
        self._verifier = verifier
        self._partners = partners
        self._notices = notices

    # -- the clocks -----------------------------------------------------------------------

    def _first_report(self, session: Session, order_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not order_ids:
            return {}
        out: dict[uuid.UUID, str] = {}
        for oid, rid in session.execute(select(OrderReport.order_id, OrderReport.report_id)
                                        .where(OrderReport.order_id.in_(order_ids))
                                        .order_by(OrderReport.report_id)):
            out.setdefault(oid, str(rid))
        return out

    def removal(self, session: Session) -> list[Clock]:
        now = self._now()
        rows = session.execute(select(Order.id, Order.received_at, Order.reference, Order.escalated_at).where(
            Order.kind == OrderKind.REMOVAL.value, Order.state == OrderState.RECEIVED.value,
            Order.received_at.is_not(None))).all()
        if not rows:
            return []
        ids = [r[0] for r in rows]
        changes: dict[uuid.UUID, list[StateChange]] = {}
        for oid, to_state, at in session.execute(select(OrderEvent.order_id, OrderEvent.to_state, OrderEvent.at)
                                                 .where(OrderEvent.order_id.in_(ids))):
            changes.setdefault(oid, []).append(StateChange(to_state, at))
        reports = self._first_report(session, ids)
        out = []
        for oid, received, reference, escalated in rows:
            deadline = removal_deadline(received, changes.get(oid, []), now)
            if deadline is None:
                continue
            detail = reference + (f"; escalated {escalated.isoformat()}" if escalated else "")
            out.append(clock(ClockKind.ORDER_REMOVAL, str(oid), received, deadline, warn_before=timedelta(hours=6),
                             report_id=reports.get(oid), detail=detail))
        return out

    def opinion(self, session: Session) -> list[Clock]:
        rows = session.execute(select(Order.id, Order.opinion_requested_at, Order.reference).where(
            Order.kind == OrderKind.DETECTION.value, Order.state == OrderState.DRAFT.value,
            Order.opinion_requested_at.is_not(None), Order.opinion_given_at.is_(None))).all()
        reports = self._first_report(session, [r[0] for r in rows])
        return [clock(ClockKind.ORDER_OPINION, str(oid), at, opinion_deadline(at), warn_before=timedelta(days=7),
                      report_id=reports.get(oid), detail=reference) for oid, at, reference in rows]

    def period(self, session: Session) -> list[Clock]:
        now = self._now()
        rows = session.execute(select(Order.id, Order.period_start, Order.period_end, Order.reference).where(
            Order.kind == OrderKind.DETECTION.value,
            Order.state.not_in((OrderState.DRAFT.value, OrderState.REVOKED.value, OrderState.FINAL.value)),
            Order.period_end > now, Order.period_start.is_not(None))).all()
        reports = self._first_report(session, [r[0] for r in rows])
        return [clock(ClockKind.ORDER_PERIOD, str(oid), start, end, warn_before=timedelta(days=30),
                      report_id=reports.get(oid), detail=reference) for oid, start, end, reference in rows]

    def sources(self) -> dict[ClockKind, Callable[[Session], list[Clock]]]:
        return {ClockKind.ORDER_REMOVAL: self.removal, ClockKind.ORDER_OPINION: self.opinion,
                ClockKind.ORDER_PERIOD: self.period}

    # -- acting when the removal clock runs out --------------------------------------------

    def check(self, session: Session) -> int:
        """Queue a re-check of every removal order whose clock ran out and that has not been
        escalated (one pending job per order)."""
        now = self._now()
        queued = 0
        for c in self.removal(session):
            if now < c.deadline:
                continue
            order = session.get(Order, uuid.UUID(c.subject_id))
            if order is None or order.escalated_at is not None:
                continue
            self._jobs.enqueue(session, RECHECK_JOB, {"order_id": c.subject_id},
                               dedupe_key=f"order-recheck:{c.subject_id}")
            queued += 1
        return queued

    def handle_recheck(self, payload: dict[str, Any]) -> None:
        order_id = uuid.UUID(payload["order_id"])
        with self._new_session() as session:
            order = session.get(Order, order_id)
            if order is None or order.state != OrderState.RECEIVED.value or order.escalated_at is not None:
                return
            urls = [(u.id, u.url, u.item_id) for u in order.urls]
        verifier = self._verifier()
        outcomes = {uid: verifier.verify_url(url, item) for uid, url, item in urls}  # outside any transaction
        with self._new_session() as session, session.begin():
            order = session.get(Order, order_id, with_for_update=True)
            if order is None or order.state != OrderState.RECEIVED.value or order.escalated_at is not None:
                return
            now = self._now()
            served = []
            for u in order.urls:
                outcome, _detail = outcomes.get(u.id, ("error", None))
                u.last_checked_at, u.last_outcome = now, outcome
                if outcome not in REMOVED:
                    served.append(u.url)
            self._audit.record(session, AuditEvent.ORDER_RECHECK, SYSTEM, "order", str(order.id),
                               f"{REMOVAL_HOURS} h removal clock ran out: verify removal",
                               {"outcomes": {u.url[:200]: u.last_outcome for u in order.urls}})
            order.escalated_at = now
            if served:
                self._escalate(session, order, served, now)

    def _escalate(self, session: Session, order: Order, served: list[str], now: datetime) -> None:
        authorities = self._partners.find(session, PartnerKind.COORDINATING_AUTHORITY, order.authority_member_state)
        report = session.execute(select(OrderReport.report_id).where(OrderReport.order_id == order.id)
                                 .order_by(OrderReport.report_id)).scalars().first()
        reference = None
        if authorities:
            # Sent even when no report of Balise concerns the order's URLs: the notice is the order's.
            partner = authorities[0]
            notice = self._notices().create(
                session, report_id=report, order_id=order.id, kind="order_escalation",
                dedupe=f"order:{order.id}:escalation",
                partner=partner, language=partner.languages[0] if partner.languages else "en",
                context={"recipient_name": partner.name, "urls": served, "order_reference": order.reference,
                         "received_at": order.received_at, "hours": REMOVAL_HOURS})
            reference = notice.reference if notice else None
        self._audit.record(session, AuditEvent.ORDER_ESCALATE, SYSTEM, "order", str(order.id),
                           "removal order not executed within 24 h: tell the issuing authority",
                           {"notice": reference, "still_served": len(served),
                            "authority_configured": bool(authorities), "report": str(report) if report else None})
