"""The indicator database: add, change status, import, export, stats, sync by version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO

from sqlalchemy import JSON, String, any_, bindparam, exists, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.bulk_load import first_load
from balise.adapters.db.models import Indicator, IndicatorHistory, IndicatorVersion, UTCDateTime
from balise.detection.provenance import record_history
from balise.detection import formats
from balise.detection.formats import Candidate, ExportReport, ImportAborted, ImportReport
from balise.domain.audit import AuditEvent
from balise.domain.indicators import (
    MEDIA_TYPE,
    Algorithm,
    IndicatorKind,
    IndicatorStatus,
    InvalidIndicator,
    clean_frames,
    normalise_value,
    validate_classification,
    vpdq_fingerprint,
)
from balise.domain.submissions import HistoryAction
from balise.governance.audit import AuditTrail

BATCH = 2000
__all__ = ["Backing", "Candidate", "ExportReport", "ImportAborted", "ImportReport", "Indicators"]


@dataclass(frozen=True)
class Backing:
    """The Article 36 submission an import rests on (detection/submissions.py): each indicator
    it creates or changes keeps the submission and gets a history row (CSAR Art. 44(4))."""

    submission_id: int
    provenance: dict[str, Any]  # id, authority, reference, process
    actor: str  # as the history writes it (provenance.actor_label)


def candidates_by_item(session: Session) -> dict[str, list[Indicator]]:
    """Candidate indicators waiting for a second pair of eyes, grouped by the item whose
    assessment proposed them (``provenance.assessment.item``), each group in id order. A
    candidate without that provenance is its own group, keyed ``indicator:<id>``."""
    groups: dict[str, list[Indicator]] = {}
    rows = session.execute(select(Indicator).where(Indicator.status == IndicatorStatus.CANDIDATE.value)
                           .order_by(Indicator.id)).scalars()
    for indicator in rows:
        item = ((indicator.provenance or {}).get("assessment") or {}).get("item")
        groups.setdefault(str(item) if item else f"indicator:{indicator.id}", []).append(indicator)
    return groups


def proposed_by(indicator: Indicator) -> str | None:
    """The id of the analyst whose assessment proposed this candidate, if recorded."""
    value = ((indicator.provenance or {}).get("assessment") or {}).get("assessed_by")
    return str(value) if value else None


class Indicators:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock

    # -- versions --------------------------------------------------------------------------

    def reserve_versions(self, session: Session, count: int) -> int:
        """Reserve ``count`` consecutive versions; returns the first. The counter row is
        locked until the transaction ends, so versions are handed out in commit order."""
        row = session.execute(
            select(IndicatorVersion).where(IndicatorVersion.id == 1).with_for_update()
        ).scalar_one()
        first = row.version + 1
        row.version += count
        session.flush()
        return first

    def current_version(self, session: Session) -> int:
        return session.execute(select(IndicatorVersion.version).where(IndicatorVersion.id == 1)).scalar_one()

    # -- single changes --------------------------------------------------------------------

    def add(
        self,
        session: Session,
        actor: Actor,
        *,
        algorithm: Algorithm,
        value: str,
        kind: IndicatorKind,
        provenance: dict[str, Any],
        classification: dict[str, Any] | None = None,
        media_type: str | None = None,
        quality: int | None = None,
        language: str | None = None,
        submission_id: int | None = None,
    ) -> Indicator:
        value = normalise_value(algorithm, value)
        classification = validate_classification(classification)
        existing = session.execute(
            select(Indicator).where(Indicator.algorithm == algorithm.value, Indicator.value == value)
        ).scalar_one_or_none()
        version = self.reserve_versions(session, 1)
        now = self._clock()
        if existing is not None:
            existing.kind = kind.value
            existing.classification = classification or existing.classification
            existing.status = IndicatorStatus.ACTIVE.value
            existing.provenance = {**(existing.provenance or {}), "reconfirmed": provenance}
            existing.version = version
            existing.updated_at = now
            existing.submission_id = existing.submission_id or submission_id
            indicator = existing
        else:
            indicator = Indicator(
                kind=kind.value, media_type=media_type or MEDIA_TYPE[algorithm], algorithm=algorithm.value,
                value=value, quality=quality, language=language, classification=classification or None,
                provenance=provenance, status=IndicatorStatus.ACTIVE.value, version=version,
                created_at=now, updated_at=now, submission_id=submission_id,
            )
            session.add(indicator)
        session.flush()
        record_history(session, indicator, HistoryAction.RECONFIRMED if existing is not None else HistoryAction.CREATED,
                       actor, now, submission_id=indicator.submission_id, detail={"provenance": provenance})
        self._audit.record(
            session, AuditEvent.INDICATOR_CREATE, actor, "indicator", str(indicator.id),
            "add indicator", {"algorithm": algorithm.value, "kind": kind.value, "version": version},
        )
        return indicator

    def add_vpdq(
        self,
        session: Session,
        actor: Actor,
        *,
        frames: list[tuple[int, int, str, float]],
        kind: IndicatorKind,
        provenance: dict[str, Any],
        classification: dict[str, Any] | None = None,
        submission_id: int | None = None,
    ) -> Indicator:
        """A video indicator: its vPDQ frames (frame_number, quality, pdq, timestamp)."""
        clean = clean_frames(frames)
        fingerprint = vpdq_fingerprint(clean)
        classification = validate_classification(classification)
        existing = session.execute(
            select(Indicator).where(Indicator.algorithm == Algorithm.VPDQ.value, Indicator.value == fingerprint)
        ).scalar_one_or_none()
        version = self.reserve_versions(session, 1)
        now = self._clock()
        if existing is not None:
            existing.status, existing.version, existing.updated_at = IndicatorStatus.ACTIVE.value, version, now
            existing.kind = kind.value
            existing.submission_id = existing.submission_id or submission_id
            indicator = existing
        else:
            indicator = Indicator(
                kind=kind.value, media_type="video", algorithm=Algorithm.VPDQ.value, value=fingerprint,
                classification=classification or None, provenance=provenance, frames=clean,
                status=IndicatorStatus.ACTIVE.value, version=version, created_at=now, updated_at=now,
                submission_id=submission_id,
            )
            session.add(indicator)
        session.flush()
        record_history(session, indicator, HistoryAction.RECONFIRMED if existing is not None else HistoryAction.CREATED,
                       actor, now, submission_id=indicator.submission_id, detail={"provenance": provenance})
        self._audit.record(
            session, AuditEvent.INDICATOR_CREATE, actor, "indicator", str(indicator.id),
            "add video indicator", {"algorithm": "vpdq", "frames": len(clean), "version": version},
        )
        return indicator

    def set_status(
        self, session: Session, actor: Actor, indicator_id: int, status: IndicatorStatus, reason: str
    ) -> Indicator:
        indicator = session.get(Indicator, indicator_id)
        if indicator is None:
            raise InvalidIndicator(f"no indicator {indicator_id}")
        indicator.status = status.value
        indicator.version = self.reserve_versions(session, 1)
        indicator.updated_at = self._clock()
        record_history(session, indicator, HistoryAction.STATUS, actor, indicator.updated_at,
                       detail={"reason": reason[:300]})
        self._audit.record(
            session, AuditEvent.INDICATOR_STATUS, actor, "indicator", str(indicator.id), reason,
            {"status": status.value, "version": indicator.version},
        )
        return indicator

    # -- import ----------------------------------------------------------------------------

    def parse_lines(
        self, lines: Iterable[str], fmt: str, default_kind: IndicatorKind, report: ImportReport
    ) -> Iterator[Candidate]:
        """Yield valid candidates of CSV or ThreatExchange text lines; invalid lines go into
        ``report``. Raises ImportAborted for a problem with the file as a whole."""
        if fmt == "te":
            return formats.read_te(lines, default_kind, report)
        if fmt == "csv":
            return formats.read_csv(lines, default_kind, report)
        raise ImportAborted(f"unknown format {fmt!r} for text lines (csv or te)")

    def import_lines(
        self,
        session: Session,
        actor: Actor,
        lines: Iterable[str],
        *,
        fmt: str,
        source: str,
        default_kind: IndicatorKind = IndicatorKind.KNOWN_CSAM,
        backing: Backing | None = None,
    ) -> ImportReport:
        """Stream-import in the caller's transaction: commit it to keep the result, roll it back
        (or let ImportAborted propagate) to keep nothing."""
        report = ImportReport()
        return self._import(session, actor, self.parse_lines(lines, fmt, default_kind, report), report,
                            fmt=fmt, source=source, backing=backing)

    def import_stream(
        self,
        session: Session,
        actor: Actor,
        binary: BinaryIO,
        *,
        fmt: str,
        source: str,
        default_kind: IndicatorKind = IndicatorKind.KNOWN_CSAM,
        backing: Backing | None = None,
    ) -> ImportReport:
        """Stream-import a file of any format (formats.FORMATS), compressed or not, in the
        caller's transaction. A zip bomb, bytes that are not UTF-8 or broken JSON / XML raise
        ImportAborted: roll back, nothing is kept."""
        report = ImportReport()
        candidates = formats.read(fmt, formats.open_input(binary), default_kind, report)
        if fmt == "vics":
            candidates = _vics_policy(candidates, report)
        return self._import(session, actor, candidates, report, fmt=fmt, source=source, backing=backing)

    def import_candidates(self, session: Session, actor: Actor, candidates: Iterable[Candidate],
                          report: ImportReport, *, fmt: str, source: str) -> ImportReport:
        """Import candidates read elsewhere (a partner's exchange feed) in the caller's transaction."""
        return self._import(session, actor, candidates, report, fmt=fmt, source=source)

    def _import(self, session: Session, actor: Actor, candidates: Iterable[Candidate], report: ImportReport,
                *, fmt: str, source: str, backing: Backing | None = None) -> ImportReport:
        postgresql = session.get_bind().dialect.name == "postgresql"
        # The lookup of each page is planned anew (_flush); the mode is put back after it.
        plan_mode = (session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
                     if postgresql else None)
        analyze_at = BATCH
        written = _Written(session)
        with first_load(session, ("indicators", "indicator_history")):
            for batch in _pages(candidates, BATCH):
                self._flush(session, batch, source, report, backing, plan_mode, written)
                if report.imported >= analyze_at and postgresql:
                    # A table without statistics (a new installation's first import) is taken
                    # for a few pages, and the existing-rows lookup then reads every row of the
                    # algorithm per page (a filter, not the (algorithm, value) index): 140 s of a
                    # million-line import. ANALYZE counts this transaction's own new rows;
                    # at 2, 4, 8… thousand imported rows it costs a few runs of ~0.1 s.
                    session.execute(text("ANALYZE indicators"))
                    analyze_at *= 2
        self._audit.record(
            session, AuditEvent.INDICATOR_IMPORT, actor, "indicators", source, "import indicator list",
            {"format": fmt, "read": report.read, "imported": report.imported, "updated": report.updated,
             "unchanged": report.unchanged, "rejected": report.rejected,
             "versions": [report.first_version, report.last_version],
             **({"submission": backing.submission_id} if backing else {})},
        )
        return report

    def _flush(self, session: Session, batch: list[Candidate], source: str, report: ImportReport,
               backing: Backing | None, plan_mode: str | None, written: _Written) -> None:
        # The same value twice in one file: the later line wins.
        latest: dict[tuple[str, str], Candidate] = {}
        for c in batch:
            if (c.algorithm.value, c.value) in latest:
                report.unchanged += 1
            latest[(c.algorithm.value, c.value)] = c
        # One query per algorithm with `value IN (…)`: an index range scan on (algorithm, value).
        # A row-value IN over both columns was planned by PostgreSQL as a scan of the table per
        # page (quadratic in the list's size: most of a million-line import's time).
        by_algorithm: dict[str, list[str]] = {}
        for algorithm, value in written.unknown(latest):
            by_algorithm.setdefault(algorithm, []).append(value)
        postgresql = session.get_bind().dialect.name == "postgresql"
        if by_algorithm and postgresql:
            # psycopg prepares a statement run five times; PostgreSQL may then keep a generic plan
            # made while the table was empty (a scan of the table), and each later page of a long
            # import scans everything imported before it. Plan each page's lookup for what it is,
            # and only the lookup: the foreign-key checks of every row COPY writes run cached
            # plans, and planned anew per row they took half of PostgreSQL's time in an import.
            session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        existing = {
            (row.algorithm, row.value): row
            for algorithm, values in by_algorithm.items()
            for row in session.execute(
                select(Indicator.id, Indicator.algorithm, Indicator.value, Indicator.kind, Indicator.status,
                       Indicator.classification, Indicator.submission_id)
                # On PostgreSQL one array parameter (`= ANY`): the same statement every page,
                # where an IN list of 2,000 parameters was compiled and converted anew each time.
                .where(Indicator.algorithm == algorithm,
                       Indicator.value == any_(bindparam("values", values, type_=ARRAY(String))) if postgresql
                       else Indicator.value.in_(values))
            )
        }
        if by_algorithm and postgresql:
            session.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": plan_mode})
        new = [c for k, c in latest.items() if k not in existing]
        written.add(k for k in latest if k not in existing)
        changed = [
            (existing[k].id, c) for k, c in latest.items()
            if k in existing and (existing[k].kind != c.kind.value or existing[k].status != c.status.value
                                  or (c.classification and existing[k].classification != c.classification)
                                  # an indicator no authority backed yet: this decision now does
                                  or (backing is not None and existing[k].submission_id is None))
        ]
        report.unchanged += len(latest) - len(new) - len(changed)
        needed = len(new) + len(changed)
        if not needed:
            return
        first = self.reserve_versions(session, needed)
        report.first_version = report.first_version or first
        report.last_version = first + needed - 1
        now = self._clock()
        submission_id = backing.submission_id if backing else None
        if new:
            # Ids are handed out in increasing order, so this page's rows have ids above the
            # highest before it: the history below finds them through the primary key, which
            # a first load keeps (the version index is rebuilt only at its end).
            floor = session.execute(select(func.coalesce(func.max(Indicator.id), 0))).scalar_one()
            if postgresql:
                _copy_indicators(session, new, first, now, submission_id, _provenance_json(source, backing))
            else:
                session.execute(insert(Indicator), [  # one executemany
                    {"kind": c.kind.value, "media_type": c.media_type, "algorithm": c.algorithm.value,
                     "value": c.value, "quality": c.quality, "language": c.language,
                     "classification": c.classification or None,
                     # On PostgreSQL written by _provenance_json, which must give this same JSON.
                     "provenance": ({"source": source, "line": c.line, "submission": backing.provenance} if backing
                                    else {"source": source, "line": c.line}),
                     "status": c.status.value, "frames": c.frames,
                     "version": first + i, "created_at": now, "updated_at": now, "submission_id": submission_id}
                    for i, c in enumerate(new)])
            report.imported += len(new)
            if backing is not None:
                # The page's history in one statement: the new rows hold exactly these versions.
                detail = {**{k: v for k, v in backing.provenance.items() if k != "id"}, "source": source}
                session.execute(insert(IndicatorHistory).from_select(
                    ["indicator_id", "at", "action", "status", "actor", "submission_id", "detail"],
                    select(Indicator.id, literal(now, UTCDateTime), literal(HistoryAction.CREATED.value, String),
                           Indicator.status, literal(backing.actor, String), literal(submission_id),
                           literal(detail, JSON))
                    .where(Indicator.id > floor, Indicator.version.between(first, first + len(new) - 1))))
        history: list[dict[str, Any]] = []
        waiting = (IndicatorStatus.CANDIDATE.value, IndicatorStatus.AWAITING_AUTHORITY.value)
        for j, (indicator_id, c) in enumerate(changed, start=len(new)):
            values: dict[str, Any] = {"kind": c.kind.value, "status": c.status.value, "version": first + j,
                                      "updated_at": now}
            if c.classification:
                values["classification"] = c.classification
            if backing is not None:
                before = existing[(c.algorithm.value, c.value)]
                values["submission_id"] = before.submission_id or submission_id
                confirmed = before.status in waiting and c.status.value == IndicatorStatus.ACTIVE.value
                if confirmed:
                    values["awaiting_since"] = values["authority_due_at"] = None
                history.append({
                    "indicator_id": indicator_id, "at": now, "status": c.status.value, "actor": backing.actor,
                    "action": (HistoryAction.AUTHORITY_CONFIRMED if confirmed else HistoryAction.RECONFIRMED).value,
                    "submission_id": submission_id,
                    "detail": {**{k: v for k, v in backing.provenance.items() if k != "id"}, "source": source,
                               "line": c.line, "status_before": before.status}})
            session.execute(update(Indicator).where(Indicator.id == indicator_id).values(**values))
        if history:
            session.execute(insert(IndicatorHistory), history)
        report.updated += len(changed)

    # -- export and sync -------------------------------------------------------------------

    def export(
        self, session: Session, actor: Actor, *, fmt: str, since_version: int = 0, include_inactive: bool = False,
        purpose: str = "export indicator list", report: ExportReport | None = None, vics_version: str = "2.0",
    ) -> Iterator[str]:
        """The text of an export (formats.FORMATS) in version order, streamed in batches."""
        if fmt not in formats.FORMATS:
            raise ImportAborted(f"unknown format {fmt!r} ({', '.join(formats.FORMATS)})")
        self._audit.record(
            session, AuditEvent.INDICATOR_EXPORT, actor, "indicators", "all", purpose,
            {"format": fmt, "since_version": since_version, "include_inactive": include_inactive},
        )

        def rows(media_types: tuple[str, ...] | None) -> Iterator[Indicator]:
            return self.rows(session, since_version=since_version, include_inactive=include_inactive,
                             media_types=media_types)

        return formats.write(fmt, rows, report, vics_version=vics_version)

    def rows(self, session: Session, *, since_version: int = 0, include_inactive: bool = False,
             media_types: tuple[str, ...] | None = None, kinds: Iterable[str] | None = None,
             up_to: int | None = None, limit: int | None = None) -> Iterator[Indicator]:
        """Indicators changed after ``since_version`` in version order, read 5,000 at a time."""
        last = since_version
        left = limit
        while left is None or left > 0:
            query = select(Indicator).where(Indicator.version > last).order_by(Indicator.version)
            query = query.limit(5000 if left is None else min(5000, left))
            if not include_inactive:
                query = query.where(Indicator.status == IndicatorStatus.ACTIVE.value)
            if media_types is not None:
                query = query.where(Indicator.media_type.in_(media_types))
            if kinds is not None:
                query = query.where(Indicator.kind.in_(list(kinds)))
            if up_to is not None:
                query = query.where(Indicator.version <= up_to)
            batch = session.execute(query).scalars().all()
            if not batch:
                return
            for ind in batch:
                yield ind
                last = ind.version
            if left is not None:
                left -= len(batch)
            session.expunge_all()

    def changes_since(self, session: Session, version: int, algorithm: Algorithm, limit: int = 100_000,
                      up_to: int | None = None) -> list[tuple[int, str, str, int]]:
        """(id, value, status, version) of indicators of one algorithm changed after ``version``
        (and, if given, at or before ``up_to``), oldest first."""
        query = (select(Indicator.id, Indicator.value, Indicator.status, Indicator.version)
                 .where(Indicator.algorithm == algorithm.value, Indicator.version > version)
                 .order_by(Indicator.version).limit(limit))
        if up_to is not None:
            query = query.where(Indicator.version <= up_to)
        rows = session.execute(query).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def stats(self, session: Session) -> dict[str, Any]:
        rows = session.execute(
            select(Indicator.kind, Indicator.algorithm, Indicator.status, func.count())
            .group_by(Indicator.kind, Indicator.algorithm, Indicator.status)
            .order_by(Indicator.kind, Indicator.algorithm, Indicator.status)
        ).all()
        return {
            "version": self.current_version(session),
            "total": sum(r[3] for r in rows),
            "active": sum(r[3] for r in rows if r[2] == IndicatorStatus.ACTIVE.value),
            "by": [{"kind": k, "algorithm": a, "status": s, "count": n} for k, a, s, n in rows],
        }


def _pages(candidates: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    page: list[Candidate] = []
    for candidate in candidates:
        page.append(candidate)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


class _Written:
    """The (algorithm, value) keys one import wrote, for the algorithms that had no indicator
    when it began: a key of such an algorithm that is not among them is new without asking the
    database. The lookup of each page was 7 of a million-line import's 47 s (py-spy, session 17).

    A Bloom filter of the keys' hashes (16 MiB, three bits a key, allocated at the first such
    algorithm): a key it holds by chance (1 in 90,000 at a million keys, 1 in 120 at ten
    million) is only looked up as before; a key this import wrote is never taken for new."""

    _BITS = 1 << 27

    def __init__(self, session: Session) -> None:
        self._session = session
        self._fresh: dict[str, bool] = {}
        self._bits = bytearray()

    def _is_fresh(self, algorithm: str) -> bool:
        fresh = self._fresh.get(algorithm)
        if fresh is None:
            # Asked at the algorithm's first key: before it, this import wrote none of it.
            fresh = self._fresh[algorithm] = not self._session.execute(
                select(exists().where(Indicator.algorithm == algorithm))).scalar_one()
            if fresh and not self._bits:
                self._bits = bytearray(self._BITS >> 3)
        return fresh

    def unknown(self, keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The keys that may exist: of an algorithm that had indicators, or held by the filter."""
        out = []
        mask = self._BITS - 1
        for key in keys:
            if not self._is_fresh(key[0]):
                out.append(key)
                continue
            bits = self._bits  # allocated by _is_fresh at the first fresh algorithm
            h = hash(key)  # three positions from one hash (double hashing: h1 + i·h2)
            p, step = h & mask, ((h >> 27) & mask) | 1
            q, r = (p + step) & mask, (p + 2 * step) & mask
            if bits[p >> 3] & (1 << (p & 7)) and bits[q >> 3] & (1 << (q & 7)) and bits[r >> 3] & (1 << (r & 7)):
                out.append(key)
        return out

    def add(self, keys: Iterable[tuple[str, str]]) -> None:
        bits, mask, fresh = self._bits, self._BITS - 1, self._fresh
        if not bits:
            return
        for key in keys:
            if fresh.get(key[0]):
                h = hash(key)
                p, step = h & mask, ((h >> 27) & mask) | 1
                for position in (p, (p + step) & mask, (p + 2 * step) & mask):
                    bits[position >> 3] |= 1 << (position & 7)


_COPY_COLUMNS = ("kind", "media_type", "algorithm", "value", "quality", "language", "classification", "provenance",
                 "status", "frames", "version", "created_at", "updated_at", "submission_id")


def _provenance_json(source: str, backing: Backing | None) -> Callable[[int], str]:
    """``json.dumps`` of an imported row's provenance for a line number: the parts every row of
    an import shares are serialised once (a json.dumps per row was a twentieth of a
    million-line import's client time)."""
    head = '{"source": ' + json.dumps(source) + ', "line": '
    tail = (', "submission": ' + json.dumps(backing.provenance) if backing else "") + "}"
    return lambda line: f"{head}{int(line)}{tail}"


def _copy_indicators(session: Session, new: list[Candidate], first: int, now: datetime, submission_id: int | None,
                     provenance: Callable[[int], str]) -> None:
    """New indicators through PostgreSQL's COPY (issue 19 item 6): several times faster than
    an INSERT per row or per page of rows, in the caller's transaction like any statement.
    Row ``i`` of ``new`` gets version ``first + i``.

    The page goes as one block of COPY text written here rather than row by row through the
    driver's adaptation (a third of a million-line import's client time went there): each
    field is text with COPY's escapes, NULL as ``\\N``; JSON columns hold JSON text (``null``
    for None, as SQLAlchemy's insert stores it); timestamps are naive UTC like the ORM's. What
    every row of the page shares is written once."""
    raw = session.connection().connection.driver_connection  # psycopg 3, this transaction's
    assert raw is not None
    stamp = now.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    tail = f"\t{stamp}\t{stamp}\t{_copy_text(submission_id)}"
    lines = [
        "\t".join((
            c.kind.value, _copy_text(c.media_type), c.algorithm.value, _copy_text(c.value),
            _copy_text(c.quality), _copy_text(c.language), _copy_text(_json_text(c.classification or None)),
            _copy_text(provenance(c.line)), c.status.value, _copy_text(_json_text(c.frames)), str(first + i),
        )) + tail
        for i, c in enumerate(new)
    ]
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY indicators ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
            copy.write("\n".join(lines) + "\n")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    text_ = str(value)
    if "\\" in text_ or "\t" in text_ or "\n" in text_ or "\r" in text_:
        return text_.translate(_COPY_ESCAPES)
    return text_


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value)


def _vics_policy(candidates: Iterable[Candidate], report: ImportReport) -> Iterator[Candidate]:
    """Into the indicator database, a foreign VICS file brings only category 1 (child abuse
    material); Balise's own exports say their kind themselves."""
    for c in candidates:
        if c.balise or c.category == "1":
            yield c
        else:
            report.reject(c.line, f"VICS category {c.category or 'none'} is not child sexual abuse material "
                                  "(only category 1 is imported)")

