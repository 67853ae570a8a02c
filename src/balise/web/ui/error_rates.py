"""The auditors' page of measured error rates (docs/oversight.md#measured-error-rates): the
figures the nightly job stored, summed over the months chosen, in words, with the Wilson
interval and a small drift chart per route drawn as inline SVG by the server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from balise.adapters.db.models import User
from balise.domain.error_rates import (
    MIN_DECISIONS,
    OWN_ASSESSMENT_SOURCE,
    UNKNOWN_SOURCE,
    Dimension,
    ErrorRate,
    Granularity,
    months_back,
    next_period,
    period_start,
)
from balise.domain.model import Role
from balise.governance.error_rates import stored_figures
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)
DEFAULT_MONTHS = 12
MAX_MONTHS = 120


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


ROUTES = {
    "any_indicator": N_("any indicator match (each item once)"),
    "md5": N_("exact hash: MD5"),
    "sha1": N_("exact hash: SHA-1"),
    "sha256": N_("exact hash: SHA-256"),
    "video_md5": N_("exact hash: video MD5"),
    "vpdq": N_("vPDQ (video)"),
    "provider_flag": N_("the provider's own flag, no indicator match"),
    "public_report": N_("public report, no indicator match"),
    "hotline_report": N_("hotline report, no indicator match"),
}
SOURCES = {
    OWN_ASSESSMENT_SOURCE: N_("this centre's assessments (four eyes)"),
    UNKNOWN_SOURCE: N_("unknown source"),
}


def describe(rate: ErrorRate) -> str:
    """A route or source in words, in the reader's language (list names are shown as named)."""
    if rate.dimension is Dimension.SOURCE:
        text = SOURCES.get(rate.key)
        return i18n.gettext(text) if text else rate.key
    band = re.fullmatch(r"pdq:(\d+)(?:-(\d+))?", rate.key)
    if band:
        if band.group(2):
            return i18n.gettext("PDQ, distance %(low)s to %(high)s") % {"low": band.group(1), "high": band.group(2)}
        return i18n.gettext("PDQ, distance %(low)s") % {"low": band.group(1)}
    if rate.key.startswith("pdq:over-"):
        return i18n.gettext("PDQ, distance over %(high)s") % {"high": rate.key.removeprefix("pdq:over-")}
    text = ROUTES.get(rate.key)
    return i18n.gettext(text) if text else rate.key


def percent(value: float) -> str:
    # A no-break space: the sign never starts a line of its own.
    return (i18n.gettext("%(value)s %%") % {"value": f"{100 * value:.1f}"}).replace(" ", "\u00a0")


@dataclass(frozen=True)
class Row:
    label: str
    confirmed: int
    overturned: int
    cannot_assess: int
    unassessed: int
    rate: str
    interval: str
    enough: bool


def row(rate: ErrorRate) -> Row:
    t = rate.tally
    if t.enough:
        low, high = t.interval or (0.0, 0.0)
        rate_text = percent(t.false_match_rate or 0.0)
        interval = i18n.gettext("%(low)s to %(high)s") % {"low": percent(low), "high": percent(high)}
    else:
        rate_text = i18n.gettext("not enough decisions (%(n)s of the %(min)s needed)") % {"n": t.decided,
                                                                                           "min": MIN_DECISIONS}
        interval = "—"
    return Row(describe(rate), t.confirmed, t.overturned, t.cannot_assess, t.unassessed, rate_text, interval, t.enough)


# -- the drift chart ------------------------------------------------------------------------

BAR_WIDTH = 22
GAP = 6
HEIGHT = 60
LABEL_HEIGHT = 14


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    whisker_top: int
    whisker_bottom: int
    month: str
    tick: str
    title: str
    enough: bool


@dataclass(frozen=True)
class Drift:
    label: str
    width: int
    height: int
    bars: list[Bar]
    summary: str


def drift(key: str, label: str, series: list[tuple[datetime, ErrorRate | None]], scale: float) -> Drift:
    """One route's false-match rate per month as bars (height against ``scale``, the largest
    upper bound shown), the interval as a whisker; a month with too few decisions is a short
    grey mark saying so."""
    bars = []
    for n, (start, rate) in enumerate(series):
        month = f"{start:%Y-%m}"
        tick = f"{start:%m}"
        x = n * (BAR_WIDTH + GAP)
        t = rate.tally if rate is not None else None
        if t is not None and t.enough:
            low, high = t.interval or (0.0, 0.0)
            value = t.false_match_rate or 0.0
            height = max(1, round(HEIGHT * value / scale))
            title = i18n.gettext("%(month)s: %(rate)s (%(low)s to %(high)s), %(n)s decisions") % {
                "month": month, "rate": percent(value), "low": percent(low), "high": percent(high), "n": t.decided}
            bars.append(Bar(x, HEIGHT - height, height, HEIGHT - round(HEIGHT * high / scale),
                            HEIGHT - round(HEIGHT * low / scale), month, tick, title, True))
        else:
            decided = t.decided if t is not None else 0
            title = i18n.gettext("%(month)s: not enough decisions (%(n)s of the %(min)s needed)") % {
                "month": month, "n": decided, "min": MIN_DECISIONS}
            bars.append(Bar(x, HEIGHT - 3, 3, HEIGHT, HEIGHT, month, tick, title, False))
    summary = i18n.gettext("Rate of false matches per month for %(route)s") % {"route": label}
    return Drift(label, max(1, len(series) * (BAR_WIDTH + GAP)), HEIGHT + LABEL_HEIGHT + 4, bars, summary)


def _month(value: str, name: str) -> datetime:
    found = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise ValueError(i18n.gettext("%(field)s: %(value)s is not a month such as 2026-07") % {
            "field": name, "value": value[:40]})
    return datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=timezone.utc)


@router.get("/error-rates")
def error_rates_page(request: Request, since: str = "", until: str = "",
                     user: User = Depends(require_role(Role.AUDITOR, Role.ADMIN))) -> HTMLResponse:
    balise = request.app.state.balise
    now = balise.clock()
    error = None
    status = 200
    # The messages built here are in the reader's language, as the page's (render does the same).
    i18n.activate(i18n.negotiate(request.headers.get("accept-language"), (user.preferences or {}).get("locale")))
    current = period_start(now, Granularity.MONTH)
    first, last = months_back(now, DEFAULT_MONTHS - 1), current
    try:
        if since:
            first = _month(since, i18n.gettext("From"))
        if until:
            last = _month(until, i18n.gettext("To"))
        if first > last:
            raise ValueError(i18n.gettext("The first month (%(since)s) is after the last (%(until)s).") % {
                "since": f"{first:%Y-%m}", "until": f"{last:%Y-%m}"})
        if months_back(last, MAX_MONTHS - 1) > first:
            raise ValueError(i18n.gettext("Choose at most %(n)s months.") % {"n": MAX_MONTHS})
    except ValueError as exc:
        error, status = str(exc), 400
        first, last = months_back(now, DEFAULT_MONTHS - 1), current
    with balise.db.sessions() as session:
        figures = stored_figures(session, first, next_period(last, Granularity.MONTH))
    routes = [r for r in figures.totals if r.dimension is Dimension.ROUTE]
    sources = [r for r in figures.totals if r.dimension is Dimension.SOURCE]
    highs = [(p.interval or (0.0, 0.0))[1] for p in (r.tally for s in figures.series for r in s.rates) if p.enough]
    scale = max(highs + [0.05])
    charts = []
    for rate in routes:
        series = [(p.start, next((r for r in p.rates if r.dimension is Dimension.ROUTE and r.key == rate.key), None))
                  for p in figures.series]
        charts.append(drift(rate.key, describe(rate), series, scale))
    # A route without a single month of enough decisions would be a row of grey marks: named instead.
    without = [c.label for c in charts if not any(b.enough for b in c.bars)]
    return render(request, "error_rates.html", status=status, error=error,
                  since=f"{first:%Y-%m}", until=f"{last:%Y-%m}", computed_at=figures.computed_at,
                  routes=[row(r) for r in routes], sources=[row(r) for r in sources],
                  charts=[c for c in charts if any(b.enough for b in c.bars)], without=without,
                  scale=percent(scale), minimum=MIN_DECISIONS, bar_width=BAR_WIDTH, chart_height=HEIGHT)
