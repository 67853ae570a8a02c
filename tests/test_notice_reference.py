"""Notice references: BAL-N-<UTC date>-<8 base32 characters>, random, and checked on input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from balise.takedown.notice_templates import NOTICE_REFERENCE_RE, is_notice_reference, new_notice_reference


def test_a_new_reference_has_the_utc_date_and_eight_base32_characters():
    # 23:30 in Paris on 23 November is 22:30 UTC the same day; 00:30 on the 24th is still the 23rd in UTC.
    paris = timezone(timedelta(hours=1))
    assert new_notice_reference(datetime(2026, 11, 24, 0, 30, tzinfo=paris)).startswith("BAL-N-20261123-")
    reference = new_notice_reference(datetime(2026, 11, 23, 23, 30, tzinfo=paris))
    assert reference.startswith("BAL-N-20261123-")
    assert NOTICE_REFERENCE_RE.match(reference) and is_notice_reference(reference)


def test_references_are_random():
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert len({new_notice_reference(now) for _ in range(1000)}) == 1000


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        new_notice_reference(datetime(2026, 11, 23))


@pytest.mark.parametrize("value", [
    "BAL-N-20261123-abcdefgh", "BAL-N-20261123-ABCDEFG1", "BAL-N-20261123-ABCDEFG", "BAL-N-20261340-ABCDEFGH",
    "BAL-N-2026112-ABCDEFGHI", " BAL-N-20261123-ABCDEFGH", "BAL-X-20261123-ABCDEFGH",
    "BAL-N-20261123-ABCDEFGH\n", "", None, 12,
])
def test_malformed_references_are_recognised(value):
    assert not is_notice_reference(value)
