"""The clocks running on Balise's records, and the periodic check that records each clock that
ran out (or is about to end by itself) once, in the audit trail and in ``clock_alerts``, so that
supervisors see it on the clocks page and auditors can show when it happened."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import ClockAlert, Hold, Indicator, IspwsReport, Report, ReportEvent, Takedown
from balise.domain.audit import AuditEvent
from balise.domain.clocks import Clock, ClockKind, ClockState, add_months, clock
from balise.domain.indicators import IndicatorStatus
from balise.domain.ispws import IspwsState, deletion_deadline
from balise.domain.states import ReportState
from balise.domain.triage import sla_deadline
from balise.governance.audit import AuditTrail

WAITING_FOR_ASSESSMENT = (ReportState.RECEIVED.value, ReportState.INCOMPLETE.value, ReportState.IN_ASSESSMENT.value)
SYSTEM = Actor.system("clocks")


@dataclass(frozen=True)
class ClockSettings:
    information_request: timedelta
    removal_sla: timedelta
    hold_warning: timedelta
    ncmec_warning: timedelta = timedelta(hours=1)


class Clocks:
    def __init__(self, audit: AuditTrail, clock_now: Callable[[], datetime], settings: ClockSettings,
                 sources: dict[ClockKind, Callable[[Session], list[Clock]]] | None = None) -> None:
        self._audit = audit
        self._now = clock_now
        self._settings = settings
        # Clocks other capabilities compute (orders: balise/orders/clocks.py).
        self._sources = dict(sources or {})

    def running(self, session: Session, kinds: Iterable[ClockKind] | None = None) -> list[Clock]:
        """Every clock that runs now, soonest deadline first."""
        wanted = set(kinds) if kinds else set(ClockKind)
        clocks: list[Clock] = []
        gather = {
            ClockKind.ASSESSMENT: self._assessment,
            ClockKind.INFORMATION_REQUEST: self._information_request,
            ClockKind.INDICATOR_CONFIRMATION: self._indicator_confirmation,
            ClockKind.AUTHORITY_CONFIRMATION: self._authority_confirmation,
            ClockKind.REMOVAL: self._removal,
            ClockKind.HOLD_EXPIRY: self._hold_expiry,
            ClockKind.UNFINISHED_NCMEC: self._unfinished_ncmec,
            **self._sources,
        }
        for kind, source in gather.items():
            if kind in wanted:
                clocks.extend(source(session))
        return sorted(clocks, key=lambda c: (c.deadline, c.kind.value, c.subject_id))

    def _assessment(self, session: Session) -> list[Clock]:
        rows = session.execute(select(Report.id, Report.created_at, Report.urgent)
                               .where(Report.state.in_(WAITING_FOR_ASSESSMENT))).all()
        return [clock(ClockKind.ASSESSMENT, str(rid), created, sla_deadline(created, urgent), report_id=str(rid),
                      detail="urgent" if urgent else "") for rid, created, urgent in rows]

    def _information_request(self, session: Session) -> list[Clock]:
        asked = (select(ReportEvent.report_id, func.max(ReportEvent.occurred_at).label("at"))
                 .where(ReportEvent.to_state == ReportState.INFORMATION_REQUESTED.value)
                 .group_by(ReportEvent.report_id).subquery())
        rows = session.execute(select(Report.id, asked.c.at).join(asked, asked.c.report_id == Report.id)
                               .where(Report.state == ReportState.INFORMATION_REQUESTED.value)).all()
        return [clock(ClockKind.INFORMATION_REQUEST, str(rid), at, at + self._settings.information_request,
                      report_id=str(rid)) for rid, at in rows]

    def _indicator_confirmation(self, session: Session) -> list[Clock]:
        rows = session.execute(select(Indicator.id, Indicator.created_at, Indicator.provenance)
                               .where(Indicator.status == IndicatorStatus.CANDIDATE.value)).all()
        out = []
        for iid, created, provenance in rows:
            report = ((provenance or {}).get("assessment") or {}).get("report")
            out.append(clock(ClockKind.INDICATOR_CONFIRMATION, str(iid), created, add_months(created, 1),
                             warn_before=timedelta(days=7), report_id=report))
        return out

    def _authority_confirmation(self, session: Session) -> list[Clock]:
        """The centre's candidates confirmed by four eyes, waiting for a coordinating authority's
        submission (CSAR Art. 36(3)): 1 month, 2 when extended."""
        rows = session.execute(select(Indicator.id, Indicator.awaiting_since, Indicator.authority_due_at,
                                      Indicator.provenance)
                               .where(Indicator.status == IndicatorStatus.AWAITING_AUTHORITY.value,
                                      Indicator.awaiting_since.is_not(None))).all()
        out = []
        for iid, since, due, provenance in rows:
            report = ((provenance or {}).get("assessment") or {}).get("report")
            deadline = due or add_months(since, 1)
            extended = deadline > add_months(since, 1)
            out.append(clock(ClockKind.AUTHORITY_CONFIRMATION, str(iid), since, deadline,
                             warn_before=timedelta(days=7), report_id=report, detail="extended" if extended else ""))
        return out

    def _removal(self, session: Session) -> list[Clock]:
        rows = session.execute(select(Takedown.item_id, Takedown.report_id, Takedown.host_notified_at,
                                      Takedown.escalated_at)
                               .where(Takedown.status == "watching", Takedown.host_notified_at.is_not(None))).all()
        return [clock(ClockKind.REMOVAL, str(item), notified, notified + self._settings.removal_sla,
                      report_id=str(report), detail=f"escalated {escalated.isoformat()}" if escalated else "")
                for item, report, notified, escalated in rows]

    def _hold_expiry(self, session: Session) -> list[Clock]:
        now = self._now()
        rows = session.execute(select(Hold).where(Hold.lifted_at.is_(None), Hold.expires_at > now)).scalars()
        return [clock(ClockKind.HOLD_EXPIRY, str(h.id), h.set_at, h.expires_at, warn_before=self._settings.hold_warning,
                      report_id=str(h.report_id), detail=h.authority) for h in rows]

    def _unfinished_ncmec(self, session: Session) -> list[Clock]:
        rows = session.execute(select(IspwsReport.id, IspwsReport.opened_at, IspwsReport.updated_at)
                               .where(IspwsReport.state == IspwsState.OPEN)).all()
        return [clock(ClockKind.UNFINISHED_NCMEC, str(rid), opened, deletion_deadline(opened, updated),
                      warn_before=self._settings.ncmec_warning) for rid, opened, updated in rows]

    # -- the periodic check ---------------------------------------------------------------

    def check(self, session: Session) -> int:
        """Record, once each, the clocks that ran out or are about to end by themselves. A clock
        whose deadline moved (information asked again) is a new clock and is recorded again."""
        now = self._now()
        recorded = 0
        for c in self.running(session):
            level = c.alert_level(now)
            if level is None:
                continue
            key = dict(kind=c.kind.value, subject_id=c.subject_id, deadline=c.deadline, level=level.value)
            if session.execute(select(ClockAlert.id).filter_by(**key)).first():
                continue
            try:
                # Two workers may check at once: the unique key keeps one alert.
                with session.begin_nested():
                    alert = ClockAlert(**key, report_id=c.report_id, recorded_at=now)
                    session.add(alert)
                    session.flush()
            except IntegrityError:
                continue
            event = AuditEvent.CLOCK_OVERDUE if level is ClockState.OVERDUE else AuditEvent.CLOCK_WARNING
            self._audit.record(session, event, SYSTEM, c.rule.subject_type, c.subject_id, "legal and service clocks",
                               {"clock": c.kind.value, "deadline": c.deadline.isoformat(), "report": c.report_id})
            recorded += 1
            if c.kind is ClockKind.INFORMATION_REQUEST:
                self._stop_waiting(session, c, now)
        return recorded

    def _stop_waiting(self, session: Session, c: Clock, now: datetime) -> None:
        """A provider that never answers must not leave a report waiting for ever (CSAR Art. 48:
        assess expeditiously): it returns to the queue, and its missing fields stay recorded."""
        from balise.casework.triage import transition

        report = session.get(Report, uuid.UUID(c.subject_id), with_for_update=True)
        if report is None or report.state != ReportState.INFORMATION_REQUESTED.value:
            return
        days = self._settings.information_request.days
        transition(session, self._audit, report, ReportState.IN_ASSESSMENT, SYSTEM,
                   f"no answer from the provider within {days} days: assessed on what the report holds", now)

    def alerts(self, session: Session, limit: int = 200) -> list[ClockAlert]:
        return list(session.execute(select(ClockAlert).order_by(ClockAlert.id.desc()).limit(limit)).scalars())
