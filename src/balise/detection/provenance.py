"""The history of each indicator (CSAR Art. 44(4)): one row per change, written in the
transaction of the change, kept as long as the indicator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator, IndicatorHistory
from balise.domain.submissions import HistoryAction


def actor_label(actor: Actor) -> str:
    return f"{actor.type.value}:{actor.id}" + (f" ({actor.label})" if actor.label and actor.label != actor.id else "")


def record_history(session: Session, indicator: Indicator, action: HistoryAction, actor: Actor, at: datetime, *,
                   submission_id: int | None = None, detail: dict[str, Any] | None = None) -> IndicatorHistory:
    """One change of ``indicator`` (flushed, so that it has an id), with its status after it."""
    if indicator.id is None:
        session.flush()
    row = IndicatorHistory(indicator_id=indicator.id, at=at, action=action.value, status=indicator.status,
                           actor=actor_label(actor)[:300], submission_id=submission_id, detail=detail or None)
    session.add(row)
    return row
