"""Orders of the CSA Regulation proposal (DOMAIN.md §3): removal (Art. 14), blocking (Art. 16)
and detection (Art. 7) orders, the fields of their annexes, their life cycle and their clocks.

Pure rules: the service (``balise/orders/``) stores, authenticates and acts. An order is issued
by a coordinating authority (or a court on its request) to a provider; the EU Centre keeps the
registry, runs the clocks and, for a detection order, gives the provider access to the named
databases for the order's period only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from balise.domain.clocks import add_months
from balise.domain.grants import GrantDatabase


class OrderKind(StrEnum):
    REMOVAL = "removal"  # Art. 14, Annex IV
    BLOCKING = "blocking"  # Art. 16, Annex VII
    DETECTION = "detection"  # Art. 7, Annex I


class OrderState(StrEnum):
    # A detection order submitted as a draft for the centre's opinion (Art. 7(3)).
    DRAFT = "draft"
    ISSUED = "issued"
    RECEIVED = "received"
    CLARIFICATION_REQUESTED = "clarification_requested"
    IMPOSSIBLE = "impossible"
    EXECUTED = "executed"
    CHALLENGED = "challenged"
    FINAL = "final"
    REVOKED = "revoked"


class Execution(StrEnum):
    REMOVED = "removed"
    DISABLED = "disabled"  # access disabled in all Member States (Art. 14(1))


#: Who may move an order: the issuing authority (its API key, or staff recording its act), the
#: addressee provider (its API key, or staff recording its act), or staff alone.
AUTHORITY, PROVIDER, STAFF = "authority", "provider", "staff"

S = OrderState
TRANSITIONS: dict[OrderState, dict[OrderState, frozenset[str]]] = {
    S.DRAFT: {S.ISSUED: frozenset({AUTHORITY}), S.REVOKED: frozenset({AUTHORITY})},
    S.ISSUED: {S.RECEIVED: frozenset({PROVIDER, AUTHORITY}), S.REVOKED: frozenset({AUTHORITY})},
    S.RECEIVED: {S.CLARIFICATION_REQUESTED: frozenset({PROVIDER}), S.IMPOSSIBLE: frozenset({PROVIDER}),
                 S.EXECUTED: frozenset({PROVIDER}), S.REVOKED: frozenset({AUTHORITY})},
    # The authority's clarification, or the end of the impossibility, starts the clock again.
    S.CLARIFICATION_REQUESTED: {S.RECEIVED: frozenset({AUTHORITY}), S.REVOKED: frozenset({AUTHORITY})},
    S.IMPOSSIBLE: {S.RECEIVED: frozenset({PROVIDER, AUTHORITY}), S.REVOKED: frozenset({AUTHORITY})},
    S.EXECUTED: {S.CHALLENGED: frozenset({PROVIDER, AUTHORITY}), S.FINAL: frozenset({AUTHORITY}),
                 S.REVOKED: frozenset({AUTHORITY})},
    S.CHALLENGED: {S.FINAL: frozenset({AUTHORITY}), S.REVOKED: frozenset({AUTHORITY})},
    S.FINAL: {},
    S.REVOKED: {},
}
CLOSED = frozenset({S.FINAL, S.REVOKED})
#: States in which the removal clock is paused (Art. 14(5), (6)).
PAUSED = frozenset({S.CLARIFICATION_REQUESTED, S.IMPOSSIBLE})
#: States in which the provider can report the execution.
EXECUTABLE = frozenset({S.ISSUED, S.RECEIVED})
#: States in which a blocking order is carried out: the URL list is exported for it and its
#: provider reads its feed (not a draft, not paused, challenged, final or revoked).
BLOCKING_IN_FORCE = frozenset({S.ISSUED, S.RECEIVED, S.EXECUTED})

REMOVAL_HOURS = 24
OPINION_WEEKS = 4
DETECTION_MAX_MONTHS = 24
SOLICITATION_MAX_MONTHS = 12
BLOCKING_MAX_MONTHS = 60
NON_DISCLOSURE_WEEKS = 6
NON_DISCLOSURE_RENEWALS = 1

MAX_TEXT = 4000
MAX_SHORT = 200
MAX_URLS = 500
MAX_URL = 2048


class InvalidOrder(ValueError):
    """An order that cannot be stored; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TransitionRefused(ValueError):
    """A move the order's state or the actor's part does not allow (an HTTP 409)."""


@dataclass(frozen=True)
class OrderTerms:
    """An order, checked: everything its annex asks for."""

    kind: OrderKind
    reference: str
    authority_name: str
    authority_member_state: str
    authority_contact: str | None
    legal_basis: str
    addressee_name: str
    reasons: str
    redress: str
    sent_at: datetime
    urls: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    databases: tuple[GrantDatabase, ...] = ()
    period_start: datetime | None = None
    period_end: datetime | None = None
    non_disclosure_weeks: int | None = None
    draft: bool = False
    report_ids: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def solicitation(self) -> bool:
        return GrantDatabase.SOLICITATION_INDICATORS in self.databases


def _text(value: object, name: str, limit: int = MAX_TEXT, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidOrder(name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidOrder(name, "must be text")
    text = " ".join(value.split()) if limit <= MAX_SHORT else value.strip()
    if "\x00" in text:
        raise InvalidOrder(name, "contains a NUL character")
    if len(text) > limit:
        raise InvalidOrder(name, f"is longer than {limit} characters")
    return text


def check_url(value: object, name: str) -> str:
    """An absolute http(s) URL with a host, or InvalidOrder naming the field."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidOrder(name, "must be a URL")
    url = value.strip()
    if len(url) > MAX_URL:
        raise InvalidOrder(name, f"is longer than {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidOrder(name, f"{url[:80]!r} is not a URL (it contains spaces or control characters)")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InvalidOrder(name, f"{url[:80]!r} is not a URL") from None
    del port
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not (":" in host or "." in host.strip(".")):
        raise InvalidOrder(name, f"{url[:80]!r} is not an http(s) URL with a host name")
    return url


def _moment(value: object, name: str, required: bool = True) -> datetime | None:
    if value is None:
        if required:
            raise InvalidOrder(name, "is required")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidOrder(name, f"{value[:40]!r} is not an ISO 8601 date and time") from None
    if not isinstance(value, datetime):
        raise InvalidOrder(name, "must be an ISO 8601 date and time")
    if value.tzinfo is None:
        raise InvalidOrder(name, "needs a time zone (e.g. 2026-12-01T10:00:00Z)")
    return value.astimezone(UTC)


def _list(value: object, name: str, required: bool, limit: int = MAX_URLS) -> list[Any]:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise InvalidOrder(name, "must be a list")
    if required and not value:
        raise InvalidOrder(name, "name at least one")
    if len(value) > limit:
        raise InvalidOrder(name, f"at most {limit}")
    return value


def check_order(body: dict[str, Any], *, now: datetime) -> OrderTerms:
    """The terms of an order (the JSON of the API or the staff form), or InvalidOrder naming
    the first field in error. The signature is checked apart (it needs the authority's key)."""
    if not isinstance(body, dict):
        raise InvalidOrder("body", "must be a JSON object")
    try:
        kind = OrderKind(body.get("kind"))
    except ValueError:
        raise InvalidOrder("kind", f"must be one of {', '.join(k.value for k in OrderKind)}") from None
    authority = body.get("issuing_authority")
    if not isinstance(authority, dict):
        raise InvalidOrder("issuing_authority", "is required (name, member_state)")
    state = _text(authority.get("member_state"), "issuing_authority.member_state", 2)
    assert state is not None
    if len(state) != 2 or not state.isalpha() or not state.isupper():
        raise InvalidOrder("issuing_authority.member_state", "must be an ISO 3166-1 alpha-2 code such as FR")
    addressee = body.get("addressee")
    if not isinstance(addressee, dict):
        raise InvalidOrder("addressee", "is required (the provider's name)")
    draft = body.get("draft", False)
    if not isinstance(draft, bool):
        raise InvalidOrder("draft", "must be true or false")
    if draft and kind is not OrderKind.DETECTION:
        raise InvalidOrder("draft", "only a detection order is submitted as a draft for the centre's opinion")
    terms: dict[str, Any] = dict(
        kind=kind,
        reference=_text(body.get("reference"), "reference", MAX_SHORT),
        authority_name=_text(authority.get("name"), "issuing_authority.name", MAX_SHORT),
        authority_member_state=state,
        authority_contact=_text(authority.get("contact"), "issuing_authority.contact", MAX_SHORT, required=False),
        legal_basis=_text(body.get("legal_basis"), "legal_basis"),
        addressee_name=_text(addressee.get("name"), "addressee.name", MAX_SHORT),
        reasons=_text(body.get("reasons"), "reasons"),
        redress=_text(body.get("redress"), "redress"),
        sent_at=_moment(body.get("sent_at"), "sent_at"),
        draft=draft,
    )
    if terms["sent_at"] > now + timedelta(minutes=5):
        raise InvalidOrder("sent_at", "is in the future")
    needs_urls = kind in (OrderKind.REMOVAL, OrderKind.BLOCKING)
    urls = _list(body.get("urls"), "urls", needs_urls)
    if urls and not needs_urls:
        raise InvalidOrder("urls", "a detection order names services, not URLs")
    checked: list[str] = []
    for i, url in enumerate(urls):
        one = check_url(url, f"urls.{i}")
        if one not in checked:
            checked.append(one)
    terms["urls"] = tuple(checked)
    services = _list(body.get("services"), "services", kind is OrderKind.DETECTION, 50)
    terms["services"] = tuple(_text(s, f"services.{i}", MAX_SHORT) for i, s in enumerate(services))  # type: ignore[misc]
    if kind is OrderKind.DETECTION:
        dbs = _list(body.get("databases"), "databases", True, 5)
        out: list[GrantDatabase] = []
        for i, d in enumerate(dbs):
            try:
                db = GrantDatabase(d)
            except ValueError:
                db = None
            if db is None or db in (GrantDatabase.REPORTS, GrantDatabase.URL_LIST):
                raise InvalidOrder(f"databases.{i}", "must be known_indicators, new_indicators or "
                                                      "solicitation_indicators")
            if db not in out:
                out.append(db)
        terms["databases"] = tuple(out)
    elif body.get("databases"):
        raise InvalidOrder("databases", "only a detection order names databases")
    if kind in (OrderKind.DETECTION, OrderKind.BLOCKING):
        period = body.get("period")
        if not isinstance(period, dict):
            raise InvalidOrder("period", "is required (start, end)")
        start = _moment(period.get("start"), "period.start")
        end = _moment(period.get("end"), "period.end")
        assert start is not None and end is not None
        if end <= start:
            raise InvalidOrder("period.end", "must come after period.start")
        if kind is OrderKind.DETECTION:
            months = SOLICITATION_MAX_MONTHS if GrantDatabase.SOLICITATION_INDICATORS in terms["databases"] \
                else DETECTION_MAX_MONTHS
        else:
            months = BLOCKING_MAX_MONTHS
        if end > add_months(start, months):
            what = "a detection order for solicitation" if months == SOLICITATION_MAX_MONTHS else f"a {kind.value} order"
            raise InvalidOrder("period.end", f"{what} lasts at most {months} months")
        terms["period_start"], terms["period_end"] = start, end
    elif body.get("period") is not None:
        raise InvalidOrder("period", "a removal order has no period")
    nd = body.get("non_disclosure_weeks")
    if nd is not None:
        if kind is not OrderKind.REMOVAL:
            raise InvalidOrder("non_disclosure_weeks", "only a removal order can forbid disclosure (Art. 15(4))")
        if isinstance(nd, bool) or not isinstance(nd, int) or not 1 <= nd <= NON_DISCLOSURE_WEEKS:
            raise InvalidOrder("non_disclosure_weeks", f"must be a whole number of weeks from 1 to {NON_DISCLOSURE_WEEKS}")
        terms["non_disclosure_weeks"] = nd
    reports = _list(body.get("report_ids"), "report_ids", False, 100)
    for i, r in enumerate(reports):
        if not isinstance(r, str) or len(r) > 64:
            raise InvalidOrder(f"report_ids.{i}", "must be a report id")
    terms["report_ids"] = tuple(dict.fromkeys(reports))
    return OrderTerms(**terms)


# -- the signature ---------------------------------------------------------------------------

def signed_bytes(body: dict[str, Any]) -> bytes:
    """What the issuing authority signs: the order's JSON without its ``signature`` member, with
    keys sorted, no insignificant white space, UTF-8 (the JCS form for the values an order has:
    strings, integers, booleans, lists and objects)."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature_value(body: dict[str, Any]) -> tuple[str, bytes]:
    """The key id and the raw Ed25519 signature of an order, or InvalidOrder on ``signature``."""
    sig = body.get("signature")
    if not isinstance(sig, dict):
        raise InvalidOrder("signature", "is required: {\"algorithm\": \"ed25519\", \"key_id\": …, \"value\": base64}")
    if sig.get("algorithm") != "ed25519":
        raise InvalidOrder("signature.algorithm", "must be ed25519")
    key_id = sig.get("key_id")
    if not isinstance(key_id, str) or not key_id:
        raise InvalidOrder("signature.key_id", "is required (the id of the authority's registered key)")
    value = sig.get("value")
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 64:
        raise InvalidOrder("signature.value", "must be a base64 Ed25519 signature (64 bytes)")
    return key_id, raw


# -- the life cycle -----------------------------------------------------------------------------

def check_transition(current: str, target: str, part: str) -> OrderState:
    """The target state if ``part`` (authority, provider, staff recording either) may move an
    order from ``current`` to it; TransitionRefused otherwise."""
    try:
        to = OrderState(target)
    except ValueError:
        raise TransitionRefused(f"unknown state {target!r}") from None
    here = OrderState(current)
    if here in CLOSED:
        raise TransitionRefused(f"the order is {here.value}: it is closed")
    allowed = TRANSITIONS[here].get(to)
    if allowed is None:
        nexts = ", ".join(s.value for s in TRANSITIONS[here]) or "none"
        raise TransitionRefused(f"an order that is {here.value} cannot become {to.value} (next: {nexts})")
    if part != STAFF and part not in allowed:
        raise TransitionRefused(f"only the {' or the '.join(sorted(allowed))} can make an order {to.value}")
    return to


# -- the clocks -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StateChange:
    to_state: str
    at: datetime


def removal_deadline(received_at: datetime, changes: Sequence[StateChange], now: datetime) -> datetime | None:
    """24 h from receipt, plus every interval the order spent waiting for a clarification or
    impossible to execute; None while it is paused now."""
    paused = timedelta()
    since: datetime | None = None
    for change in sorted(changes, key=lambda c: c.at):
        if change.at < received_at:
            continue
        state = OrderState(change.to_state)
        if state in PAUSED and since is None:
            since = change.at
        elif state not in PAUSED and since is not None:
            paused += change.at - since
            since = None
    if since is not None:
        return None
    return received_at + timedelta(hours=REMOVAL_HOURS) + paused


def opinion_deadline(requested_at: datetime) -> datetime:
    return requested_at + timedelta(weeks=OPINION_WEEKS)


def non_disclosure_until(start: datetime, weeks: int, renewals: int) -> datetime:
    return start + timedelta(weeks=weeks) + timedelta(weeks=NON_DISCLOSURE_WEEKS) * renewals


def grant_terms_of(kind: str, databases: Iterable[str]) -> tuple[list[str], list[str]]:
    """The databases and operations of the grant a detection order gives: matching only."""
    return [GrantDatabase(d).value for d in databases], ["match"]


def check_blocking_in_force(kind: str, state: str, period_start: datetime | None, period_end: datetime | None,
                            now: datetime, *, reference: str, in_period: bool = True) -> None:
    """InvalidOrder (field ``order``) unless this is a blocking order in an executable state and,
    with ``in_period``, within its period: what exporting the URL list for it requires."""
    if kind != OrderKind.BLOCKING.value:
        raise InvalidOrder("order", f"{reference} is a {kind} order, not a blocking order (CSAR Art. 16)")
    if state not in BLOCKING_IN_FORCE:
        raise InvalidOrder("order", f"blocking order {reference} is {state.replace('_', ' ')}: the URL list is "
                                    "exported only for an order issued, received or executed")
    if in_period:
        if period_start is not None and now < period_start:
            raise InvalidOrder("order", f"blocking order {reference} is not in force before "
                                        f"{period_start.isoformat()}")
        if period_end is not None and now >= period_end:
            raise InvalidOrder("order", f"blocking order {reference} ended on {period_end.isoformat()}")
