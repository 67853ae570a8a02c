"""The Article 83(3) statistics of a year (CSAR Art. 83(3)(a)-(j), DOMAIN.md §7) and the
annual transparency report built from them (Art. 84).

Every figure is one aggregate query (GROUP BY in the database, medians with window functions),
so the work grows with the number of groups, not of rows handed to Python. The cohort of a year
is what arrived in it: reports (and their items, URLs and removals) received in [start, end),
indicators and notices created in it, audit events recorded in it. Counts below the
threshold are withheld (domain/transparency.py). See docs/transparency.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from balise.adapters.db.models import (
    AuditRecord,
    Indicator,
    IndicatorHistory,
    IndicatorSubmission,
    Item,
    Jurisdiction,
    Notice,
    Organisation,
    Report,
    Takedown,
    UrlHosting,
)
from balise.domain.error_rates import Dimension, ErrorRate, Granularity, combine
from balise.domain.submissions import HistoryAction
from balise.domain.transparency import (
    DEFAULT_THRESHOLD,
    NOT_ENOUGH,
    Period,
    Row,
    Table,
    TransparencyReport,
    parse_year,
    period_for,
    suppress,
    suppress_counts,
    suppress_measure,
)
from balise.governance.error_rates import error_rates_for_period, stored_figures

FORWARDED = ("forwarded_europol_and_state", "forwarded_europol_only")
INDICATOR_KINDS = ("known_csam", "new_csam", "solicitation", "url")
ROUTES = ("host_notice", "hotline_referral")
TIMES_BUCKETS = ("1", "2", "3-5", "6-10", "11+")
WINDOWS = (("2.5d", 2.5), ("3d", 3.0), ("7d", 7.0))
ERROR_MEASURES = ("confirmed", "overturned", "cannot_assess", "unassessed", "false_match_rate", "ci_low", "ci_high")


def _sum(groups: list[tuple[tuple[Any, ...], int]],
         key: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], int]]:
    """Counts of aggregate groups added up under a coarser key (a few hundred groups, not rows)."""
    totals: dict[tuple[Any, ...], int] = {}
    for keys, count in groups:
        k = key(keys)
        totals[k] = totals.get(k, 0) + count
    return list(totals.items())


def first_event(session: Session) -> datetime | None:
    """When this installation recorded its first audit event (every change is audited)."""
    return session.execute(select(func.min(AuditRecord.occurred_at))).scalar_one_or_none()


def resolve_period(session: Session, year: int | str, now: datetime) -> Period:
    """The period of ``year``, or PeriodError saying why it cannot be reported."""
    value = parse_year(str(year)) if not isinstance(year, int) else year
    return period_for(value, now, first_event(session))


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


class Transparency:
    def __init__(self, clock: Callable[[], datetime], threshold: int = DEFAULT_THRESHOLD) -> None:
        self._clock = clock
        self.threshold = threshold

    def build(self, session: Session, year: int | str) -> TransparencyReport:
        now = self._clock()
        period = resolve_period(session, year, now)
        return self.compute(session, period, now)

    def compute(self, session: Session, period: Period, built_at: datetime | None = None) -> TransparencyReport:
        t = self.threshold
        start, end = period.start, period.end
        in_period = and_(Report.created_at >= start, Report.created_at < end)
        counts: dict[str, int] = {}
        tables: list[Table] = []

        def table(key: str, point: str, keys: tuple[str, ...], raw: list[tuple[tuple[Any, ...], int]], measure: str,
                  chart: str | None = None) -> list[tuple[tuple[Any, ...], int]]:
            raw = sorted(raw, key=lambda r: (-r[1], tuple(str(k) for k in r[0])))
            tables.append(Table(key, point, keys, (measure,), suppress_counts(raw, t), chart=chart))
            return raw

        def counted(key: str, point: str, keys: tuple[str, ...], query: Any, measure: str,
                    chart: str | None = None) -> list[tuple[tuple[Any, ...], int]]:
            return table(key, point, keys, [(tuple(r[:-1]), int(r[-1])) for r in session.execute(query).all()],
                         measure, chart)

        # (a) indicators in the databases at the end of each year since the first, and added this year.
        first = first_event(session) or start
        trend: list[tuple[tuple[Any, ...], int]] = []
        for year in range(first.year, period.year + 1):
            year_end = min(datetime(year + 1, 1, 1, tzinfo=UTC), end)
            present = and_(Indicator.created_at < year_end, Indicator.status.not_in(("candidate", "candidate_awaiting_authority")),
                           or_(Indicator.status != "deleted", Indicator.updated_at >= year_end))
            by_kind = dict(session.execute(select(Indicator.kind, func.count()).where(present)
                                           .group_by(Indicator.kind)).all())
            trend += [((str(year), kind), int(by_kind.get(kind, 0))) for kind in INDICATOR_KINDS]
        tables.append(Table("indicators_by_year", "a", ("year", "indicator_kind"), ("indicators",),
                            tuple(Row(k, *((v,), (r,))) for (k, c) in trend for v, r in [suppress(c, t)]),
                            chart="line"))
        counts["indicators"] = sum(c for (k, c) in trend if k[0] == str(period.year))
        added = counted("indicators_added", "a", ("indicator_kind",),
                        select(Indicator.kind, func.count()).where(
                            Indicator.created_at >= start, Indicator.created_at < end,
                            # A rejected candidate is deleted: it was never in the databases.
                            Indicator.status.in_(("active", "suspended"))).group_by(Indicator.kind), "indicators")
        counts["indicators_added"] = sum(c for _, c in added)
        counts["indicators_confirmed"] = int(session.execute(
            select(func.count()).select_from(AuditRecord).where(
                AuditRecord.event_type == "indicator:confirm", AuditRecord.occurred_at >= start,
                AuditRecord.occurred_at < end)).scalar_one())

        # (b) Article 36 submissions received in the year, by the Member State of the submitting
        # authority (a court decision entered by staff has none: "not known") and by database,
        # with the indicators they generated: created from them, or the centre's candidates they
        # confirmed (a reconfirmation generates nothing new).
        generated = (select(IndicatorHistory.submission_id, func.count().label("n"))
                     .where(IndicatorHistory.action.in_((HistoryAction.CREATED.value,
                                                         HistoryAction.AUTHORITY_CONFIRMED.value)),
                            IndicatorHistory.submission_id.is_not(None))
                     .group_by(IndicatorHistory.submission_id).subquery())
        submission_rows = sorted(((state, kind, int(n), int(g or 0)) for state, kind, n, g in session.execute(
            select(Organisation.country, IndicatorSubmission.kind, func.count(), func.sum(generated.c.n))
            .select_from(IndicatorSubmission)
            .outerjoin(Organisation, Organisation.id == IndicatorSubmission.organisation_id)
            .outerjoin(generated, generated.c.submission_id == IndicatorSubmission.id)
            .where(IndicatorSubmission.received_at >= start, IndicatorSubmission.received_at < end)
            .group_by(Organisation.country, IndicatorSubmission.kind)).all()),
            key=lambda r: (-r[2], str(r[0]), r[1]))
        submitted = suppress_counts([((s, k), n) for s, k, n, _ in submission_rows], t)
        generated_cells = suppress_counts([((s, k), g) for s, k, _, g in submission_rows], t)
        tables.append(Table("submissions_by_state", "b", ("member_state", "indicator_kind"),
                            ("submissions", "indicators"), tuple(
            Row(a.keys, (a.values[0], b.values[0]), (a.reason(0), b.reason(0)))
            for a, b in zip(submitted, generated_cells, strict=True))))
        counts["submissions"] = sum(n for _, _, n, _ in submission_rows)

        # One pass over the year's reports, grouped by everything (c) and (e) break them down
        # by; the tables are sums of these few groups.
        provider = case((Report.source.in_(("provider_api", "ncmec_xml")), Organisation.name), else_=literal(None))
        report_groups = [(tuple(r[:-1]), int(r[-1])) for r in session.execute(
            select(Report.source, provider, Report.state, Report.report_type, Jurisdiction.member_state, func.count())
            .select_from(Report).outerjoin(Organisation, Organisation.id == Report.organisation_id)
            .outerjoin(Jurisdiction, Jurisdiction.report_id == Report.id).where(in_period)
            .group_by(Report.source, provider, Report.state, Report.report_type, Jurisdiction.member_state)).all()]

        # (c) reports received, by provider; reports forwarded, by Member State.
        by_provider = table("reports_by_provider", "c", ("source", "provider"),
                            _sum(report_groups, lambda g: (g[0], g[1])), "reports", chart="bar")
        counts["reports"] = sum(c for _, c in by_provider)
        forwarded = table("reports_forwarded_by_state", "c", ("member_state",),
                          _sum([g for g in report_groups if g[0][2] in FORWARDED],
                               lambda g: ("europol_only" if g[2] == "forwarded_europol_only" else g[4],)),
                          "reports", chart="bar")
        counts["reports_forwarded"] = sum(c for _, c in forwarded)

        # (d) items by type of abuse, by Member State and by type of service; and (h) on the
        # first report of each content (same SHA-256, or the same picture by PDQ), how many
        # times it was reported. One pass over the year's items.
        times = case((or_(Item.duplicate_of.is_not(None), Item.kind == "url"), literal(None)),
                     (Item.times_reported <= 1, literal("1")), (Item.times_reported == 2, literal("2")),
                     (Item.times_reported <= 5, literal("3-5")), (Item.times_reported <= 10, literal("6-10")),
                     else_=literal("11+"))
        item_groups = [(tuple(r[:-1]), int(r[-1])) for r in session.execute(
            select(Report.report_type, Jurisdiction.member_state, Report.service_type, times, func.count())
            .select_from(Item).join(Report, Report.id == Item.report_id)
            .outerjoin(Jurisdiction, Jurisdiction.report_id == Report.id).where(in_period)
            .group_by(Report.report_type, Jurisdiction.member_state, Report.service_type, times)).all()]
        by_type = table("items_by_type", "d", ("report_type",), _sum(item_groups, lambda g: (g[0],)), "items",
                        chart="bar")
        counts["items"] = sum(c for _, c in by_type)
        table("items_by_type_and_state", "d", ("report_type", "member_state"),
              _sum(item_groups, lambda g: (g[0], g[1])), "items")
        table("items_by_type_and_service", "d", ("report_type", "service_type"),
              _sum(item_groups, lambda g: (g[0], g[2])), "items")

        # (e) manifestly unfounded reports.
        unfounded = table("manifestly_unfounded", "e", ("report_type",),
                          _sum([g for g in report_groups if g[0][2] == "manifestly_unfounded"], lambda g: (g[3],)),
                          "reports")
        counts["manifestly_unfounded"] = sum(c for _, c in unfounded)

        # (f) reports of potential new material or solicitation assessed as not abuse: at least
        # one item assessed not illegal and none illegal.
        verdicts = (select(Item.report_id.label("report_id"),
                           func.sum(case((Item.outcome == "illegal", 1), else_=0)).label("illegal"),
                           func.sum(case((Item.outcome == "not_illegal", 1), else_=0)).label("not_illegal"))
                    .join(Report, Report.id == Item.report_id)
                    .where(in_period, Report.report_type.in_(("new_csam", "solicitation")))
                    .group_by(Item.report_id).subquery())
        not_abuse = counted("not_abuse_by_state", "f", ("member_state",),
                            select(Jurisdiction.member_state, func.count()).select_from(Report)
                            .join(verdicts, verdicts.c.report_id == Report.id)
                            .outerjoin(Jurisdiction, Jurisdiction.report_id == Report.id)
                            .where(in_period, Report.report_type.in_(("new_csam", "solicitation")),
                                   verdicts.c.illegal == 0, verdicts.c.not_illegal > 0)
                            .group_by(Jurisdiction.member_state), "reports")
        counts["not_abuse"] = sum(c for _, c in not_abuse)

        # (g) searches of publicly accessible services (Art. 49): none are made yet; the
        # reported URLs by the country that hosts them are the nearest figure that exists.
        tables.append(Table("searches_by_hosting_state", "g", ("member_state",), ("items",), (),
                            note="searches_not_made"))
        counted("urls_by_hosting_country", "g", ("country",),
                select(UrlHosting.hosted_country, func.count()).select_from(UrlHosting)
                .join(Report, Report.id == UrlHosting.report_id).where(in_period)
                .group_by(UrlHosting.hosted_country), "urls", chart="bar")

        # (h) how many times the same item was reported (counted in the pass over items above).
        raw = _sum([g for g in item_groups if g[0][3] is not None], lambda g: (g[3],))
        found = {k[0]: c for k, c in raw}
        tables.append(Table("times_reported", "h", ("times_reported",), ("items",),
                            suppress_counts([((b,), found.get(b, 0)) for b in TIMES_BUCKETS], t), chart="bar"))
        counts["items_reported_more_than_once"] = sum(c for k, c in found.items() if k != "1")

        # (i) notices sent and providers notified.
        sent = Notice.status.in_(("sent", "acknowledged"))
        notice_rows = session.execute(
            select(Notice.kind, func.count(), func.sum(case((sent, 1), else_=0)))
            .where(Notice.created_at >= start, Notice.created_at < end).group_by(Notice.kind)).all()
        notice_rows = sorted(notice_rows, key=lambda r: (-int(r[1]), r[0]))
        created_cells = {r.keys[0]: (r.values[0], r.reason(0))
                         for r in suppress_counts([((k,), int(n)) for k, n, _ in notice_rows], t)}
        sent_cells = {r.keys[0]: (r.values[0], r.reason(0))
                      for r in suppress_counts([((k,), int(s or 0)) for k, _, s in notice_rows], t)}
        tables.append(Table("notices_by_kind", "i", ("notice_kind",), ("notices", "sent"), tuple(
            Row((k,), (created_cells[k][0], sent_cells[k][0]), (created_cells[k][1], sent_cells[k][1]))
            for k, _, _ in notice_rows)))
        counts["notices_sent"] = sum(int(s or 0) for _, _, s in notice_rows)
        counts["providers_notified"] = int(session.execute(
            select(func.count(func.distinct(func.lower(Notice.recipient)))).where(
                Notice.kind == "host_notice", sent, Notice.created_at >= start, Notice.created_at < end)
        ).scalar_one())

        # (j) victims assisted (Art. 21): no victims' requests are received yet.
        tables.append(Table("victims_assisted", "j", ("assistance",), ("victims",), (),
                            note="victims_not_recorded"))
        counts["victims_assisted"] = 0

        # Removal of reported URLs, by the route that asked for it (DOMAIN.md §7).
        tables.append(self._removal(session, start, end))

        # Measured error rates of detection (docs/oversight.md), per route and per indicator source.
        rates, rates_as_of = year_error_rates(session, start, end)
        tables.append(self._error_table("error_rates", "detection_route",
                                        [r for r in rates if r.dimension is Dimension.ROUTE]))
        tables.append(self._error_table("error_rates_by_source", "indicator_source",
                                        [r for r in rates if r.dimension is Dimension.SOURCE]))

        demo = bool(session.execute(select(func.count()).select_from(Report)
                                    .where(in_period, Report.is_demo.is_(True))).scalar_one())
        headline: dict[str, int | None] = {}
        withheld: dict[str, str] = {}
        for key, value in counts.items():
            shown, reason = suppress(value, t)
            headline[key] = shown
            if reason:
                withheld[key] = reason
        return TransparencyReport(period=period, threshold=t, built_at=built_at or self._clock(), demo=demo,
                                  headline=headline, headline_withheld=withheld, tables=tuple(tables),
                                  error_rates_as_of=rates_as_of)

    def _error_table(self, key: str, column: str, rates: list[ErrorRate]) -> Table:
        """Each count suppressed like every other count of the report; the rate and its interval
        (in %) given from :data:`~balise.domain.error_rates.MIN_DECISIONS` decisions up, and, like
        the report's other shares, withheld when they are over fewer decisions than the threshold."""
        t = self.threshold
        rows = []
        for rate in rates:
            tally = rate.tally
            cells = [suppress(v, t) for v in (tally.confirmed, tally.overturned, tally.cannot_assess, tally.unassessed)]
            if tally.interval is None or tally.false_match_rate is None:
                cells += [(None, NOT_ENOUGH)] * 3
            else:
                cells += [suppress_measure(tally.decided, round(100.0 * v, 1), t)
                          for v in (tally.false_match_rate, *tally.interval)]
            rows.append(Row((rate.key,), tuple(v for v, _ in cells), tuple(r for _, r in cells)))
        decided = any(r.tally.decided for r in rates)
        return Table(key, "error_rates", (column,), ERROR_MEASURES, tuple(rows),
                     note=None if decided else "error_rates_not_measured")

    def _removal(self, session: Session, start: datetime, end: datetime) -> Table:
        """Median time from receipt to removal and the shares removed within 2.5, 3 and 7 days,
        per route (host notified by the centre, or referred to the hotline of the hosting
        country), over the URLs whose host was notified: as `balise stats ntd` measures."""
        t = self.threshold
        route_of = (select(Notice.item_id.label("item_id"), func.min(Notice.kind).label("route"))
                    .where(Notice.kind.in_(ROUTES), Notice.item_id.is_not(None))
                    .group_by(Notice.item_id).subquery())
        route = func.coalesce(route_of.c.route, literal("other"))
        seconds = _seconds(session, Takedown.removed_at, Takedown.received_at)
        base = (select(route.label("route"), Takedown.removed_at.label("removed_at"), seconds.label("seconds"))
                .select_from(Takedown).outerjoin(route_of, route_of.c.item_id == Takedown.item_id)
                .where(Takedown.received_at >= start, Takedown.received_at < end,
                       Takedown.host_notified_at.is_not(None)).subquery())
        within = [func.sum(case((and_(base.c.removed_at.is_not(None), base.c.seconds <= days * 86400), 1), else_=0))
                  for _, days in WINDOWS]
        totals = {r[0]: r[1:] for r in session.execute(
            select(base.c.route, func.count(), func.count(base.c.removed_at), *within).group_by(base.c.route)).all()}
        ranked = (select(base.c.route, base.c.seconds,
                         func.row_number().over(partition_by=base.c.route, order_by=base.c.seconds).label("rn"),
                         func.count().over(partition_by=base.c.route).label("n"))
                  .where(base.c.removed_at.is_not(None)).subquery())
        medians = dict(session.execute(
            select(ranked.c.route, func.avg(ranked.c.seconds))
            .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
            .group_by(ranked.c.route)).all())
        rows = []
        for name in sorted(totals, key=lambda r: (r not in ROUTES, r)):
            notified, removed, *inside = (int(v or 0) for v in totals[name])
            n_shown, n_reason = suppress(notified, t)
            r_shown, r_reason = suppress(removed, t)
            median = medians.get(name)
            hours = None if median is None else round(float(median) / 3600.0, 1)
            m_shown, m_reason = suppress_measure(removed, hours, t)
            shares: list[tuple[float | None, str | None]] = [
                suppress_measure(notified, round(100.0 * n / notified, 1) if notified else None, t) for n in inside]
            rows.append(Row((name,), (n_shown, r_shown, m_shown, *(s[0] for s in shares)),
                            (n_reason, r_reason, m_reason, *(s[1] for s in shares))))
        return Table("removal_by_route", "removal", ("route",),
                     ("notified", "removed", "median_hours", *(f"within_{w}" for w, _ in WINDOWS)), tuple(rows))


def year_error_rates(session: Session, start: datetime, end: datetime) -> tuple[list[ErrorRate], datetime | None]:
    """The error rates of the items received in [start, end), per route and indicator source:
    the sums of the monthly figures the nightly job stored (counts add up exactly; the rates
    and intervals are recomputed from the sums), and, for the months it stored nothing for,
    counted now (one pass per run of such months). Also when the job last ran, if its figures
    were used (None: everything was counted now)."""
    stored = stored_figures(session, start, end, Granularity.MONTH)
    rates: list[ErrorRate] = []
    missing: list[tuple[datetime, datetime]] = []
    for month in stored.series:
        if month.rates:
            rates += month.rates
        elif missing and missing[-1][1] == month.start:
            missing[-1] = (missing[-1][0], month.end)
        else:
            missing.append((month.start, month.end))
    for first, following in missing:
        rates += error_rates_for_period(session, max(first, start), min(following, end))
    used_stored = any(month.rates for month in stored.series)
    return combine(rates), stored.computed_at if used_stored else None


def years_available(session: Session, now: datetime) -> list[int]:
    """The years that can be reported on, newest first."""
    first = first_event(session)
    if first is None:
        return []
    return list(range(now.year, first.year - 1, -1))


def as_data(report: TransparencyReport) -> dict[str, Any]:
    """The report as plain data (JSON), codes and numbers only."""
    return {
        "period": report.period.as_dict(), "threshold": report.threshold, "built_at": report.built_at.isoformat(),
        "demo": report.demo,
        "error_rates_as_of": report.error_rates_as_of.isoformat() if report.error_rates_as_of else None,
        "headline": report.headline, "headline_withheld": report.headline_withheld,
        "tables": [{"key": t.key, "point": t.point, "keys": list(t.keys), "measures": list(t.measures),
                    "note": t.note, "rows": [{"keys": list(r.keys), "values": list(r.values),
                                              "withheld": list(r.withheld)} for r in t.rows]}
                   for t in report.tables],
    }

