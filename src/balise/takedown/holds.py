"""Law-enforcement holds (CSAR Art. 48(6)): police may ask that the provider not inform the
user and/or that the material not be removed, for at most 18 months.

While a do-not-remove hold applies, no host notice or hotline referral goes out and removal
verification pauses; when it is lifted or expires, routing resumes where it stopped. A
do-not-inform hold is passed on to providers as an instruction, without the authority's
details.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Hold, Report
from balise.domain.audit import AuditEvent
from balise.domain.clocks import add_months
from balise.governance.audit import AuditTrail


class HoldError(ValueError):
    pass


def eighteen_months_after(moment: datetime) -> datetime:
    return add_months(moment, 18)  # 31 August + 18 months is the end of February


@dataclass(frozen=True)
class ActiveHolds:
    do_not_inform_until: datetime | None
    do_not_remove_until: datetime | None

    @property
    def any(self) -> bool:
        return bool(self.do_not_inform_until or self.do_not_remove_until)


class Holds:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime],
                 on_change: Callable[[Session, uuid.UUID], None] | None = None) -> None:
        self._audit = audit
        self._clock = clock
        # Called in the same transaction when a hold ends, so routing can resume.
        self._on_change = on_change

    def set(self, session: Session, actor: Actor, report_id: uuid.UUID, *, do_not_inform: bool, do_not_remove: bool,
            authority: str, expires_at: datetime, reference: str | None = None, reason: str | None = None) -> Hold:
        now = self._clock()
        report = session.get(Report, report_id)
        if report is None:
            raise HoldError(f"no such report: {report_id}")
        if report.redacted_at is not None:
            raise HoldError(f"report {report_id} was redacted by retention on {report.redacted_at:%Y-%m-%d}: "
                            "there is nothing left to hold")
        if not (do_not_inform or do_not_remove):
            raise HoldError("a hold must ask for do-not-inform, do-not-remove or both")
        authority = (authority or "").strip()
        if not authority or len(authority) > 200:
            raise HoldError("name the requesting authority (1 to 200 characters)")
        if expires_at.tzinfo is None:
            raise HoldError("the expiry needs a time zone")
        if expires_at <= now:
            raise HoldError("the expiry must be in the future")
        if expires_at > eighteen_months_after(now):
            raise HoldError("a hold lasts at most 18 months (CSAR Art. 48(6))")
        hold = Hold(report_id=report_id, do_not_inform=do_not_inform, do_not_remove=do_not_remove,
                    authority=authority, reference=(reference or "").strip()[:200] or None,
                    reason=(reason or "").strip() or None, set_by=f"{actor.type.value}:{actor.id}", set_at=now,
                    expires_at=expires_at)
        session.add(hold)
        session.flush()
        self._audit.record(session, AuditEvent.HOLD_SET, actor, "hold", str(hold.id), "law-enforcement hold",
                           {"report_id": str(report_id), "do_not_inform": do_not_inform,
                            "do_not_remove": do_not_remove, "expires_at": expires_at.isoformat()})
        return hold

    def lift(self, session: Session, actor: Actor, hold_id: int, reason: str = "") -> Hold:
        hold = session.get(Hold, hold_id, with_for_update=True)
        if hold is None:
            raise HoldError(f"no hold {hold_id}")
        if hold.lifted_at is not None or hold.expires_at <= self._clock():
            raise HoldError("this hold no longer applies")
        hold.lifted_at, hold.lifted_by = self._clock(), f"{actor.type.value}:{actor.id}"
        self._audit.record(session, AuditEvent.HOLD_LIFT, actor, "hold", str(hold.id), reason or "hold lifted",
                           {"report_id": str(hold.report_id)})
        if self._on_change:
            self._on_change(session, hold.report_id)
        return hold

    def active(self, session: Session, report_id: uuid.UUID) -> ActiveHolds:
        now = self._clock()
        holds = session.execute(select(Hold).where(Hold.report_id == report_id, Hold.lifted_at.is_(None),
                                                   Hold.expires_at > now)).scalars().all()
        inform = max((h.expires_at for h in holds if h.do_not_inform), default=None)
        remove = max((h.expires_at for h in holds if h.do_not_remove), default=None)
        return ActiveHolds(inform, remove)

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[Hold]:
        return list(session.execute(select(Hold).where(Hold.report_id == report_id).order_by(Hold.id)).scalars())

    def expire(self, session: Session, actor: Actor) -> int:
        """Record every hold that reached its expiry (once) and let routing resume."""
        now = self._clock()
        due = session.execute(select(Hold).where(Hold.lifted_at.is_(None), Hold.expires_at <= now)
                              .with_for_update(skip_locked=True)).scalars().all()
        for hold in due:
            # An expired hold is closed like a lifted one, by the system, so it is handled once.
            hold.lifted_at, hold.lifted_by = hold.expires_at, "system:expiry"
            self._audit.record(session, AuditEvent.HOLD_EXPIRE, actor, "hold", str(hold.id), "hold expired",
                               {"report_id": str(hold.report_id)})
            if self._on_change:
                self._on_change(session, hold.report_id)
        return len(due)
