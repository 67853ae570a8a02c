"""Matching hashes against the indicator database: exact lookups in the database, PDQ range
search in an in-memory index kept current with it, vPDQ with the reference algorithm."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, String, any_, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from balise.adapters.db.driver import driver_cursor
from balise.adapters.db.models import Indicator, IndicatorVersion
from balise.detection.adapters.pdq import DIHEDRAL_NAMES
from balise.detection.adapters.pdq_index import PdqIndex, ascii_hex_to_words, hex_to_words
from balise.detection.adapters.vpdq_match import VpdqFrame as MatchFrame
from balise.detection.adapters.vpdq_match import match_pct
from balise.detection.indicators import Indicators
from balise.detection.matching_types import HashQuery, MatchOutcome
from balise.domain.indicators import (
    EXACT_ALGORITHMS,
    PDQ_MATCH_THRESHOLD,
    PDQ_MIN_QUALITY,
    Algorithm,
    IndicatorStatus,
    InvalidIndicator,
    normalise_value,
)

log = logging.getLogger("balise.matching")



def vpdq_fingerprint(frames: Sequence[Sequence[Any]]) -> str:
    text = "\n".join(f"{int(f[0])},{int(f[1])},{str(f[2]).lower()},{float(f[3]):.3f}" for f in frames)
    return hashlib.sha256(text.encode()).hexdigest()


#: Changes behind the database past which a process opens a newer snapshot, if the host has one.
RELOAD_AFTER = 50_000
# Indicators whose match details one process keeps (emptied when full; ~1 KB each at most).
DETAILS_CACHED = 100_000


# Each row of a page as 8 bytes of id and the value's 64 characters: fixed size, parsed by numpy.
_COMMITTED_VERSION = select(IndicatorVersion.version).where(IndicatorVersion.id == 1)
_PDQ_ROW = np.dtype([("id", ">i8"), ("value", "u1", (64,))])
_PDQ_PAGE = text(
    "SELECT count(*), max(id), string_agg(int8send(id) || convert_to(value, 'UTF8'), ''::bytea) "
    "FROM (SELECT id, value FROM indicators WHERE algorithm = :algorithm AND status = :status "
    "AND version <= :version AND id > :after ORDER BY id LIMIT :limit) page")


def _read_active_pdq(session: Session, version: int, page: int = 250_000) -> tuple[np.ndarray, np.ndarray] | None:
    """PostgreSQL: (ids, words) of the active PDQ indicators up to ``version``, each page of a
    million as one bytes value that numpy parses as fixed-size rows. Fetched as rows, a
    million took 2 s of a rebuild's 5.7, and a binary COPY 3 s (psycopg reads it a row at a
    time; py-spy, session 17). None when a value is not 64 characters: the caller then reads
    rows, and says which is wrong."""
    ids: list[np.ndarray] = []
    words: list[np.ndarray] = []
    after = 0
    while True:
        count, last, data = session.execute(_PDQ_PAGE, {
            "algorithm": Algorithm.PDQ.value, "status": IndicatorStatus.ACTIVE.value, "version": version,
            "after": after, "limit": page}).one()
        if not count:
            break
        if len(data) != count * _PDQ_ROW.itemsize:
            return None
        rows = np.frombuffer(data, dtype=_PDQ_ROW)
        try:
            words.append(ascii_hex_to_words(rows["value"]))
        except ValueError:
            return None
        ids.append(rows["id"].astype(np.int64))
        if count < page:
            break
        after = last
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.uint64)
    return np.concatenate(ids), np.concatenate(words)


class PdqIndexHolder:
    """One PdqIndex per process, built from the database, saved as a snapshot that other
    processes on the host open with mmap, and brought up to date with every indicator change
    (added, suspended, deleted) before it answers — a change is visible to the next query
    after at most ``refresh_interval`` seconds, without a rebuild."""

    def __init__(
        self,
        new_session: Callable[[], Session],
        indicators: Indicators,
        snapshot_dir: Path,
        refresh_interval: float = 0.2,
        reload_after: int = RELOAD_AFTER,
    ) -> None:
        self._new_session = new_session
        self._indicators = indicators
        self.snapshot_dir = snapshot_dir
        self.refresh_interval = refresh_interval
        self.reload_after = reload_after
        self._lock = threading.Lock()
        self._index: PdqIndex | None = None
        self.version = 0
        self._last_refresh = 0.0
        self._keeper: tuple[int, threading.Event, threading.Thread] | None = None  # keep_fresh's: process, stop, thread
        self._version_connection: Connection | None = None  # _committed_version's, used under _lock

    # Snapshot files: <dir>/v<version>/..., and <dir>/CURRENT naming the newest.
    def _current_snapshot(self) -> tuple[Path, int] | None:
        pointer = self.snapshot_dir / "CURRENT"
        if not pointer.exists():
            return None
        name = pointer.read_text().strip()
        path = self.snapshot_dir / name
        if not name.startswith("v") or not path.is_dir():
            return None
        return path, int(name[1:])

    def snapshot_missing(self) -> bool:
        return self._current_snapshot() is None

    def _load_or_build(self) -> None:
        current = self._current_snapshot()
        if current is not None:
            try:
                self._index = PdqIndex.load(current[0], mmap=True)
                self.version = current[1]
                return
            except Exception as exc:  # noqa: BLE001 - a bad snapshot is rebuilt, and said so
                log.warning("PDQ snapshot %s unusable (%s); rebuilding from the database", current[0], exc)
        self._build_from_database()

    def _build_from_database(self) -> None:
        with self._new_session() as session:
            version = self._indicators.current_version(session)
            read = _read_active_pdq(session, version) if session.get_bind().dialect.name == "postgresql" else None
            if read is None:
                rows = session.execute(
                    select(Indicator.id, Indicator.value).where(
                        Indicator.algorithm == Algorithm.PDQ.value,
                        Indicator.status == IndicatorStatus.ACTIVE.value,
                        Indicator.version <= version,
                    )
                ).all()
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                words = hex_to_words([r[1] for r in rows]) if rows else np.zeros((0, 4), dtype=np.uint64)
            else:
                ids, words = read
        self._index = PdqIndex.build(words, ids)
        self.version = version

    def save_snapshot(self) -> Path:
        """Write the current index as a snapshot (compacting deltas) and point CURRENT at it."""
        with self._lock:
            self._ensure()
            assert self._index is not None
            self._index.compact()
            name = f"v{self.version}"
            final = self.snapshot_dir / name
            tmp = self.snapshot_dir / f".{name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            self._index.save(tmp)
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            pointer_tmp = self.snapshot_dir / ".CURRENT.tmp"
            pointer_tmp.write_text(name)
            pointer_tmp.replace(self.snapshot_dir / "CURRENT")
            for old in self.snapshot_dir.glob("v*"):
                if old.name != name and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            return final

    def rebuild_snapshot(self) -> Path:
        """Build the index afresh from the database and save it as the snapshot: what a bulk
        import does once at its end (issue 19 item 6) rather than every process applying a
        million changes one batch at a time. Running processes open it at their next refresh."""
        with self._lock:
            self._build_from_database()
            self._last_refresh = time.monotonic()
        return self.save_snapshot()

    def _newer_snapshot(self, latest: int) -> bool:
        """Open the host's snapshot instead of applying changes when it is newer than this
        process's index and the changes are many (a bulk import): mmap, no rebuild."""
        if latest - self.version < self.reload_after:
            return False
        current = self._current_snapshot()
        if current is None or current[1] <= self.version:
            return False
        try:
            self._index = PdqIndex.load(current[0], mmap=True)
        except Exception as exc:  # noqa: BLE001 - the changes are applied instead
            log.warning("PDQ snapshot %s unusable (%s); applying the changes instead", current[0], exc)
            return False
        self.version = current[1]
        return True

    def _ensure(self) -> None:
        if self._index is None:
            self._load_or_build()
            self._apply_changes()

    def _apply_changes(self) -> None:
        assert self._index is not None
        # Fresh as of when the version was read, not when the changes were applied.
        started = time.monotonic()
        # One-row read first: nothing changed (the usual case) costs nothing more. Versions are
        # handed out under a lock held until commit, so every change up to the counter's
        # committed value is visible now, to any connection.
        latest = self._committed_version()
        self._newer_snapshot(latest)
        if self.version >= latest:
            self._last_refresh = started
            return
        with self._new_session() as session:
            while self.version < latest:
                changes = self._indicators.changes_since(session, self.version, Algorithm.PDQ, up_to=latest)
                if not changes:
                    self.version = latest
                    break
                active_ids, active_values, gone = [], [], []
                for indicator_id, value, status, version in changes:
                    # Remove first: an indicator whose value changed must not keep its old hash.
                    gone.append(indicator_id)
                    if status == IndicatorStatus.ACTIVE.value:
                        active_ids.append(indicator_id)
                        active_values.append(value)
                    self.version = max(self.version, version)
                self._index.remove(np.asarray(gone, dtype=np.int64))
                if active_ids:
                    self._index.add(hex_to_words(active_values), np.asarray(active_ids, dtype=np.int64))
        self._last_refresh = started

    def _committed_version(self) -> int:
        """The indicator version committed now, read in a serving process on PostgreSQL on a
        connection this holder keeps in autocommit (no transaction stays open on it). A refresh that finds nothing new, ten
        times a second in each API process, then costs 0.10 ms of CPU against 0.39 ms through
        a new ORM session each time: 3–5 % of the 100-hash match figure (docs/benchmarks.md,
        session 17). A connection that fails is closed and the read tried once on a new one."""
        serving = self._keeper is not None and self._keeper[0] == os.getpid()
        for attempt in (1, 2):
            if self._version_connection is None:
                with self._new_session() as session:
                    engine = session.get_bind()
                    if not serving or engine.dialect.name != "postgresql":
                        # Kept only by a process that refreshes in the background (an API
                        # process): elsewhere one more connection per container held open is
                        # not worth it. SQLite: every transaction begins IMMEDIATE
                        # (adapters/db/engine.py), so a connection kept would keep the write lock.
                        return self._indicators.current_version(session)
                self._version_connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                return int(self._version_connection.execute(_COMMITTED_VERSION).scalar_one())
            except DBAPIError:
                self._close_version_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _close_version_connection(self) -> None:
        connection, self._version_connection = self._version_connection, None
        if connection is not None:
            try:
                connection.close()
            except DBAPIError:  # already broken: nothing to give back
                pass

    def refresh(self, force: bool = False, *, older_than: float | None = None) -> None:
        """Bring the index up to date if its last refresh is ``older_than`` seconds old
        (by default ``refresh_interval``), or at once with ``force``."""
        limit = self.refresh_interval if older_than is None else older_than
        if not force and self._index is not None and time.monotonic() - self._last_refresh < limit:
            # Fresh: no lock taken. A query used to queue here behind the refreshing thread's
            # read of the database although it had nothing to wait for (issue 19).
            return
        with self._lock:
            if self._index is None:
                self._ensure()
            elif force or time.monotonic() - self._last_refresh >= limit:
                self._apply_changes()

    def keep_fresh(self) -> None:
        """A thread of this process that refreshes the index once half ``refresh_interval``
        has passed, so that a match almost never finds it due: then the event loop can answer
        a small match itself (web/api/match.py) rather than send it to the thread pool to wait
        for the database. An API process calls this once it serves; idle, it costs one
        one-row read every half interval. Nothing with ``refresh_interval`` 0 (every query
        refreshes); stopped by :meth:`close`."""
        if self.refresh_interval <= 0 or (self._keeper is not None and self._keeper[0] == os.getpid()):
            return
        stop = threading.Event()
        period = self.refresh_interval / 2

        def run() -> None:
            failing = False
            while not stop.wait(period / 2):
                try:
                    self.refresh(older_than=period)
                    failing = False
                except Exception as exc:  # noqa: BLE001 - the database may be away a while: matches refresh themselves then
                    if not failing:
                        log.warning("PDQ index refresh failed (%s); retrying every %.2f s", exc, period / 2)
                    failing = True

        thread = threading.Thread(target=run, name="balise-pdq-refresh", daemon=True)
        self._keeper = (os.getpid(), stop, thread)
        thread.start()

    def close(self) -> None:
        if self._keeper is not None:
            _, stop, thread = self._keeper
            stop.set()
            if thread.is_alive():
                thread.join(timeout=5)
            self._keeper = None
        with self._lock:
            self._close_version_connection()

    def fresh(self) -> bool:
        """Whether the index is loaded and was brought up to date within ``refresh_interval``:
        a query now needs no database read (:meth:`query` with ``refresh=False``)."""
        return self._index is not None and time.monotonic() - self._last_refresh < self.refresh_interval

    def query(self, words: np.ndarray, threshold: int, *, refresh: bool = True) -> Any:
        if refresh:
            self.refresh()
        index = self._index
        assert index is not None
        return index.query(words, threshold=threshold)

    def __len__(self) -> int:
        self.refresh()
        return len(self._index) if self._index is not None else 0


# Exact hashes found among active indicators: built once, on the table rather than the ORM
# entity, so that running it skips the ORM's statement machinery (it runs for every report
# filed and every exact-hash match query; issue 19).
_TABLE = Indicator.__table__
_EXACT = select(_TABLE.c.id, _TABLE.c.algorithm, _TABLE.c.value).where(
    _TABLE.c.algorithm.in_(bindparam("algorithms", expanding=True)),
    _TABLE.c.value.in_(bindparam("values", expanding=True)),
    _TABLE.c.status == IndicatorStatus.ACTIVE.value,
)
# On PostgreSQL the lists go as two arrays: one statement text whatever their lengths, which
# psycopg prepares once per connection, and no expansion of the IN lists at every run.
_EXACT_ARRAYS = select(_TABLE.c.id, _TABLE.c.algorithm, _TABLE.c.value).where(
    _TABLE.c.algorithm == any_(bindparam("algorithms", type_=postgresql.ARRAY(String))),
    _TABLE.c.value == any_(bindparam("values", type_=postgresql.ARRAY(String))),
    _TABLE.c.status == IndicatorStatus.ACTIVE.value,
)


@functools.lru_cache(maxsize=64)
def _exact_arrays_sql(dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The exact read as psycopg takes it, and its fixed parameters (the status)."""
    compiled = _EXACT_ARRAYS.compile(dialect=dialect)
    fixed = {name: bind.value for bind, name in compiled.bind_names.items() if name not in ("algorithms", "values")}
    return compiled.string, fixed


# A dictionary's lookup rather than the enumeration's call, which costs ten times as much
# (it runs for every hash of a match request).
_ALGORITHMS = {a.value: a for a in Algorithm}


class _NeedsDatabase(Exception):
    """Raised by :meth:`Matcher.match` with ``memory_only`` before anything is read or changed."""


def _json_copy(value: Any) -> Any:
    """A deep copy of a value read from JSON columns (dicts, lists, str, numbers, bool, None):
    a third of the time of ``copy.deepcopy``, which looks for cycles and copy hooks (a cached
    detail is copied for every match; 6 % of a 100-hash request with 1 M indicators)."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


class Matcher:
    def __init__(self, new_session: Callable[[], Session], pdq: PdqIndexHolder,
                 connect: Callable[[], Connection]) -> None:
        self._new_session = new_session
        # A connection for the exact-hash read, without a session around it: it runs for every
        # report filed (issue 19).
        self._connect = connect
        self.pdq = pdq
        self._vpdq_cache: tuple[int, list[tuple[int, list[MatchFrame]]]] | None = None
        # What a match says of an indicator (kind, media type, classification, version), kept
        # for the indicator version the PDQ index was brought to: any change to an indicator
        # takes a new version, and the index's refresh (every BALISE_INDEX_REFRESH_SECONDS)
        # seeing it empties the cache, so a detail is never older than the index itself.
        self._details: dict[int, dict[str, Any]] = {}
        self._details_version = -1
        self._details_lock = threading.Lock()

    def match_from_memory(self, queries: Sequence[HashQuery], *, threshold: int = PDQ_MATCH_THRESHOLD,
                          min_quality: int = PDQ_MIN_QUALITY) -> list[MatchOutcome] | None:
        """:meth:`match` for PDQ queries answered from this process's memory alone: the index
        (brought up to date within ``BALISE_INDEX_REFRESH_SECONDS``, as for :meth:`match`) and
        the cached details of what it finds. None, having changed nothing, as soon as anything
        would need the database: another hash type, an index due for its refresh, a detail not
        cached. For the event loop (web/api/match.py), which then calls :meth:`match` in a thread."""
        if not self.pdq.fresh() or any(q.type != Algorithm.PDQ.value or q.frames for q in queries):
            return None
        try:
            return self.match(queries, threshold=threshold, min_quality=min_quality, memory_only=True)
        except _NeedsDatabase:
            return None

    def match(
        self,
        queries: Sequence[HashQuery],
        *,
        threshold: int = PDQ_MATCH_THRESHOLD,
        min_quality: int = PDQ_MIN_QUALITY,
        vpdq_threshold_pct: float = 80.0,
        memory_only: bool = False,
    ) -> list[MatchOutcome]:
        outcomes: list[MatchOutcome | None] = [None] * len(queries)
        exact: dict[str, list[tuple[int, str]]] = {}
        pdq_rows: list[tuple[int, int, str]] = []  # (query index, variant, hex)
        for i, q in enumerate(queries):
            algorithm = _ALGORITHMS.get(q.type)
            if algorithm is None:
                outcomes[i] = MatchOutcome("invalid", error=f"unknown hash type {q.type!r}")
                continue
            try:
                if algorithm in EXACT_ALGORITHMS:
                    exact.setdefault(algorithm.value, []).append((i, normalise_value(algorithm, q.value or "")))
                elif algorithm is Algorithm.PDQ:
                    value = normalise_value(algorithm, q.value or "")
                    if q.quality is not None and q.quality < min_quality:
                        outcomes[i] = MatchOutcome("low_quality", error=f"PDQ quality {q.quality} is below {min_quality}")
                        continue
                    pdq_rows.append((i, 0, value))
                    for variant, other in enumerate(q.dihedral or [], start=1):
                        pdq_rows.append((i, variant, normalise_value(algorithm, other)))
                elif algorithm is Algorithm.VPDQ:
                    if memory_only:
                        raise _NeedsDatabase
                    outcomes[i] = self._match_vpdq(q, threshold, min_quality, vpdq_threshold_pct)
                else:
                    outcomes[i] = MatchOutcome("invalid", error=f"{algorithm.value} cannot be matched here")
            except InvalidIndicator as exc:
                outcomes[i] = MatchOutcome("invalid", error=str(exc))
        if memory_only and exact:
            raise _NeedsDatabase
        hits: dict[int, list[dict[str, Any]]] = {}
        for i, indicator_id, algorithm in self._exact(exact):
            hits.setdefault(i, []).append({"indicator_id": indicator_id, "algorithm": algorithm, "distance": 0})
        if pdq_rows:
            result = self.pdq.query(hex_to_words([r[2] for r in pdq_rows]), threshold, refresh=not memory_only)
            best: dict[tuple[int, int], tuple[int, int]] = {}
            for qi, indicator_id, distance in zip(result.query_index.tolist(), result.ids.tolist(), result.distances.tolist()):
                query_index, variant = pdq_rows[qi][0], pdq_rows[qi][1]
                key = (query_index, indicator_id)
                if key not in best or distance < best[key][0]:
                    best[key] = (distance, variant)
            for (query_index, indicator_id), (distance, variant) in best.items():
                hit = {"indicator_id": indicator_id, "algorithm": "pdq", "distance": distance}
                if variant:
                    hit["transform"] = DIHEDRAL_NAMES[variant] if variant < len(DIHEDRAL_NAMES) else f"variant_{variant}"
                hits.setdefault(query_index, []).append(hit)
        # The cache is used when this call queried the PDQ index (it was just refreshed);
        # exact-only calls read the details with their hits, as before.
        self._describe(hits, self.pdq.version if pdq_rows else None, memory_only=memory_only)
        final: list[MatchOutcome] = []
        for i, outcome in enumerate(outcomes):
            if outcome is None:
                outcome = MatchOutcome("ok", sorted(hits.get(i, []), key=lambda h: (h["distance"], h["indicator_id"])))
            final.append(outcome)
        return final

    def _exact(self, exact: dict[str, list[tuple[int, str]]]) -> list[tuple[int, int, str]]:
        """(query index, indicator id, algorithm) of every exact hit: one query for all the
        algorithms of a request (a report's MD5 and SHA-256 together), not one per algorithm."""
        by_value: dict[tuple[str, str], list[int]] = {}
        for algorithm, pairs in exact.items():
            for i, value in pairs:
                by_value.setdefault((algorithm, value), []).append(i)
        if not by_value:
            return []
        found: list[tuple[int, int, str]] = []
        algorithms = sorted(exact)
        values = sorted({value for _, value in by_value})
        with self._connect() as connection:
            if connection.dialect.name == "postgresql":
                # One statement whatever the number of values, sent by psycopg itself
                # (adapters/db/driver.py): it runs for every report filed, and SQLAlchemy's
                # execution cost more than the statement (issue 19).
                sql, fixed = _exact_arrays_sql(connection.dialect)
                with driver_cursor(connection) as cursor:
                    rows = cursor.execute(sql, {**fixed, "algorithms": algorithms, "values": values}).fetchall()
            else:
                # SQLite takes at most 999 parameters.
                rows = [row for start in range(0, len(values), 900)
                        for row in connection.execute(_EXACT, {"algorithms": algorithms,
                                                               "values": values[start:start + 900]})]
        for indicator_id, algorithm, value in rows:
            found.extend((i, indicator_id, algorithm) for i in by_value.get((algorithm, value), []))
        return found

    def _describe(self, hits: dict[int, list[dict[str, Any]]], version: int | None = None, *,
                  memory_only: bool = False) -> None:
        ids = {h["indicator_id"] for hs in hits.values() for h in hs}
        if not ids:
            return
        details: dict[int, dict[str, Any]] = {}
        if version is not None:
            with self._details_lock:
                if version != self._details_version or len(self._details) > DETAILS_CACHED:
                    self._details, self._details_version = {}, version
                # Copies: a caller may change what it is given (the classification is a dict).
                details = {i: _json_copy(self._details[i]) for i in ids if i in self._details}
        id_list = sorted(ids - details.keys())
        if id_list and memory_only:
            raise _NeedsDatabase
        if id_list:
            details.update(self._read_details(id_list))
            if version is not None:
                # Read after the index reached ``version``: at least as new as the cache.
                with self._details_lock:
                    if self._details_version == version:
                        self._details.update({i: _json_copy(details[i]) for i in id_list if i in details})
        for hs in hits.values():
            for h in hs:
                h.update(details.get(h["indicator_id"], {}))

    def _read_details(self, id_list: list[int]) -> dict[int, dict[str, Any]]:
        details: dict[int, dict[str, Any]] = {}
        with self._new_session() as session:
            for start in range(0, len(id_list), 900):
                for ind in session.execute(select(Indicator).where(Indicator.id.in_(id_list[start:start + 900]))).scalars():
                    details[ind.id] = {"kind": ind.kind, "media_type": ind.media_type,
                                       "classification": ind.classification or {}, "version": ind.version}
        return details

    def _vpdq_indicators(self) -> list[tuple[int, list[MatchFrame]]]:
        with self._new_session() as session:
            version = session.execute(
                select(Indicator.version).where(Indicator.algorithm == Algorithm.VPDQ.value)
                .order_by(Indicator.version.desc()).limit(1)
            ).scalar_one_or_none() or 0
            if self._vpdq_cache is not None and self._vpdq_cache[0] == version:
                return self._vpdq_cache[1]
            rows = session.execute(
                select(Indicator.id, Indicator.frames).where(
                    Indicator.algorithm == Algorithm.VPDQ.value, Indicator.status == IndicatorStatus.ACTIVE.value
                )
            ).all()
        videos = [(rid, [MatchFrame(int(f[0]), int(f[1]), str(f[2]), float(f[3])) for f in frames or []]) for rid, frames in rows]
        self._vpdq_cache = (version, videos)
        return videos

    def _match_vpdq(self, q: HashQuery, threshold: int, min_quality: int, pct: float) -> MatchOutcome:
        frames = q.frames or []
        if not frames:
            return MatchOutcome("invalid", error="a vpdq query needs frames")
        query = []
        for n, f in enumerate(frames):
            try:
                query.append(MatchFrame(int(f["frame_number"]), int(f["quality"]),
                                        normalise_value(Algorithm.PDQ, str(f["pdq"])), float(f.get("timestamp", 0.0))))
            except (KeyError, TypeError, ValueError) as exc:
                return MatchOutcome("invalid", error=f"frame {n}: {exc}")
        hits = []
        for indicator_id, compared in self._vpdq_indicators():
            query_pct, compared_pct = match_pct(query, compared, distance=threshold, quality=min_quality)
            if query_pct >= pct:
                hits.append({"indicator_id": indicator_id, "algorithm": "vpdq", "distance": 0,
                             "query_match_pct": round(query_pct, 2), "compared_match_pct": round(compared_pct, 2)})
        self._describe({0: hits})  # kind and classification, as for the other algorithms
        return MatchOutcome("ok", hits)


def frames_json(frames: Sequence[Any]) -> str:
    return json.dumps([[f.frame_number, f.quality, f.pdq, f.timestamp] for f in frames])
