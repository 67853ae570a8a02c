"""The audit page's filters (who, what, on what, when) and paging, read from the query string so
that a view is a link and its CSV export the same view. Checked before any of it reaches the
database: an unknown event type, a malformed date, an overlong text, a NUL character or a page
out of range is answered with a precise message naming the field, never a 500."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import AuditRecord, User
from balise.domain.audit import AuditEvent

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_TEXT = 64
CSV_LIMIT = 10_000
EVENT_TYPES = tuple(e.value for e in AuditEvent)
_SUBJECT_TYPE = re.compile(r"[a-z_]{1,32}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class Problem:
    message: str
    values: dict[str, Any] = field(default_factory=dict)


class BadFilter(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    subject_type: str = ""
    subject: str = ""
    types: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    page: int = 1

    def pairs(self, page: int | None = None) -> list[tuple[str, str]]:
        out = [(k, v) for k, v in (("actor", self.actor), ("subject_type", self.subject_type),
                                   ("subject", self.subject)) if v]
        out += [("type", t) for t in self.types]
        if self.since:
            out.append(("from", self.since.isoformat()))
        if self.until:
            out.append(("to", self.until.isoformat()))
        if page is not None and page > 1:
            out.append(("page", str(page)))
        return out

    def query_string(self, page: int | None = None) -> str:
        return urlencode(self.pairs(page))

    def recorded(self) -> dict[str, Any]:
        """The filters as the audit event of the view records them."""
        return {k: v for k, v in (("actor", self.actor), ("subject_type", self.subject_type),
                                  ("subject", self.subject), ("types", list(self.types)),
                                  ("from", self.since.isoformat() if self.since else ""),
                                  ("to", self.until.isoformat() if self.until else ""), ("page", self.page)) if v}


def _text(params: Any, name: str) -> str:
    value = (params.get(name) or "").strip()
    if _CONTROL.search(value):
        raise BadFilter(Problem(N_("The field %(field)s contains a control character."), {"field": name}))
    if len(value) > MAX_TEXT:
        raise BadFilter(Problem(N_("The field %(field)s is longer than %(max)s characters."),
                                {"field": name, "max": MAX_TEXT}))
    return value


def _day(params: Any, name: str) -> date | None:
    value = _text(params, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(Problem(N_("The field %(field)s is not a date (YYYY-MM-DD)."), {"field": name})) from None


def parse(params: Any) -> AuditFilters:
    """``params``: a Starlette QueryParams (``type`` may repeat) or a plain dict."""
    subject_type = _text(params, "subject_type")
    if subject_type and not _SUBJECT_TYPE.fullmatch(subject_type):
        raise BadFilter(Problem(N_("The field %(field)s is not a subject type."), {"field": "subject_type"}))
    raw_types = params.getlist("type") if hasattr(params, "getlist") else ([params["type"]] if params.get("type") else [])
    types = []
    for t in raw_types:
        t = (t or "").strip()
        if not t:
            continue
        if t not in EVENT_TYPES:
            raise BadFilter(Problem(N_("The field %(field)s names no audit event type."), {"field": "type"}))
        if t not in types:
            types.append(t)
    since, until = _day(params, "from"), _day(params, "to")
    if since and until and since > until:
        raise BadFilter(Problem(N_("The field %(field)s is before the start date."), {"field": "to"}))
    page_text = _text(params, "page") or "1"
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise BadFilter(Problem(N_("The field %(field)s is not a page number."), {"field": "page"}))
    return AuditFilters(actor=_text(params, "actor"), subject_type=subject_type, subject=_text(params, "subject"),
                        types=tuple(types), since=since, until=until, page=int(page_text))


def shown_again(params: Any) -> dict[str, str]:
    """The refused values, as the form shows them again (never used in a query)."""
    return {k: str(params.get(k) or "")[:MAX_TEXT] for k in ("actor", "subject_type", "subject", "from", "to")}


def _where(session: Session, f: AuditFilters) -> list[Any]:
    conditions: list[Any] = []
    if f.actor:
        # A username, or an actor id as recorded (a user's UUID, an organisation's, a system name).
        ids = [str(i) for i in session.execute(select(User.id).where(func.lower(User.username) == f.actor.lower()))
               .scalars()]
        conditions.append(AuditRecord.actor_id.in_([f.actor, *ids]))
    if f.subject_type:
        conditions.append(AuditRecord.subject_type == f.subject_type)
    if f.subject:
        conditions.append(AuditRecord.subject_id == f.subject)
    if f.types:
        conditions.append(AuditRecord.event_type.in_(f.types))
    if f.since:
        conditions.append(AuditRecord.occurred_at >= datetime.combine(f.since, time.min, tzinfo=timezone.utc))
    if f.until:
        conditions.append(AuditRecord.occurred_at <
                          datetime.combine(f.until + timedelta(days=1), time.min, tzinfo=timezone.utc))
    return conditions


def _query(session: Session, f: AuditFilters) -> Select[Any]:
    conditions = _where(session, f)
    query = select(AuditRecord)
    if conditions:
        query = query.where(and_(*conditions))
    return query.order_by(AuditRecord.seq.desc())


def page_of(session: Session, f: AuditFilters) -> tuple[list[AuditRecord], int]:
    """The events of this page, newest first, and how many match in all."""
    conditions = _where(session, f)
    count = select(func.count()).select_from(AuditRecord)
    if conditions:
        count = count.where(and_(*conditions))
    total = session.execute(count).scalar_one()
    rows = session.execute(_query(session, f).offset((f.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).scalars().all()
    return list(rows), total


def subject_types(session: Session) -> list[str]:
    return sorted(t for t in session.execute(select(AuditRecord.subject_type).distinct()).scalars() if t)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_of(session: Session, f: AuditFilters, label: Any, names: Any) -> tuple[str, int]:
    """The matching events (at most ``CSV_LIMIT``, newest first) as CSV, and how many rows."""
    rows = session.execute(_query(session, f).limit(CSV_LIMIT)).scalars().all()
    who = names(session, rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "occurred_at_utc", "event_type", "event", "actor_type", "actor_id", "actor_name",
                     "subject_type", "subject_id", "purpose", "details"])
    for e in rows:
        writer.writerow([_cell(v) for v in (
            e.seq, e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.event_type, label("audit_event", e.event_type),
            e.actor_type, e.actor_id, who.get(e.actor_id, ""), e.subject_type, e.subject_id, e.purpose,
            json.dumps(e.details or {}, sort_keys=True, ensure_ascii=False))])
    return out.getvalue(), len(rows)
