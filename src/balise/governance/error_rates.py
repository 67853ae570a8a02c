"""Measured error rates of detection, from the analysts' decisions (docs/oversight.md): computed
on demand for any period (``balise stats errors``, the transparency report), and stored per
month and ISO week by a nightly job (the auditors' page, and the figures of periods whose
items later leave the database).

The rules (what counts as confirmed, overturned, unassessed; routes and bands) are in
:mod:`balise.domain.error_rates`; this module reads the items and keeps the figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import ErrorRateFigure, Indicator, Item, Report
from balise.domain.error_rates import (
    Accumulator,
    Dimension,
    ErrorRate,
    Granularity,
    ItemFacts,
    Tally,
    combine,
    months_back,
    period_start,
    periods,
    source_of,
)

CHUNK = 900
BATCH = 2000


@dataclass(frozen=True)
class PeriodFigures:
    start: datetime
    end: datetime
    rates: list[ErrorRate]


def _items(session: Session, start: datetime | None,
           end: datetime | None) -> Iterator[tuple[datetime, ItemFacts, dict[int, str]]]:
    """The items received in [start, end), streamed in batches, each with the sources of the
    indicators known so far (those it matched among them): memory stays bounded by a batch and
    the counts, whatever the number of items."""
    query = (select(Item.created_at, Item.matches, Report.source, Item.outcome, Item.assessment_source, Report.outcome)
             .join(Report, Report.id == Item.report_id))
    if start is not None:
        query = query.where(Item.created_at >= start)
    if end is not None:
        query = query.where(Item.created_at < end)
    rows = session.execute(query.order_by(Item.created_at)).yield_per(BATCH)
    sources: dict[int, str] = {}
    for batch in rows.partitions():
        facts = [(created, ItemFacts(matches, source, outcome, assessed, report_outcome))
                 for created, matches, source, outcome, assessed, report_outcome in batch]
        missing = sorted({int(m["indicator_id"]) for _, f in facts for m in f.matches or ()
                          if m.get("indicator_id") is not None} - sources.keys())
        for first in range(0, len(missing), CHUNK):
            for indicator_id, provenance in session.execute(
                    select(Indicator.id, Indicator.provenance).where(Indicator.id.in_(missing[first:first + CHUNK]))):
                sources[int(indicator_id)] = source_of(provenance)
        for created, fact in facts:
            yield created, fact, sources


def error_rates_for_period(session: Session, start: datetime | None, end: datetime | None) -> list[ErrorRate]:
    """The error rates of the items received in [start, end) (UTC; ``None``: unbounded), per
    route then per indicator source, from the decisions recorded up to now. Each
    :class:`~balise.domain.error_rates.ErrorRate` carries its counts (``tally``), its
    false-match rate and Wilson 95 % interval (``None`` below ten decisions); ``as_dict()``
    gives them as plain values."""
    counts = Accumulator()
    for _, fact, sources in _items(session, start, end):
        counts.add(fact, sources)
    return counts.rates()


def _per_period(session: Session, start: datetime, end: datetime | None,
                granularities: tuple[Granularity, ...]) -> dict[tuple[Granularity, datetime], Accumulator]:
    counts: dict[tuple[Granularity, datetime], Accumulator] = defaultdict(Accumulator)
    for created, fact, sources in _items(session, start, end):
        for granularity in granularities:
            counts[(granularity, period_start(created, granularity))].add(fact, sources)
    return counts


def error_rate_series(session: Session, start: datetime, end: datetime,
                      granularity: Granularity = Granularity.MONTH) -> list[PeriodFigures]:
    """The same figures per month or ISO week of arrival (drift), every period of [start, end)
    included, empty ones too."""
    counts = _per_period(session, start, end, (granularity,))
    return [PeriodFigures(s, e, counts[(granularity, s)].rates() if (granularity, s) in counts else [])
            for s, e in periods(start, end, granularity)]


class ErrorRates:
    """The nightly job's side: recompute the recent periods and replace their stored figures."""

    def __init__(self, clock: Callable[[], datetime], months: int) -> None:
        self._clock = clock
        self.months = months

    def store_recent(self, session: Session) -> int:
        """Recompute every month and ISO week that meets the last ``months`` months (the
        current one included) and replace their stored rows, in the caller's transaction. A
        second run over the same data stores the same rows. Returns the rows stored."""
        now = self._clock()
        start = months_back(now, self.months - 1)
        counts = _per_period(session, min(start, period_start(start, Granularity.WEEK)), None, tuple(Granularity))
        stored = 0
        for granularity in Granularity:
            for first, _ in periods(start, now, granularity):
                session.execute(delete(ErrorRateFigure).where(ErrorRateFigure.granularity == granularity.value,
                                                              ErrorRateFigure.period_start == first))
                found = counts.get((granularity, first))
                for rate in found.rates() if found is not None else []:
                    t = rate.tally
                    session.add(ErrorRateFigure(
                        granularity=granularity.value, period_start=first, dimension=rate.dimension.value,
                        key=rate.key, confirmed=t.confirmed, overturned=t.overturned,
                        cannot_assess=t.cannot_assess, unassessed=t.unassessed, computed_at=now))
                    stored += 1
        session.flush()
        return stored


@dataclass(frozen=True)
class StoredFigures:
    totals: list[ErrorRate]
    series: list[PeriodFigures]
    computed_at: datetime | None


def stored_figures(session: Session, start: datetime, end: datetime,
                   granularity: Granularity = Granularity.MONTH) -> StoredFigures:
    """What the nightly job stored for the periods of [start, end): each period's figures and
    their sum (counts add up; the rates are computed from the sums)."""
    rows = session.execute(select(ErrorRateFigure).where(
        ErrorRateFigure.granularity == granularity.value, ErrorRateFigure.period_start >= period_start(start, granularity),
        ErrorRateFigure.period_start < end)).scalars().all()
    by_period: dict[datetime, list[ErrorRate]] = defaultdict(list)
    for row in rows:
        by_period[row.period_start].append(ErrorRate(Dimension(row.dimension), row.key, Tally(
            row.confirmed, row.overturned, row.cannot_assess, row.unassessed)))
    series = [PeriodFigures(s, e, combine(by_period.get(s, []))) for s, e in periods(start, end, granularity)]
    computed = session.execute(select(func.max(ErrorRateFigure.computed_at))).scalar_one_or_none()
    return StoredFigures(combine(r for p in series for r in p.rates), series, computed)
