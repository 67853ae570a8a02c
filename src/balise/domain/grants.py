"""Access grants (CSAR Art. 46; DOMAIN.md §3): who may use which database, for what, until when.

A grant names the grantee organisation, the databases it covers, the operations it allows on
them, the purpose and legal basis (with the order's reference where there is one) and a
validity. It is live only while approved and inside its validity. The rules here are pure:
the service (``governance/grants.py``) stores, decides and enforces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from balise.domain.indicators import IndicatorKind


class GrantDatabase(StrEnum):
    KNOWN_INDICATORS = "known_indicators"
    NEW_INDICATORS = "new_indicators"
    SOLICITATION_INDICATORS = "solicitation_indicators"
    URL_LIST = "url_list"
    REPORTS = "reports"
    # The hashes of a series of near-duplicates (docs/victims.md), downloaded by a partner.
    SERIES = "series"


class GrantOperation(StrEnum):
    MATCH = "match"
    DOWNLOAD = "download"
    READ_REPORTS = "read_reports"


class GrantState(StrEnum):
    REQUESTED = "requested"
    # A grant to download indicators needs two administrators: the first approval leaves it here.
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


#: Words for the command line, the API's messages and the audit trail (the staff pages
#: translate their own, web/ui/labels.py).
DATABASE_LABELS = {
    GrantDatabase.KNOWN_INDICATORS: "indicators of known material",
    GrantDatabase.NEW_INDICATORS: "indicators of new material",
    GrantDatabase.SOLICITATION_INDICATORS: "indicators of solicitation",
    GrantDatabase.URL_LIST: "URL list",
    GrantDatabase.REPORTS: "reports",
    GrantDatabase.SERIES: "hashes of series",
}
OPERATION_LABELS = {
    GrantOperation.MATCH: "match hashes",
    GrantOperation.DOWNLOAD: "download indicators",
    GrantOperation.READ_REPORTS: "read reports",
}

INDICATOR_DATABASES = frozenset({GrantDatabase.KNOWN_INDICATORS, GrantDatabase.NEW_INDICATORS,
                                 GrantDatabase.SOLICITATION_INDICATORS, GrantDatabase.URL_LIST})
#: Which databases each operation applies to.
APPLIES_TO = {
    GrantOperation.MATCH: INDICATOR_DATABASES,
    GrantOperation.DOWNLOAD: INDICATOR_DATABASES | {GrantDatabase.SERIES},
    GrantOperation.READ_REPORTS: frozenset({GrantDatabase.REPORTS}),
}
DATABASE_OF_KIND = {
    IndicatorKind.KNOWN_CSAM.value: GrantDatabase.KNOWN_INDICATORS,
    IndicatorKind.NEW_CSAM.value: GrantDatabase.NEW_INDICATORS,
    IndicatorKind.SOLICITATION.value: GrantDatabase.SOLICITATION_INDICATORS,
    IndicatorKind.URL.value: GrantDatabase.URL_LIST,
}

MAX_PURPOSE = 2000
MAX_LEGAL_BASIS = 1000
MAX_ORDER_REFERENCE = 200
MAX_REASON = 2000
#: Art. 46(7) review: a grant unused this long, or ending this soon, is listed.
UNUSED_DAYS = 90
EXPIRING_DAYS = 30


class InvalidGrant(ValueError):
    """A grant request that cannot be stored; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class GrantTerms:
    """A request, checked: what it covers, why, on what basis, and for how long."""

    databases: tuple[GrantDatabase, ...]
    operations: tuple[GrantOperation, ...]
    purpose: str
    legal_basis: str
    order_reference: str | None
    valid_from: datetime
    valid_until: datetime

    @property
    def needs_four_eyes(self) -> bool:
        return GrantOperation.DOWNLOAD in self.operations


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the last day of a shorter month)."""
    import calendar

    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _codes(values: Iterable[str], enum: type[StrEnum], field: str, what: str) -> tuple:  # type: ignore[type-arg]
    out = []
    for value in values:
        try:
            member = enum(value)
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise InvalidGrant(field, f"unknown {what} {value!r}; one of {known}") from None
        if member not in out:
            out.append(member)
    if not out:
        raise InvalidGrant(field, f"name at least one {what}")
    return tuple(out)


def _text(value: str | None, field: str, what: str, limit: int, required: bool) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise InvalidGrant(field, f"state the {what}")
        return None
    if "\x00" in text:
        raise InvalidGrant(field, f"the {what} contains a NUL character")
    if len(text) > limit:
        raise InvalidGrant(field, f"the {what} is longer than {limit} characters")
    return text


def check_terms(
    *,
    databases: Iterable[str],
    operations: Iterable[str],
    purpose: str | None,
    legal_basis: str | None,
    order_reference: str | None,
    valid_from: datetime,
    valid_until: datetime,
    max_months: int,
    now: datetime,
) -> GrantTerms:
    """The terms of a request, or InvalidGrant naming the first problem."""
    dbs = _codes(databases, GrantDatabase, "databases", "database")
    ops = _codes(operations, GrantOperation, "operations", "operation")
    for op in ops:
        if not APPLIES_TO[op] & set(dbs):
            raise InvalidGrant("operations", f"the operation {op.value!r} ({OPERATION_LABELS[op]}) applies to none of the "
                                             f"requested databases; it applies to "
                                             + ", ".join(sorted(d.value for d in APPLIES_TO[op])))
    for db in dbs:
        if not any(db in APPLIES_TO[op] for op in ops):
            raise InvalidGrant("databases", f"no requested operation applies to the database {db.value!r} "
                                            f"({DATABASE_LABELS[db]})")
    text_purpose = _text(purpose, "purpose", "purpose", MAX_PURPOSE, True)
    text_basis = _text(legal_basis, "legal_basis", "legal basis", MAX_LEGAL_BASIS, True)
    reference = _text(order_reference, "order_reference", "order reference", MAX_ORDER_REFERENCE, False)
    moments = {}
    for name, moment in (("valid_from", valid_from), ("valid_until", valid_until)):
        if moment.tzinfo is None:
            raise InvalidGrant(name, f"{name} needs a time zone (e.g. 2026-12-01T00:00:00Z)")
        try:
            moments[name] = moment.astimezone(UTC)
        except OverflowError:
            raise InvalidGrant(name, f"{name} is outside the years 1-9999 in UTC") from None
    valid_from, valid_until = moments["valid_from"], moments["valid_until"]
    if valid_until <= valid_from:
        raise InvalidGrant("valid_until", f"the grant would end ({valid_until.isoformat()}) before it starts "
                                          f"({valid_from.isoformat()})")
    if valid_until <= now:
        raise InvalidGrant("valid_until", f"the grant would end ({valid_until.isoformat()}) before now "
                                          f"({now.isoformat()})")
    try:
        latest = add_months(valid_from, max_months)
    except ValueError:  # past the year 9999: no end date is too late
        latest = datetime.max.replace(tzinfo=UTC)
    if valid_until > latest:
        raise InvalidGrant("valid_until", f"a grant lasts at most {max_months} months: from {valid_from.isoformat()} "
                                          f"it must end by {latest.isoformat()}")
    assert text_purpose is not None and text_basis is not None
    return GrantTerms(dbs, ops, text_purpose, text_basis, reference, valid_from, valid_until)


def is_live(state: str, valid_from: datetime, valid_until: datetime, now: datetime) -> bool:
    return state == GrantState.APPROVED.value and valid_from <= now < valid_until


def describe_missing(databases: Iterable[GrantDatabase], operation: GrantOperation) -> str:
    names = ", ".join(f"{d.value} ({DATABASE_LABELS[d]})" for d in databases)
    return f"operation {operation.value!r} ({OPERATION_LABELS[operation]}) on {names}"


def needs_review(state: str, last_used_at: datetime | None, approved_at: datetime | None,
                 valid_until: datetime, now: datetime) -> list[str]:
    """Why a live grant is listed in the Art. 46(7) review: ``unused`` and/or ``expiring``."""
    reasons = []
    if state != GrantState.APPROVED.value:
        return reasons
    since = last_used_at or approved_at
    if since is None or now - since >= timedelta(days=UNUSED_DAYS):
        reasons.append("unused")
    if valid_until - now <= timedelta(days=EXPIRING_DAYS):
        reasons.append("expiring")
    return reasons
