"""Measured error rates of detection (CSAR Art. 83(3)(f), the EDPB-EDPS joint opinion): how
often what flagged an item as abuse was borne out by the analyst's decision.

Pure rules, no I/O. An item is counted on every *route* that flagged it (an exact hash of each
algorithm, PDQ in distance bands, vPDQ; or, with no indicator match, the channel that reported it:
the provider's own flag, a public report, a hotline), once more on "any indicator" when it
matched at least one, and under every *indicator source* whose indicator it matched. Its *decision* comes from the analysts, never from the machine:

* an analyst's classification of the item: illegal -> confirmed, not illegal -> overturned,
  cannot assess -> could not assess;
* otherwise the analyst's decision on the report: manifestly unfounded -> overturned; forwarded
  with the item still assessed illegal (a classification re-used from a confirmed indicator
  that the analyst let stand) -> confirmed;
* otherwise unassessed (no human has decided yet, or only the machine has).

The false-match rate is overturned / (confirmed + overturned), with a Wilson score interval;
below :data:`MIN_DECISIONS` decisions no rate is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from statistics import NormalDist
from typing import Any

from balise.domain.indicators import PDQ_MATCH_THRESHOLD

# Fewer decisions than this give "not enough decisions" instead of a rate.
MIN_DECISIONS = 10
CONFIDENCE = 0.95
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054

# PDQ distance bands, the last ending at the matching threshold (a match is at most 31 bits apart).
PDQ_BANDS: tuple[tuple[int, int], ...] = ((0, 0), (1, 10), (11, 20), (21, PDQ_MATCH_THRESHOLD))

# Indicators an analyst of this centre proposed and a senior analyst confirmed.
OWN_ASSESSMENT_SOURCE = "balise_assessment"
UNKNOWN_SOURCE = "unknown"


class Decision(StrEnum):
    CONFIRMED = "confirmed"
    OVERTURNED = "overturned"
    CANNOT_ASSESS = "cannot_assess"
    UNASSESSED = "unassessed"


class Dimension(StrEnum):
    ROUTE = "route"
    SOURCE = "source"


class Granularity(StrEnum):
    MONTH = "month"
    WEEK = "week"


# Routes without an indicator match, by report channel.
CHANNEL_ROUTES = {"provider_api": "provider_flag", "ncmec_xml": "provider_flag",
                  "public_form": "public_report", "hotline": "hotline_report"}
EXACT_ROUTES = ("md5", "sha1", "sha256", "video_md5")
# Every item that matched at least one indicator, counted once whatever the routes.
ANY_INDICATOR = "any_indicator"


def pdq_route(distance: int) -> str:
    for low, high in PDQ_BANDS:
        if low <= distance <= high:
            return f"pdq:{low}-{high}" if low != high else f"pdq:{low}"
    return f"pdq:over-{PDQ_BANDS[-1][1]}"


ROUTE_ORDER: tuple[str, ...] = (
    ANY_INDICATOR, *EXACT_ROUTES, *(pdq_route(low) for low, _ in PDQ_BANDS), "vpdq", "provider_flag",
    "public_report", "hotline_report",
)


def route_sort_key(route: str) -> tuple[int, str]:
    return (ROUTE_ORDER.index(route), route) if route in ROUTE_ORDER else (len(ROUTE_ORDER), route)


def decide(item_outcome: str | None, assessment_source: str | None, report_outcome: str | None) -> Decision:
    """What the analysts decided about one item (see the module's docstring)."""
    if assessment_source == "analyst":
        return {"illegal": Decision.CONFIRMED, "not_illegal": Decision.OVERTURNED,
                "cannot_assess": Decision.CANNOT_ASSESS}.get(item_outcome or "", Decision.UNASSESSED)
    if report_outcome == "manifestly_unfounded":
        return Decision.OVERTURNED
    if report_outcome == "forwarded" and item_outcome == "illegal":
        return Decision.CONFIRMED
    return Decision.UNASSESSED


def routes_of(matches: Sequence[Mapping[str, Any]] | None, report_source: str | None) -> list[str]:
    """Every route that flagged an item: one per exact algorithm it matched, PDQ in the band of
    its closest match, vPDQ; or, matching nothing, the channel that reported it."""
    routes: list[str] = []
    closest_pdq: int | None = None
    for match in matches or ():
        algorithm = str(match.get("algorithm") or "")
        if algorithm == "pdq":
            distance = int(match.get("distance") or 0)
            closest_pdq = distance if closest_pdq is None else min(closest_pdq, distance)
        elif algorithm and algorithm not in routes:
            routes.append(algorithm)
    if closest_pdq is not None:
        routes.append(pdq_route(closest_pdq))
    if not routes:
        channel = CHANNEL_ROUTES.get(report_source or "")
        if channel:
            routes.append(channel)
    return sorted(routes, key=route_sort_key)


def source_of(provenance: Mapping[str, Any] | None) -> str:
    """The list or process an indicator came from: the submitting authority (CSAR Art. 36), the
    imported list's name, ``cli``, or this centre's own four-eyes assessment."""
    provenance = provenance or {}
    if provenance.get("assessment"):
        return OWN_ASSESSMENT_SOURCE
    submission = provenance.get("submission")
    if isinstance(submission, Mapping) and submission.get("authority"):
        # An Article 36 submission: the authority that confirmed the material.
        return str(submission["authority"])[:200]
    source = provenance.get("source")
    return str(source)[:200] if source else UNKNOWN_SOURCE


def wilson_interval(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion (Wilson 1927; Newcombe 1998, method 3)."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Tally:
    confirmed: int = 0
    overturned: int = 0
    cannot_assess: int = 0
    unassessed: int = 0

    def add(self, decision: Decision, count: int = 1) -> None:
        setattr(self, decision.value, getattr(self, decision.value) + count)

    def merge(self, other: Tally) -> None:
        for decision in Decision:
            self.add(decision, getattr(other, decision.value))

    @property
    def decided(self) -> int:
        return self.confirmed + self.overturned

    @property
    def total(self) -> int:
        return self.decided + self.cannot_assess + self.unassessed

    @property
    def enough(self) -> bool:
        return self.decided >= MIN_DECISIONS

    @property
    def false_match_rate(self) -> float | None:
        return self.overturned / self.decided if self.enough else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.overturned, self.decided) if self.enough else None


@dataclass(frozen=True)
class ErrorRate:
    """The figures of one route or indicator source over a period."""

    dimension: Dimension
    key: str
    tally: Tally = field(default_factory=Tally)

    def as_dict(self) -> dict[str, Any]:
        t = self.tally
        low, high = t.interval or (None, None)
        return {"dimension": self.dimension.value, "key": self.key, "confirmed": t.confirmed,
                "overturned": t.overturned, "cannot_assess": t.cannot_assess, "unassessed": t.unassessed,
                "decided": t.decided, "enough_decisions": t.enough, "false_match_rate": t.false_match_rate,
                "ci_low": low, "ci_high": high}


@dataclass(frozen=True)
class ItemFacts:
    """What the figures read of one item."""

    matches: Sequence[Mapping[str, Any]] | None
    report_source: str | None
    item_outcome: str | None
    assessment_source: str | None
    report_outcome: str | None


class Accumulator:
    """Counts items one at a time, per route and per indicator source."""

    def __init__(self) -> None:
        self._routes: dict[str, Tally] = {}
        self._sources: dict[str, Tally] = {}

    def add(self, item: ItemFacts, sources: Mapping[int, str]) -> None:
        """``sources``: indicator id -> source, for the indicators the item matched."""
        decision = decide(item.item_outcome, item.assessment_source, item.report_outcome)
        for route in routes_of(item.matches, item.report_source):
            self._routes.setdefault(route, Tally()).add(decision)
        if item.matches:
            self._routes.setdefault(ANY_INDICATOR, Tally()).add(decision)
        for source in {sources.get(int(m["indicator_id"]), UNKNOWN_SOURCE) for m in item.matches or ()
                       if m.get("indicator_id") is not None}:
            self._sources.setdefault(source, Tally()).add(decision)

    def rates(self) -> list[ErrorRate]:
        return ordered([ErrorRate(Dimension.ROUTE, k, t) for k, t in self._routes.items()]
                       + [ErrorRate(Dimension.SOURCE, k, t) for k, t in self._sources.items()])


def tally(items: Iterable[ItemFacts], sources: Mapping[int, str]) -> list[ErrorRate]:
    """Count items per route and per indicator source (``sources``: indicator id -> source)."""
    counts = Accumulator()
    for item in items:
        counts.add(item, sources)
    return counts.rates()


def ordered(rates: Iterable[ErrorRate]) -> list[ErrorRate]:
    return sorted(rates, key=lambda r: (r.dimension != Dimension.ROUTE,
                                        route_sort_key(r.key) if r.dimension == Dimension.ROUTE else (0, r.key)))


def combine(rates: Iterable[ErrorRate]) -> list[ErrorRate]:
    """Sum the counts of the same route or source over several periods (counts add; rates do not)."""
    out: dict[tuple[Dimension, str], Tally] = {}
    for rate in rates:
        out.setdefault((rate.dimension, rate.key), Tally()).merge(rate.tally)
    return ordered(ErrorRate(d, k, t) for (d, k), t in out.items())


# -- periods (UTC) ---------------------------------------------------------------------------

def period_start(moment: datetime, granularity: Granularity) -> datetime:
    moment = moment.astimezone(timezone.utc)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # ISO weeks start on Monday


def next_period(start: datetime, granularity: Granularity) -> datetime:
    if granularity is Granularity.WEEK:
        return start + timedelta(days=7)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def periods(start: datetime, end: datetime, granularity: Granularity) -> list[tuple[datetime, datetime]]:
    """The periods that meet [start, end), each whole, oldest first."""
    out = []
    current = period_start(start, granularity)
    while current < end:
        following = next_period(current, granularity)
        out.append((current, following))
        current = following
    return out


def months_back(moment: datetime, months: int) -> datetime:
    """The first day of the month ``months`` months before ``moment``'s month."""
    start = period_start(moment, Granularity.MONTH)
    year, month = divmod(start.year * 12 + start.month - 1 - months, 12)
    return start.replace(year=year, month=month + 1)
