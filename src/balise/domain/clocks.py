"""Legal and service clocks (DOMAIN.md §4): which clocks run on a record, when they run out,
and how close they are. Pure rules: the service gathers the facts from the database.

A clock is *running* until its deadline, *due soon* inside its warning window and *overdue*
once the deadline has passed while the record still waits. Clocks that end by themselves
(a hold expiring, an unfinished NCMEC report deleted) are never overdue: their warning is
what matters, so that the person who can act (renew the hold, finish the report) still can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ClockKind(StrEnum):
    ASSESSMENT = "assessment"
    INFORMATION_REQUEST = "information_request"
    INDICATOR_CONFIRMATION = "indicator_confirmation"
    AUTHORITY_CONFIRMATION = "authority_confirmation"
    REMOVAL = "removal"
    HOLD_EXPIRY = "hold_expiry"
    UNFINISHED_NCMEC = "unfinished_ncmec"
    ORDER_REMOVAL = "order_removal"
    ORDER_OPINION = "order_opinion"
    ORDER_PERIOD = "order_period"


class ClockState(StrEnum):
    RUNNING = "running"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class ClockRule:
    kind: ClockKind
    subject_type: str
    basis: str  # where the clock comes from, shown to users
    on_expiry: str  # what happens, or should happen, when it runs out
    ends_by_itself: bool = False


RULES: dict[ClockKind, ClockRule] = {rule.kind: rule for rule in (
    ClockRule(ClockKind.ASSESSMENT, "report",
              "assessment target: 1 h for urgent reports, 24 h otherwise (CSAR Art. 48: urgent first)",
              "the report is overdue in the queue; a supervisor should assign it"),
    ClockRule(ClockKind.INFORMATION_REQUEST, "report",
              "the provider was asked for missing information (CSAR Art. 48(2))",
              "the report goes back to the assessment queue without the answer; an analyst decides on what it holds"),
    ClockRule(ClockKind.INDICATOR_CONFIRMATION, "indicator",
              "a second, senior analyst confirms new material within 1 month (service target, before the "
              "coordinating authority's month of CSAR Art. 36(3))",
              "the candidate indicator still waits for a second, senior analyst"),
    ClockRule(ClockKind.AUTHORITY_CONFIRMATION, "indicator",
              "the coordinating authority confirms the centre's new material within 1 month, 2 when extended "
              "(CSAR Art. 36(3))",
              "the candidate still matches nothing; the centre asks the authority again or extends to 2 months"),
    ClockRule(ClockKind.REMOVAL, "item",
              "removal after notice, within the removal SLA (BALISE_REMOVAL_SLA_HOURS)",
              "removal verification escalates to the coordinating authority"),
    ClockRule(ClockKind.HOLD_EXPIRY, "hold",
              "a law-enforcement hold lasts at most 18 months (CSAR Art. 48(6))",
              "the hold ends and routing resumes; the authority renews it before if it still needs it",
              ends_by_itself=True),
    ClockRule(ClockKind.UNFINISHED_NCMEC, "ispws_report",
              "an unfinished NCMEC-API report is deleted 24 h after opening or 1 h after its last change, "
              "whichever is later (CyberTipline API)",
              "the report, its XML and its files are deleted", ends_by_itself=True),
    ClockRule(ClockKind.ORDER_REMOVAL, "order",
              "a removal order is executed within 24 h of its receipt; a clarification request or an "
              "impossibility pauses the clock (CSAR Art. 14(3), (5), (6))",
              "the URLs are checked again by removal verification; those still served are escalated to the "
              "issuing authority"),
    ClockRule(ClockKind.ORDER_OPINION, "order",
              "the centre gives its opinion on a draft detection order within 4 weeks (CSAR Art. 7(3))",
              "the opinion is late; the authority may issue the order without it"),
    ClockRule(ClockKind.ORDER_PERIOD, "order",
              "a detection order lasts at most 24 months, 12 for solicitation (CSAR Art. 7(9))",
              "the provider's access to the databases ends with the order's period", ends_by_itself=True),
)}


@dataclass(frozen=True)
class Clock:
    kind: ClockKind
    subject_id: str
    started_at: datetime
    deadline: datetime
    warn_from: datetime
    report_id: str | None = None
    detail: str = ""

    @property
    def rule(self) -> ClockRule:
        return RULES[self.kind]

    def state(self, now: datetime) -> ClockState:
        if now >= self.deadline and not self.rule.ends_by_itself:
            return ClockState.OVERDUE
        if now >= self.warn_from:
            return ClockState.DUE_SOON
        return ClockState.RUNNING

    def alert_level(self, now: datetime) -> ClockState | None:
        """What is worth recording once: an overdue clock, or the warning of a clock that ends
        by itself (nobody can act after it ran out)."""
        state = self.state(now)
        if state is ClockState.OVERDUE:
            return state
        if state is ClockState.DUE_SOON and self.rule.ends_by_itself:
            return state
        return None


def clock(kind: ClockKind, subject_id: str, started_at: datetime, deadline: datetime, *,
          warn_before: timedelta | None = None, report_id: str | None = None, detail: str = "") -> Clock:
    """A clock whose warning window is ``warn_before`` (default: the last quarter of its length)."""
    if deadline < started_at:
        raise ValueError("a clock cannot end before it starts")
    window = warn_before if warn_before is not None else (deadline - started_at) / 4
    return Clock(kind, subject_id, started_at, deadline, max(started_at, deadline - window), report_id, detail)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day when it has fewer days
    (31 January + 1 month is the end of February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1
