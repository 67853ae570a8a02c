"""The report life cycle, following CSAR Art. 48 (DOMAIN.md §2).

received → (incomplete ⇄ information_requested) → in_assessment →
manifestly_unfounded | forwarded_europol_and_state | forwarded_europol_only
"""

from __future__ import annotations

from enum import StrEnum


class ReportState(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    INFORMATION_REQUESTED = "information_requested"
    IN_ASSESSMENT = "in_assessment"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    FORWARDED_EUROPOL_AND_STATE = "forwarded_europol_and_state"
    FORWARDED_EUROPOL_ONLY = "forwarded_europol_only"
    RETRACTED = "retracted"


TRANSITIONS: dict[ReportState, frozenset[ReportState]] = {
    ReportState.RECEIVED: frozenset(
        {ReportState.INCOMPLETE, ReportState.IN_ASSESSMENT, ReportState.RETRACTED}
    ),
    ReportState.INCOMPLETE: frozenset(
        {ReportState.INFORMATION_REQUESTED, ReportState.IN_ASSESSMENT}
    ),
    ReportState.INFORMATION_REQUESTED: frozenset(
        {ReportState.INCOMPLETE, ReportState.IN_ASSESSMENT}
    ),
    ReportState.IN_ASSESSMENT: frozenset(
        {
            ReportState.INFORMATION_REQUESTED,
            ReportState.MANIFESTLY_UNFOUNDED,
            ReportState.FORWARDED_EUROPOL_AND_STATE,
            ReportState.FORWARDED_EUROPOL_ONLY,
        }
    ),
    ReportState.MANIFESTLY_UNFOUNDED: frozenset(),
    ReportState.FORWARDED_EUROPOL_AND_STATE: frozenset(),
    ReportState.FORWARDED_EUROPOL_ONLY: frozenset(),
    ReportState.RETRACTED: frozenset(),
}

INITIAL_STATE = ReportState.RECEIVED
TERMINAL_STATES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class IllegalTransition(ValueError):
    def __init__(self, current: ReportState, target: ReportState):
        super().__init__(f"a report cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def check_transition(current: ReportState, target: ReportState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
