"""The transparency report in words (English, French, German): the public page /transparency
and the self-contained HTML that `balise transparency build` writes and prints to PDF.

The figures come from governance/transparency.py, already suppressed; this module only names
them. The public page computes a year's figures at most once per
BALISE_TRANSPARENCY_CACHE_SECONDS, so that anonymous visits cannot make the database count all
reports again and again."""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from balise.domain.error_rates import (
    MIN_DECISIONS,
    OWN_ASSESSMENT_SOURCE,
    UNKNOWN_SOURCE,
)
from balise.domain.transparency import (
    NOT_ENOUGH,
    SECONDARY,
    PeriodError,
    Table,
    TransparencyReport,
)
from balise.web.public import i18n
from balise.web.public.routes import P_, STATIC_DIR, TEMPLATES

router = APIRouter(include_in_schema=False)

TITLES = {
    "indicators_by_year": P_("Indicators in the databases at the end of each year"),
    "indicators_added": P_("Indicators added this year"),
    "submissions_by_state": P_("Submissions by coordinating authorities, by Member State"),
    "reports_by_provider": P_("Reports received, by provider"),
    "reports_forwarded_by_state": P_("Reports forwarded, by Member State"),
    "items_by_type": P_("Items reported, by type of abuse"),
    "items_by_type_and_state": P_("Items reported, by type of abuse and Member State"),
    "items_by_type_and_service": P_("Items reported, by type of abuse and type of service"),
    "manifestly_unfounded": P_("Reports found manifestly unfounded"),
    "not_abuse_by_state": P_("Reports of new material or solicitation assessed as not abuse, by Member State"),
    "searches_by_hosting_state": P_("Searches of publicly accessible services, by hosting Member State"),
    "urls_by_hosting_country": P_("Reported web addresses, by hosting country"),
    "times_reported": P_("How many times the same item was reported"),
    "notices_by_kind": P_("Notices sent"),
    "victims_assisted": P_("Victims assisted"),
    "removal_by_route": P_("Time to removal of reported web addresses, by route"),
    "error_rates": P_("Error rates of detection, by route"),
    "error_rates_by_source": P_("Error rates of detection, by source of the indicators"),
}
POINTS = {"a": "(a)", "b": "(b)", "c": "(c)", "d": "(d)", "e": "(e)", "f": "(f)", "g": "(g)", "h": "(h)",
          "i": "(i)", "j": "(j)"}
COLUMNS = {
    "year": P_("Year"), "indicator_kind": P_("Database"), "indicators": P_("Indicators"),
    "member_state": P_("Member State"), "submissions": P_("Submissions"), "source": P_("Received through"),
    "provider": P_("Provider"), "reports": P_("Reports"), "report_type": P_("Type of abuse"), "items": P_("Items"),
    "service_type": P_("Type of service"), "country": P_("Hosting country"), "urls": P_("Web addresses"),
    "times_reported": P_("Times reported"), "notice_kind": P_("Notice"), "notices": P_("Notices created"),
    "sent": P_("Sent"), "assistance": P_("Assistance"), "victims": P_("Victims"), "route": P_("Route"),
    "notified": P_("Host notified"), "removed": P_("Removed"), "median_hours": P_("Median time to removal (hours)"),
    "within_2.5d": P_("Removed within 2.5 days (%)"), "within_3d": P_("Removed within 3 days (%)"),
    "within_7d": P_("Removed within 7 days (%)"), "detection_route": P_("Detection route"),
    "confirmed": P_("Confirmed"), "overturned": P_("Overturned"), "indicator_source": P_("Source of the indicators"),
    "cannot_assess": P_("Not assessable"), "unassessed": P_("Not decided yet"),
    "false_match_rate": P_("False matches (%)"),
}
# The error-rate tables show their interval's bounds (two columns in the CSV) as one cell.
INTERVAL = P_("95% interval (%)")
# Detection routes and indicator sources (domain/error_rates.py). PDQ bands are worded by
# _detection_route; an imported list is shown by its name, like a provider.
ROUTES = {
    "any_indicator": P_("Any indicator match (each item once)"),
    "md5": P_("Exact hash: MD5"), "sha1": P_("Exact hash: SHA-1"), "sha256": P_("Exact hash: SHA-256"),
    "video_md5": P_("Exact hash: video MD5"), "vpdq": P_("Video similarity (vPDQ)"),
    "provider_flag": P_("The provider's own detection, no indicator match"),
    "public_report": P_("Public report, no indicator match"),
    "hotline_report": P_("Hotline report, no indicator match"),
}
SOURCES = {
    OWN_ASSESSMENT_SOURCE: P_("This centre's assessments (four eyes)"),
    UNKNOWN_SOURCE: P_("Unknown source"),
    "cli": P_("Added one by one by an administrator"),
}
CODES = {
    "known_csam": P_("Known abuse material"), "new_csam": P_("New abuse material"),
    "solicitation": P_("Solicitation of children"), "url": P_("Web addresses (URL list)"),
    "provider_api": P_("Provider (API)"), "ncmec_xml": P_("Provider (CyberTipline format)"),
    "public_form": P_("Public reporting form"), "hotline": P_("Hotline"),
    "hosting": P_("Hosting service"), "interpersonal_communication": P_("Interpersonal communication service"),
    "other": P_("Other"), "europol_only": P_("Europol only (Member State not determined)"),
    "host_notice": P_("Host notified by the centre"), "hotline_referral": P_("Referred to the hotline of the hosting country"),
    "police_forward": P_("Forwarded to the police"), "escalation": P_("Escalated to the coordinating authority"),
    "provider_feedback": P_("Feedback to the provider"),
    "1": P_("Once"), "2": P_("Twice"), "3-5": P_("3 to 5 times"), "6-10": P_("6 to 10 times"), "11+": P_("11 times or more"),
}
NOTES = {
    "searches_not_made": P_("No searches are counted: this installation does not yet search publicly accessible "
                            "services (Article 49). The reported web addresses by hosting country are shown below."),
    "victims_not_recorded": P_("No victims are counted: this installation does not yet receive victims' requests for "
                               "assistance (Article 21)."),
    "error_rates_not_measured": P_("Not measured in this period."),
}
EXPLANATIONS = {
    "error_rates": P_("How often what flagged an item as abuse material was borne out by an analyst's decision. "
                      "An item counts on every route that flagged it. The false-match rate is the share overturned "
                      "among the items decided (confirmed or overturned), with its 95%% confidence interval (Wilson "
                      "score method); below %(min)s decisions it is not given."),
    "error_rates_by_source": P_("The same figures by the list or process the matched indicators came from; an item "
                                "that matched indicators of several sources counts under each."),
}
HEADLINE = {
    "reports": P_("Reports received"), "reports_forwarded": P_("Reports forwarded to law enforcement"),
    "manifestly_unfounded": P_("Reports found manifestly unfounded"), "items": P_("Items reported"),
    "not_abuse": P_("Reports assessed as not abuse"), "indicators": P_("Indicators at the end of the period"),
    "indicators_added": P_("Indicators added"), "indicators_confirmed": P_("Indicators confirmed by a second analyst"),
    "submissions": P_("Submissions by coordinating authorities"),
    "items_reported_more_than_once": P_("Items reported more than once"), "notices_sent": P_("Notices sent"),
    "providers_notified": P_("Hosting providers notified"), "victims_assisted": P_("Victims assisted"),
}
CHARTS = ("indicators_by_year", "reports_by_provider", "reports_forwarded_by_state", "items_by_type",
          "urls_by_hosting_country", "times_reported", "error_rates")
NOT_KNOWN = P_("Not known")


def fewer_than(threshold: int) -> str:
    return i18n.gettext(P_("fewer than %(n)s")) % {"n": threshold}


@dataclass(frozen=True)
class Cell:
    text: str
    number: bool
    withheld: bool


def _code(value: str | None, column: str, locale: str) -> str:
    tr = i18n.gettext
    if value is None:
        return tr(NOT_KNOWN)
    if column in ("member_state", "country") and len(value) == 2 and value.isalpha():
        name = Locale.parse(locale).territories.get(value.upper())
        return f"{name} ({value})" if name else value
    if column == "provider":
        return value
    if column == "detection_route":
        return _detection_route(value)
    if column == "indicator_source":
        return tr(SOURCES[value]) if value in SOURCES else value
    return tr(CODES[value]) if value in CODES else value


def _detection_route(value: str) -> str:
    tr = i18n.gettext
    band = re.fullmatch(r"pdq:(\d+)(?:-(\d+))?", value)
    if band and band.group(2):
        return tr(P_("Picture similarity (PDQ), distance %(low)s to %(high)s")) % {
            "low": band.group(1), "high": band.group(2)}
    if band:
        return tr(P_("Picture similarity (PDQ), distance %(low)s")) % {"low": band.group(1)}
    if value.startswith("pdq:over-"):
        return tr(P_("Picture similarity (PDQ), distance over %(high)s")) % {"high": value.removeprefix("pdq:over-")}
    return tr(ROUTES[value]) if value in ROUTES else value


# Shown with one decimal always (a rate of 20.0 % next to an interval of 11.3 to 31.2).
ONE_DECIMAL = ("false_match_rate", "ci_low", "ci_high")


def _number(value: float, locale: str, fixed: bool = False) -> str:
    return format_decimal(value, "#,##0.0" if fixed else None, locale=locale)


def _cell(value: float | None, reason: str | None, threshold: int, locale: str, fixed: bool = False) -> Cell:
    if value is None:
        text = (i18n.gettext(P_("withheld (protects a smaller figure)")) if reason == SECONDARY
                else i18n.gettext(P_("not enough decisions")) if reason == NOT_ENOUGH
                else fewer_than(threshold) if reason else "–")
        return Cell(text, False, bool(reason))
    return Cell(_number(value, locale, fixed), True, False)


def table_rows(table: Table, threshold: int, locale: str) -> list[tuple[list[str], list[Cell]]]:
    rows = []
    for row in table.rows:
        keys = list(row.keys)
        if table.key == "reports_by_provider":
            keys = [keys[0], keys[1] if keys[1] is not None else "–"]
        names = [(_code(k, c, locale) if k != "–" else "–") for k, c in zip(keys, table.keys, strict=True)]
        rows.append((names, [_cell(v, row.reason(i), threshold, locale, table.measures[i] in ONE_DECIMAL)
                             for i, v in enumerate(row.values)]))
    return rows


def chart_svg(table: Table, threshold: int, locale: str) -> str | None:
    """The table's chart (SVG), or None when there is nothing to draw."""
    from balise.governance.adapters.transparency_files import (
        bar_chart,
        grouped_bar_chart,
    )

    tr = i18n.gettext
    title = tr(TITLES[table.key])
    if table.key == "indicators_by_year":
        years = sorted({r.keys[0] for r in table.rows if r.keys[0]})
        kinds = [k for k in dict.fromkeys(r.keys[1] for r in table.rows) if k]
        values = {(r.keys[0], r.keys[1]): r.values[0] for r in table.rows}
        if not any(values.values()):
            return None
        return grouped_bar_chart(title, years, [(tr(CODES[k]), [values.get((y, k)) for y in years]) for k in kinds])
    if table.key == "error_rates":
        # The false-match rate of each route that has one (ten decisions or more).
        rated = [r for r in table.rows if r.values[4] is not None]
        if not rated:
            return None
        rate = COLUMNS[table.measures[4]]
        return bar_chart(title, [_detection_route(str(r.keys[0])) for r in rated], [r.values[4] for r in rated],
                         value_label=tr(rate))
    shown = [r for r in table.rows if r.values and r.values[0]]
    if not shown:
        return None
    labels = [" / ".join(n for n in names if n != "–") for names, _ in table_rows(
        Table(table.key, table.point, table.keys, table.measures, tuple(shown)), threshold, locale)]
    return bar_chart(title, labels, [r.values[0] for r in shown], value_label=tr(COLUMNS[table.measures[0]]))


def _with_interval(cells: list[Cell]) -> list[Cell]:
    """The last two cells (an interval's bounds) as one: "6.8 – 23.8", or a dash when the
    rate beside it says why there is none."""
    *head, low, high = cells
    if low.number and high.number:
        return [*head, Cell(f"{low.text}\u2009–\u2009{high.text}", True, False)]
    return [*head, Cell("–", False, False)]


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def context(report: TransparencyReport, locale: str, *, charts: dict[str, str] | None = None) -> dict[str, Any]:
    """What the template needs, in ``locale``: every word through the public catalogue."""
    i18n.activate(locale)
    tr = i18n.gettext
    t = report.threshold
    p = report.period
    as_of = (tr(P_("Summed from the monthly figures counted every night; the last count was on %(date)s.")) % {
        "date": format_date(report.error_rates_as_of, "long", locale=locale)} if report.error_rates_as_of
        else tr(P_("Counted when this report was built.")))
    tables = []
    for table in report.tables:
        explanation = EXPLANATIONS.get(table.key)
        columns = [tr(COLUMNS[c]) for c in (*table.keys, *table.measures) if c not in ("ci_low", "ci_high")]
        rows = table_rows(table, t, locale)
        if explanation:
            columns.append(tr(INTERVAL))
            rows = [(names, _with_interval(cells)) for names, cells in rows]
        tables.append({
            "css": "rates" if explanation else "",
            "explanation": tr(explanation) % {"min": MIN_DECISIONS} if explanation else None,
            "as_of": as_of if table.key in EXPLANATIONS else None,
            "key": table.key, "point": POINTS.get(table.point, ""), "title": tr(TITLES[table.key]),
            "columns": columns, "key_count": len(table.keys), "rows": rows,
            "note": tr(NOTES[table.note]) if table.note else None,
            "chart": (charts or {}).get(table.key), "section": table.point,
        })
    headline = [(tr(HEADLINE[k]), _cell(v, report.headline_withheld.get(k), t, locale))
                for k, v in report.headline.items() if k in HEADLINE]
    shown_end = p.end if p.partial else p.end - timedelta(seconds=1)
    return {
        "locale": locale, "report": report, "year": p.year, "tables": tables, "headline": headline,
        "threshold": t, "fewer": fewer_than(t),
        "period_text": tr(P_("From %(start)s to %(end)s")) % {
            "start": format_date(p.start, "long", locale=locale), "end": format_date(shown_end, "long", locale=locale)},
        "built_text": format_date(report.built_at, "long", locale=locale),
        "partial_text": tr(P_("The year is not over: the figures stop on %(date)s.")) % {
            "date": format_date(p.end, "long", locale=locale)} if p.partial else None,
        "languages": i18n.LANGUAGE_NAMES,
    }


def render_html(report: TransparencyReport, locale: str, *, standalone: bool) -> str:
    """The report as an HTML page. ``standalone``: CSS and charts inline, no link anywhere
    (the file `balise transparency build` writes, and what is printed to PDF)."""
    i18n.activate(locale)  # the charts' words too
    charts = {}
    for table in report.tables:
        if table.key in CHARTS:
            svg = chart_svg(table, report.threshold, locale)
            if svg:
                charts[table.key] = data_uri(svg)
    ctx = context(report, locale, charts=charts)
    ctx["standalone"] = standalone
    ctx["css"] = (STATIC_DIR / "transparency.css").read_text(encoding="utf-8") if standalone else ""
    template = TEMPLATES.get_template("transparency.html")
    return template.render(**ctx)


# -- the public page ------------------------------------------------------------------------

class _Cache:
    """Built reports by year, each kept for the configured time; one build at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, TransparencyReport]] = {}

    def get(self, request: Request, year: int) -> TransparencyReport:
        balise = request.app.state.balise
        ttl = balise.settings.transparency_cache_seconds
        with self._lock:
            hit = self._entries.get(year)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                return hit[1]
            with balise.db.sessions() as session:
                report = balise.transparency.build(session, year)
            self._entries[year] = (time.monotonic(), report)
            return report


def _cache(request: Request) -> _Cache:
    state = request.app.state
    cache = getattr(state, "transparency_cache", None)
    if cache is None:
        cache = state.transparency_cache = _Cache()
    return cache


def _page(request: Request, locale: str, year: int) -> Response:
    try:
        report = _cache(request).get(request, year)
    except PeriodError:
        i18n.activate(locale)
        response = TEMPLATES.TemplateResponse(request, "transparency_none.html", {
            "locale": locale, "languages": i18n.LANGUAGE_NAMES, "year": year,
            "here": lambda code: f"/transparency/{code}"}, status_code=404)
        response.headers["content-language"] = locale
        return response
    html = render_html(report, locale, standalone=False)
    return HTMLResponse(html, headers={"content-language": locale, "cache-control": "public, max-age=300"})


def _current_year(request: Request) -> int:
    return int(request.app.state.balise.clock().year)


@router.get("/transparency")
def transparency_index(request: Request) -> Response:
    return RedirectResponse(f"/transparency/{i18n.negotiate(request.headers.get('accept-language'))}", status_code=303)


@router.get("/transparency/{part}")
def transparency_part(request: Request, part: str) -> Response:
    if part in i18n.LOCALES:
        return _page(request, part, _current_year(request))
    if part.isascii() and part.isdigit() and len(part) == 4:
        lang = i18n.negotiate(request.headers.get("accept-language"))
        return RedirectResponse(f"/transparency/{lang}/{part}", status_code=303)
    return HTMLResponse("Not found", status_code=404)


@router.get("/transparency/{lang}/{year}")
def transparency_year(request: Request, lang: str, year: str) -> Response:
    if lang not in i18n.LOCALES or not (year.isascii() and year.isdigit() and len(year) == 4):
        return HTMLResponse("Not found", status_code=404)
    return _page(request, lang, int(year))



# -- the files of `balise transparency build` -----------------------------------------------

def csv_files(report: TransparencyReport) -> dict[str, str]:
    """One CSV per table (and one of the headline figures): codes as column names and keys,
    numbers as numbers, and a withheld cell in words ("fewer than 10") as on the page."""
    from balise.governance.adapters.transparency_files import csv_text

    def shown(value: float | None, reason: str | None) -> object:
        if value is not None:
            return value
        if reason == SECONDARY:
            return "withheld (protects a smaller figure)"
        if reason == NOT_ENOUGH:
            return "not enough decisions"
        return f"fewer than {report.threshold}" if reason else ""

    files = {"headline.csv": csv_text(("figure", "value"), [
        (k, shown(v, report.headline_withheld.get(k))) for k, v in report.headline.items()])}
    for table in report.tables:
        rows = [[("not_known" if k is None else k) for k in row.keys]
                + [shown(v, row.reason(i)) for i, v in enumerate(row.values)] for row in table.rows]
        files[f"{table.key}.csv"] = csv_text((*table.keys, *table.measures), rows)
    return files


def build_files(report: TransparencyReport, locale: str) -> dict[str, bytes]:
    """Every file of the report, by relative path: the HTML page, its PDF, the CSV tables, the
    charts (SVG) and the figures as JSON."""
    import json

    from balise.governance.adapters.transparency_files import pdf_bytes
    from balise.governance.transparency import as_data

    year = report.period.year
    html = render_html(report, locale, standalone=True)
    files: dict[str, bytes] = {
        f"transparency-{year}-{locale}.html": html.encode("utf-8"),
        f"transparency-{year}-{locale}.pdf": pdf_bytes(html),
        f"transparency-{year}.json": json.dumps(as_data(report), indent=2, ensure_ascii=False).encode("utf-8"),
    }
    for name, text in csv_files(report).items():
        files[f"csv/{name}"] = text.encode("utf-8")
    i18n.activate(locale)
    for table in report.tables:
        if table.key in CHARTS:
            svg = chart_svg(table, report.threshold, locale)
            if svg:
                files[f"charts/{table.key}.svg"] = svg.encode("utf-8")
    return files
