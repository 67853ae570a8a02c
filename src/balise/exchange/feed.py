"""The exchange feed: the changes of one indicator list after a version, paged, for a consumer
acting within a live download grant (CSAR Art. 46). Every page served is audited
(``exchange:fetch``) with the grants it went through.

A list is one of the indicator databases a grant names. An entry is an indicator's state at its
version: ``deleted`` true when it no longer matches (suspended or deleted), so that a consumer
removes it. Candidates awaiting a second analyst are never served.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.detection.indicators import Indicators
from balise.domain.audit import AuditEvent
from balise.domain.grants import DATABASE_OF_KIND, GrantDatabase
from balise.domain.indicators import IndicatorStatus, vpdq_compact
from balise.governance.audit import AuditTrail
from balise.governance.grants import Access

FEED_VERSION = 1
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000
#: The indicator kind each list (grant database) holds.
KIND_OF_LIST = {database: kind for kind, database in DATABASE_OF_KIND.items()}
LISTS = tuple(KIND_OF_LIST)


class FeedError(ValueError):
    """A request the feed cannot answer; the message names the parameter."""


def parse_list(name: str) -> GrantDatabase:
    try:
        database = GrantDatabase(name)
    except ValueError:
        database = None
    if database not in KIND_OF_LIST:
        raise FeedError(f"no exchange list {name!r}; the lists are {', '.join(d.value for d in LISTS)}")
    return database  # type: ignore[return-value]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def entry(ind: Any) -> dict[str, Any]:
    """One indicator as the feed writes it. ``signal_value`` is what python-threatexchange
    reads (a vPDQ value is its JSON list); ``frames`` keeps vPDQ frame numbers for Balise."""
    out: dict[str, Any] = {
        "id": ind.id, "version": ind.version, "signal_type": ind.algorithm,
        "signal_value": vpdq_compact(ind.frames) if ind.algorithm == "vpdq" else ind.value,
        "deleted": ind.status != IndicatorStatus.ACTIVE.value, "status": ind.status, "kind": ind.kind,
        "media_type": ind.media_type, "updated_at": _iso(ind.updated_at),
    }
    if ind.classification:
        out["classification"] = ind.classification
    if ind.quality is not None:
        out["quality"] = ind.quality
    if ind.frames:
        out["frames"] = ind.frames
    return out


class ExchangeFeed:
    def __init__(self, indicators: Indicators, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._indicators = indicators
        self._audit = audit
        self._clock = clock

    def page(self, session: Session, actor: Actor, database: GrantDatabase, *, since: int, limit: int,
             access: Access) -> dict[str, Any]:
        """The entries of ``database`` changed after version ``since`` (at most ``limit``), the
        version to ask from next, and whether more are waiting. Audited in ``session``."""
        if since < 0:
            raise FeedError("since must be a version, 0 or more")
        if not 1 <= limit <= MAX_PAGE:
            raise FeedError(f"limit must be between 1 and {MAX_PAGE}")
        kind = KIND_OF_LIST[database]
        current = self._indicators.current_version(session)
        rows = []
        for ind in self._indicators.rows(session, since_version=since, include_inactive=True, kinds=[kind],
                                         up_to=current):
            if ind.status != IndicatorStatus.CANDIDATE.value:
                rows.append(entry(ind))
            if len(rows) > limit:
                break
        more = len(rows) > limit
        rows = rows[:limit]
        # With nothing more to read, the consumer may skip straight to the current version.
        until = rows[-1]["version"] if more else current
        self._audit.record(
            session, AuditEvent.EXCHANGE_FETCH, actor, "exchange_list", database.value, access.audit_purpose(),
            {"since": since, "until": until, "entries": len(rows), "more": more, **access.audit_details()},
        )
        return {"feed_version": FEED_VERSION, "list": database.value, "since": since, "until": until,
                "current_version": current, "more": more, "entries": rows}
