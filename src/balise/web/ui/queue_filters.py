"""The queue's filters and search, read from the query string (so a view is a link) and
checked before any of it reaches the database: an unknown state, a malformed hash, an
overlong search or a NUL character is answered with a precise message, never a 500.

The search box finds a report by its id (in full, or the short id the pages show: its first
4 to 8 characters), its number (a public report's number, a CyberTipline report id), its
provider (part of the name), a reported URL (part of it) or an item's hash (MD5, SHA-1,
SHA-256 or PDQ, in hexadecimal). ``field`` narrows it to one of these.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from balise.adapters.db.models import IspwsReport, Item, Organisation, PublicReport, Report
from balise.domain.states import ReportState

MAX_SEARCH = 200
SHORT_ID = 8
DEFAULT_STATE = ReportState.IN_ASSESSMENT.value
STATES = tuple(s.value for s in ReportState)
SOURCES = ("provider_api", "ncmec_xml", "public_form", "hotline")
FIELDS = ("any", "report", "provider", "url", "hash")
HASH_LENGTHS = {32: ("md5",), 40: ("sha1",), 64: ("sha256", "pdq")}
_HEX = re.compile(r"[0-9a-f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ISPWS_ID = 2**63 - 1


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class Problem:
    """Why the query string was refused: a message (to translate) and its values."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)


class BadFilter(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class Filters:
    state: str = DEFAULT_STATE  # a state, or "all"
    source: str = ""
    urgent: bool = False
    country: str = ""
    q: str = ""
    field: str = "any"
    mine: bool = False

    def query_string(self, **changes: Any) -> str:
        """The query string of this view (or of this view changed): what the page links to."""
        values = {**self.__dict__, **changes}
        pairs = [("state", values["state"])]
        pairs += [(k, values[k]) for k in ("source", "country", "q") if values[k]]
        if values["q"] and values["field"] != "any":
            pairs.append(("field", values["field"]))
        pairs += [(k, "1") for k in ("urgent", "mine") if values[k]]
        return urlencode(pairs)


def parse(params: dict[str, str]) -> Filters:
    """The filters in these query parameters, or :class:`BadFilter` saying what is wrong."""
    for name, value in params.items():
        if "\x00" in value and name == "q":
            raise BadFilter(Problem(N_("The search contains a NUL character, which cannot be searched for.")))
        if "\x00" in value:
            raise BadFilter(Problem(N_("The field %(field)s contains a NUL character, which cannot be searched for."),
                                    {"field": name[:40]}))
        if _CONTROL.search(value):
            raise BadFilter(Problem(N_("The field %(field)s contains a control character."),
                                    {"field": "search" if name == "q" else name[:40]}))
    state = params.get("state", DEFAULT_STATE).strip() or "all"
    if state != "all" and state not in STATES:
        raise BadFilter(Problem(N_("There is no report state “%(value)s”."), {"value": state[:40]}))
    source = params.get("source", "").strip()
    if source and source not in SOURCES:
        raise BadFilter(Problem(N_("There is no source “%(value)s”."), {"value": source[:40]}))
    country = params.get("country", "").strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise BadFilter(Problem(N_("A country is two letters (FR, DE, …), not “%(value)s”."), {"value": country[:40]}))
    raw = params.get("q", "")
    if len(raw) > MAX_SEARCH:
        raise BadFilter(Problem(N_("A search is at most %(max)s characters long; this one has %(n)s."),
                                {"max": MAX_SEARCH, "n": len(raw)}))
    q = " ".join(raw.split())
    kind = params.get("field", "any").strip() or "any"
    if kind not in FIELDS:
        raise BadFilter(Problem(N_("One can search by report, provider, URL or hash, not by “%(value)s”."),
                                {"value": kind[:40]}))
    if q and kind == "hash":
        hash_kinds(q)  # refuses a malformed hash precisely
    if q and kind == "report" and report_id(q) is None and not q.isdigit() and len(q) > 16:
        raise BadFilter(Problem(N_("A report id is its 36 characters, or the first 4 to 8 shown in the queue; a report "
                                   "number is at most 16 characters.")))
    return Filters(state=state, source=source, urgent=params.get("urgent") == "1", country=country, q=q,
                   field=kind, mine=params.get("mine") == "1")


def shown_again(params: dict[str, str]) -> Filters:
    """What a refused query string still shows in the form, so it can be corrected: the search
    text without control characters (at most MAX_SEARCH of them), the search field if valid."""
    q = _CONTROL.sub("", params.get("q", "").replace("\x00", ""))[:MAX_SEARCH]
    kind = params.get("field", "any")
    return Filters(state="all", q=q, field=kind if kind in FIELDS else "any")


def hash_kinds(text: str) -> tuple[str, tuple[str, ...]]:
    """(the hash in lower case, the algorithms it may be); BadFilter for anything else."""
    value = text.strip().lower()
    if not _HEX.fullmatch(value):
        raise BadFilter(Problem(N_("A hash is written in hexadecimal (0-9 and a-f); “%(value)s” is not."),
                                {"value": text[:80]}))
    if len(value) not in HASH_LENGTHS:
        raise BadFilter(Problem(N_("A hash has 32 characters (MD5), 40 (SHA-1) or 64 (SHA-256, PDQ); this one has "
                                   "%(n)s."), {"n": len(value)}))
    return value, HASH_LENGTHS[len(value)]


def report_id(text: str) -> uuid.UUID | str | None:
    """A full report id (UUID), a short one (its first 4 to 8 hexadecimal characters, as
    a string), or None."""
    value = text.strip().lower()
    try:
        return uuid.UUID(value)
    except ValueError:
        pass
    if 4 <= len(value) <= SHORT_ID and _HEX.fullmatch(value):
        return value
    return None


def search_condition(filters: Filters) -> ColumnElement[bool] | None:
    """Where the reports found by the search are, or None without a search."""
    q, kind = filters.q, filters.field
    if not q:
        return None
    conditions: list[ColumnElement[bool]] = []
    if kind in ("any", "report"):
        found = report_id(q)
        if isinstance(found, uuid.UUID):
            conditions.append(Report.id == found)
        elif isinstance(found, str):
            # The first group of a UUID reads the same in every database's text form.
            conditions.append(cast(Report.id, String).like(found + "%"))
        if len(q) <= 16:
            conditions.append(Report.id.in_(select(PublicReport.report_id)
                                            .where(func.upper(PublicReport.number) == q.upper())))
        if q.isdigit() and int(q) <= MAX_ISPWS_ID:
            conditions.append(Report.id.in_(select(IspwsReport.report_id).where(IspwsReport.id == int(q))))
    if kind in ("any", "provider"):
        conditions.append(Organisation.name.icontains(q, autoescape=True))
    if kind in ("any", "url"):
        conditions.append(Report.id.in_(select(Item.report_id).where(Item.url.icontains(q, autoescape=True))))
    if kind in ("any", "hash"):
        try:
            value, algorithms = hash_kinds(q)
        except BadFilter:
            if kind == "hash":
                raise
        else:
            columns: list[ColumnElement[bool]] = []
            for algorithm in algorithms:
                if algorithm == "pdq":
                    columns.append(Item.hashes["pdq"].as_string() == value)
                else:
                    columns.append(getattr(Item, algorithm) == value)
            conditions.append(Report.id.in_(select(Item.report_id).where(or_(*columns))))
    return or_(*conditions) if conditions else Report.id.is_(None)
