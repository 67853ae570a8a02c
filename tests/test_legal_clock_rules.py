"""The clock rules themselves (pure): when a clock is running, due soon or overdue, and that a
clock ending by itself is warned about instead of ever being overdue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from balise.domain.clocks import ClockKind, ClockState, add_months, clock

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)


def test_a_clock_is_running_then_due_soon_in_its_last_quarter_then_overdue():
    c = clock(ClockKind.ASSESSMENT, "r1", T0, T0 + timedelta(hours=24))
    assert c.state(T0 + timedelta(hours=17, minutes=59)) is ClockState.RUNNING
    assert c.state(T0 + timedelta(hours=18)) is ClockState.DUE_SOON
    assert c.state(T0 + timedelta(hours=24)) is ClockState.OVERDUE
    assert c.alert_level(T0 + timedelta(hours=18)) is None  # due soon is shown, not recorded
    assert c.alert_level(T0 + timedelta(hours=24)) is ClockState.OVERDUE


def test_a_clock_that_ends_by_itself_is_warned_about_and_never_overdue():
    c = clock(ClockKind.HOLD_EXPIRY, "7", T0, T0 + timedelta(days=90), warn_before=timedelta(days=30))
    assert c.state(T0 + timedelta(days=59)) is ClockState.RUNNING
    assert c.alert_level(T0 + timedelta(days=60)) is ClockState.DUE_SOON
    assert c.state(T0 + timedelta(days=91)) is ClockState.DUE_SOON


def test_a_warning_window_longer_than_the_clock_starts_at_the_start():
    c = clock(ClockKind.HOLD_EXPIRY, "7", T0, T0 + timedelta(days=3), warn_before=timedelta(days=30))
    assert c.warn_from == T0


def test_a_clock_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="cannot end before it starts"):
        clock(ClockKind.REMOVAL, "i", T0, T0 - timedelta(seconds=1))


@pytest.mark.parametrize(("start", "months", "end"), [
    (datetime(2026, 1, 31, tzinfo=timezone.utc), 1, datetime(2026, 2, 28, tzinfo=timezone.utc)),
    (datetime(2028, 1, 31, tzinfo=timezone.utc), 1, datetime(2028, 2, 29, tzinfo=timezone.utc)),
    (datetime(2026, 8, 31, tzinfo=timezone.utc), 18, datetime(2028, 2, 29, tzinfo=timezone.utc)),
    (datetime(2026, 12, 15, tzinfo=timezone.utc), 1, datetime(2027, 1, 15, tzinfo=timezone.utc)),
])
def test_months_are_calendar_months_ending_on_the_last_day_when_shorter(start, months, end):
    assert add_months(start, months) == end
