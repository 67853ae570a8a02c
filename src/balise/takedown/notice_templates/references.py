"""Notice references: what a recipient quotes when it replies, and what a retried send reuses.

``BAL-N-<yyyymmdd>-<8 base32>``: the UTC date the notice was created and 40 random bits in
RFC 4648 base32 (A–Z, 2–7), which has no 0/1/8/9 to confuse with O/I/B/g when read aloud or
typed back from a printed letter.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timezone

NOTICE_REFERENCE_RE = re.compile(r"^BAL-N-(\d{8})-([A-Z2-7]{8})\Z")


def new_notice_reference(now: datetime | None = None) -> str:
    when = (now or datetime.now(timezone.utc))
    if when.tzinfo is None:
        raise ValueError("new_notice_reference needs a timezone-aware datetime")
    suffix = base64.b32encode(secrets.token_bytes(5)).decode("ascii")
    return f"BAL-N-{when.astimezone(timezone.utc):%Y%m%d}-{suffix}"


def is_notice_reference(value: object) -> bool:
    if not isinstance(value, str) or not NOTICE_REFERENCE_RE.match(value):
        return False
    try:
        datetime.strptime(value[6:14], "%Y%m%d")
    except ValueError:
        return False
    return True
