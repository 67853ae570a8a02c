"""The report life cycle follows CSAR Art. 48."""

from __future__ import annotations

import pytest

from balise.domain.states import INITIAL_STATE, TERMINAL_STATES, TRANSITIONS, IllegalTransition, ReportState, check_transition


def test_reports_start_received():
    assert INITIAL_STATE is ReportState.RECEIVED


def test_every_state_is_reachable_from_received():
    seen, frontier = {ReportState.RECEIVED}, [ReportState.RECEIVED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(ReportState)


def test_decisions_are_final():
    assert TERMINAL_STATES == {
        ReportState.MANIFESTLY_UNFOUNDED, ReportState.FORWARDED_EUROPOL_AND_STATE,
        ReportState.FORWARDED_EUROPOL_ONLY, ReportState.RETRACTED,
    }


@pytest.mark.parametrize(("current", "target"), [
    (ReportState.RECEIVED, ReportState.FORWARDED_EUROPOL_ONLY),  # never forwarded unassessed
    (ReportState.RECEIVED, ReportState.MANIFESTLY_UNFOUNDED),
    (ReportState.MANIFESTLY_UNFOUNDED, ReportState.IN_ASSESSMENT),
    (ReportState.FORWARDED_EUROPOL_AND_STATE, ReportState.RECEIVED),
])
def test_illegal_transitions_are_refused(current, target):
    with pytest.raises(IllegalTransition, match=f"from {current.value} to {target.value}"):
        check_transition(current, target)


def test_information_can_be_requested_and_supplied():
    check_transition(ReportState.INCOMPLETE, ReportState.INFORMATION_REQUESTED)
    check_transition(ReportState.INFORMATION_REQUESTED, ReportState.INCOMPLETE)
    check_transition(ReportState.IN_ASSESSMENT, ReportState.INFORMATION_REQUESTED)
