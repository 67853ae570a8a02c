"""`balise stats errors`: measured error rates of detection, from the analysts' decisions."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any

import typer

from balise.cli.common import fail, load_balise
from balise.cli.routing import stats_app
from balise.domain.error_rates import (
    CONFIDENCE,
    MIN_DECISIONS,
    OWN_ASSESSMENT_SOURCE,
    UNKNOWN_SOURCE,
    Dimension,
    ErrorRate,
    Granularity,
)

if TYPE_CHECKING:
    from balise.governance.error_rates import PeriodFigures

FORMATS = ("table", "json", "csv")
DATE_HELP = "YYYY-MM-DD or an ISO date-time (UTC unless it says otherwise)"

ROUTE_WORDS = {
    "any_indicator": "any indicator match (each item once)",
    "md5": "exact hash: MD5", "sha1": "exact hash: SHA-1", "sha256": "exact hash: SHA-256",
    "video_md5": "exact hash: video MD5", "vpdq": "vPDQ (video)",
    "provider_flag": "provider's own flag, no indicator match", "public_report": "public report, no indicator match",
    "hotline_report": "hotline report, no indicator match",
}
SOURCE_WORDS = {OWN_ASSESSMENT_SOURCE: "this centre's assessments (four eyes)", UNKNOWN_SOURCE: "unknown source"}


def words(rate: ErrorRate) -> str:
    if rate.dimension is Dimension.SOURCE:
        return SOURCE_WORDS.get(rate.key, rate.key)
    found = re.fullmatch(r"pdq:(\d+)(?:-(\d+))?", rate.key)
    if found:
        return f"PDQ distance {found.group(1)}" + (f"-{found.group(2)}" if found.group(2) else "")
    if rate.key.startswith("pdq:over-"):
        return f"PDQ distance over {rate.key.removeprefix('pdq:over-')}"
    return ROUTE_WORDS.get(rate.key, rate.key)


def _when(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--{name}: {value!r} is not a date ({DATE_HELP})", 2)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f} %"


def _rate_text(rate: ErrorRate) -> tuple[str, str]:
    t = rate.tally
    if not t.enough:
        return f"not enough decisions ({t.decided} < {MIN_DECISIONS})", ""
    low, high = t.interval or (0.0, 0.0)
    return _pct(t.false_match_rate), f"{_pct(low)} - {_pct(high)}"


def _row(rate: ErrorRate, period: datetime | None = None) -> dict[str, Any]:
    return {**({"period_start": period.date().isoformat()} if period is not None else {}),
            "label": words(rate), **rate.as_dict()}


def _table(rates: list[ErrorRate]) -> list[str]:
    lines = []
    head = (f"{'':<44} {'confirmed':>9} {'overturned':>10} {'cannot assess':>13} {'unassessed':>10}  "
            f"{'false-match rate':<32} 95 % interval")
    for dimension, title in ((Dimension.ROUTE, "By detection route"), (Dimension.SOURCE, "By indicator source")):
        chosen = [r for r in rates if r.dimension is dimension]
        lines += [title, head]
        for r in chosen:
            t = r.tally
            rate, interval = _rate_text(r)
            lines.append(f"{words(r)[:44]:<44} {t.confirmed:>9} {t.overturned:>10} {t.cannot_assess:>13} "
                         f"{t.unassessed:>10}  {rate:<32} {interval}")
        if not chosen:
            lines.append("  (no items)")
        lines.append("")
    return lines


@stats_app.command("errors")
def stats_errors(
    since: Annotated[str | None, typer.Option(help=f"items received from this moment ({DATE_HELP})")] = None,
    until: Annotated[str | None, typer.Option(help=f"items received before this moment ({DATE_HELP})")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    by: Annotated[str | None, typer.Option(help="also per period of arrival: month or week (drift)")] = None,
) -> None:
    """Measured error rates of detection: per route (exact hash, PDQ distance band, vPDQ, the
    provider's own flag, public and hotline reports) and per indicator source, how many flagged
    items the analysts confirmed, overturned, could not assess or have not assessed yet; the
    false-match rate (overturned / decided) with its Wilson 95 % interval, from 10 decisions."""
    from balise.governance.error_rates import error_rate_series, error_rates_for_period

    if fmt not in FORMATS:
        fail(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}", 2)
    granularity = None
    if by is not None:
        if by not in {g.value for g in Granularity}:
            fail(f"--by: {by!r} is not one of month, week", 2)
        granularity = Granularity(by)
    start = _when(since, "since") if since else None
    end = _when(until, "until") if until else None
    if start is not None and end is not None and start >= end:
        fail(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})", 2)
    if granularity is not None and start is None:
        fail("--by needs --since (the first period of the series)", 2)
    balise = load_balise()
    with balise.db.sessions() as session:
        rates = error_rates_for_period(session, start, end)
        series: list[PeriodFigures] = (error_rate_series(session, start, end or balise.clock(), granularity)
                                       if granularity is not None and start is not None else [])
    if fmt == "json":
        typer.echo(json.dumps({
            "since": start.isoformat() if start else None, "until": end.isoformat() if end else None,
            "confidence": CONFIDENCE, "min_decisions": MIN_DECISIONS,
            "rates": [_row(r) for r in rates],
            **({"by": by, "series": [{"period_start": p.start.date().isoformat(), "rates": [_row(r) for r in p.rates]}
                                     for p in series]} if granularity else {}),
        }, indent=2))
        return
    if fmt == "csv":
        out = io.StringIO()
        fields = ["period_start", "dimension", "key", "label", "confirmed", "overturned", "cannot_assess", "unassessed",
                  "decided", "enough_decisions", "false_match_rate", "ci_low", "ci_high"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for r in rates:
            writer.writerow({"period_start": "all", **_row(r)})
        for p in series:
            for r in p.rates:
                writer.writerow(_row(r, p.start))
        typer.echo(out.getvalue(), nl=False)
        return
    span = f"from {start:%Y-%m-%d %H:%M} " if start else "from the first "
    span += f"until {end:%Y-%m-%d %H:%M} UTC" if end else "until now"
    lines = [f"Measured error rates: items received {span}; decisions recorded until now.",
             f"Rate of false matches = overturned / (confirmed + overturned); none below {MIN_DECISIONS} decisions.", ""]
    lines += _table(rates)
    for p in series:
        lines += [f"== {by} from {p.start:%Y-%m-%d}", ""] + _table(p.rates)
    typer.echo("\n".join(lines).rstrip())
