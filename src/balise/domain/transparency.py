"""The Article 83(3) statistics (CSAR, DOMAIN.md §7) as values: the period a report covers, its
tables of counts, and the rule that keeps persons out of them (small counts are suppressed).

Everything here is a code, never a sentence: the words are given where the report is shown (the
public pages' catalogues, in English, French and German)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_THRESHOLD = 10


class PeriodError(ValueError):
    """A period that cannot be reported on: the message says why."""


@dataclass(frozen=True)
class Period:
    """A calendar year in UTC: [start, end). ``partial`` when the year is still running, so
    the figures stop at ``end`` (the moment the report was built)."""

    year: int
    start: datetime
    end: datetime
    partial: bool

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "partial": self.partial}


def parse_year(text: str) -> int:
    value = str(text).strip()
    if not value.isascii() or not value.isdigit() or len(value) != 4:
        raise PeriodError(f"the year must be four digits, such as 2026 (got {text!r})")
    return int(value)


def period_for(year: int, now: datetime, first_event: datetime | None) -> Period:
    """The period of ``year``; refused when it is in the future or before the installation's
    first recorded event (there is nothing to count then, and a report of zeros would mislead)."""
    if first_event is None:
        raise PeriodError("this installation has recorded no event yet: there is nothing to report on")
    if year > now.year:
        raise PeriodError(f"{year} is in the future (this year is {now.year})")
    if year < first_event.year:
        raise PeriodError(f"{year} is before this installation's first recorded event "
                          f"({first_event:%Y-%m-%d}): the first year that can be reported is {first_event.year}")
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    if end > now:
        return Period(year, start, now, True)
    return Period(year, start, end, False)


# Why a cell shows no number.
SUPPRESSED = "suppressed"  # fewer than the threshold: could point at a person
SECONDARY = "secondary"  # withheld so that a suppressed cell cannot be worked out from the total


@dataclass(frozen=True)
class Row:
    """One line of a table: its keys (codes, None for "not known") and its values. A value is
    an int or float, or None with the reason in ``withheld`` (same index)."""

    keys: tuple[str | None, ...]
    values: tuple[int | float | None, ...]
    withheld: tuple[str | None, ...] = ()

    def reason(self, index: int) -> str | None:
        return self.withheld[index] if index < len(self.withheld) else None


@dataclass(frozen=True)
class Table:
    """A table of the report. ``key`` names it (and its CSV file); ``point`` is the letter of
    Art. 83(3) it answers; ``keys`` and ``measures`` are the codes of its columns. ``note``
    is the code of an explanation shown with it (e.g. why it is zero)."""

    key: str
    point: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str | None = None
    # A chart of the first measure by the first key is drawn for this table.
    chart: str | None = None  # "bar" | "line"


@dataclass(frozen=True)
class TransparencyReport:
    period: Period
    threshold: int
    built_at: datetime
    demo: bool  # the figures include DEMO reports
    headline: dict[str, int | None]
    headline_withheld: dict[str, str]
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def suppress(value: int, threshold: int) -> tuple[int | None, str | None]:
    """A count of 1 to threshold-1 is withheld; 0 and counts from the threshold up are shown
    (a zero points at nobody)."""
    if 0 < value < threshold:
        return None, SUPPRESSED
    return value, None


def suppress_counts(rows: list[tuple[tuple[str | None, ...], int]], threshold: int) -> tuple[Row, ...]:
    """Rows of one count each, suppressed; when exactly one row is suppressed, the smallest
    shown row is withheld too, or the published total would give the suppressed one away."""
    cells = [(keys, *suppress(count, threshold), count) for keys, count in rows]
    small = [i for i, c in enumerate(cells) if c[2] == SUPPRESSED]
    if len(small) == 1:
        shown = [i for i, c in enumerate(cells) if c[2] is None and c[3] > 0]
        if shown:
            j = min(shown, key=lambda i: cells[i][3])
            keys, _, _, count = cells[j]
            cells[j] = (keys, None, SECONDARY, count)
    return tuple(Row(keys, (value,), (reason,)) for keys, value, reason, _ in cells)


def suppress_measure(count: int, value: float | None, threshold: int) -> tuple[float | None, str | None]:
    """A median or a share computed over fewer than ``threshold`` cases is withheld with them."""
    if 0 < count < threshold:
        return None, SUPPRESSED
    return value, None
