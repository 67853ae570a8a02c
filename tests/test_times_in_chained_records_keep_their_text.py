"""Audit events, checkpoints and the match access log hash the text of their times: utc_iso
must write exactly what it wrote when those chains began (strftime's form), or a verification
of an older record would fail. It now takes a faster path; the text is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from balise.domain.checkpoints import utc_iso


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 4, 22, 1, 2, 3),  # naive: taken as UTC
    datetime(2026, 12, 4, 22, 1, 2, tzinfo=UTC),  # no microseconds
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # crosses midnight
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(999, 1, 1, 12),  # strftime does not pad this year
])
def test_utc_iso_writes_the_text_strftime_wrote(value: datetime) -> None:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    assert utc_iso(value) == aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert utc_iso(value).endswith("Z") and "+" not in utc_iso(value)
