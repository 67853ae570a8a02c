"""The scan, start to finish: walk -> hash on workers -> record -> match -> cluster -> outputs.

Executors: local processes (``ProcessPoolExecutor``, forkserver, ``workers`` of them), a Dask
distributed cluster (``dask_address``; the scanned paths and ``--out`` must be visible to the
workers under the same names), or in-process (``workers=0``, for debugging and tests). Every
executor runs :func:`balise.scan.worker.process_batch` on the same batches, so results are
identical.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balise.scan import cluster as clustering
from balise.scan.indicator_files import IndicatorSet, LoadReport, load_file
from balise.scan.matcher import LocalMatcher, MatchError, ServerMatcher
from balise.scan.outputs import write_results, write_vics
from balise.scan.report import write_report
from balise.scan.state import StateDB
from balise.scan.walker import Found, walk
from balise.scan.worker import process_batch

EXIT_CLEAN = 0
EXIT_KNOWN = 1
EXIT_USAGE = 2
EXIT_UNREADABLE = 3
EXIT_INTERRUPTED = 130


class ScanConfigError(ValueError):
    """Bad options or unusable inputs: exit code 2."""


@dataclass
class ScanOptions:
    paths: list[bytes]
    out: Path
    indicators: list[Path] = field(default_factory=list)
    server: str | None = None
    key: str | None = None
    workers: int | None = None
    dask_address: str | None = None
    threshold: int = 31
    cluster_threshold: int = 31
    max_depth: int = 3
    max_ratio: float = 100.0
    max_member_bytes: int = 4 * 1024**3
    thumbnails: bool = False
    case: str = "balise-scan"
    batch_files: int = 64
    batch_bytes: int = 256 * 1024 * 1024
    command: str = ""
    test_deny: list[bytes] | None = None


@dataclass
class ScanSummary:
    exit_code: int = 0
    files: int = 0
    contents: int = 0
    known_files: int = 0
    unknown_media: int = 0
    series: int = 0
    series_multi: int = 0
    skipped: int = 0
    errors: int = 0
    duplicates: int = 0
    walked: int = 0
    unchanged: int = 0
    hashed: int = 0
    hashed_bytes: int = 0
    elapsed: float = 0.0
    indicator_seconds: float = 0.0
    walk_seconds: float = 0.0
    hash_seconds: float = 0.0
    match_seconds: float = 0.0
    output_seconds: float = 0.0
    indicator_reports: list[LoadReport] = field(default_factory=list)
    interrupted: bool = False
    case: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "indicator_reports" and not k.startswith("_")}
        return d


# --------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------


def _worker_init(scan_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt does
    import threading

    def watch() -> None:  # the scan was killed (kill -9): do not linger as an orphan
        while True:
            time.sleep(1.0)
            try:
                os.kill(scan_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, daemon=True, name="scan-parent-watch").start()


class _LocalExecutor:
    def __init__(self, workers: int) -> None:
        import multiprocessing

        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["balise.scan.worker"])
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                        initargs=(os.getpid(),))
        self.running: set[Future] = set()
        self.slots = workers * 2 + 1

    def submit(self, batch: list, opts: dict) -> None:
        self.running.add(self.pool.submit(process_batch, batch, opts))

    def done(self) -> list[list[dict]]:
        finished, self.running = wait(self.running, return_when=FIRST_COMPLETED)
        return [f.result() for f in finished]

    def close(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class _InlineExecutor:
    def __init__(self) -> None:
        self.queue: list[tuple[list, dict]] = []
        self.slots = 1

    @property
    def running(self) -> list:
        return self.queue

    def submit(self, batch: list, opts: dict) -> None:
        self.queue.append((batch, opts))

    def done(self) -> list[list[dict]]:
        batch, opts = self.queue.pop(0)
        return [process_batch(batch, opts)]

    def close(self, cancel: bool = False) -> None:
        self.queue.clear()


class _DaskExecutor:
    def __init__(self, address: str) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:  # pragma: no cover - dependency missing
            raise ScanConfigError("--dask needs the 'distributed' package (pip install 'dask[distributed]')") from exc
        try:
            self.client = Client(address, timeout="20s", set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - OSError/TimeoutError from the connection
            raise ScanConfigError(f"cannot connect to the Dask scheduler at {address}: {exc}") from exc
        n = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values()))
        self.ac = as_completed([], with_results=False, loop=self.client.loop)
        self.count = 0
        self.slots = n * 2 + 1

    @property
    def running(self) -> range:
        return range(self.count)

    def submit(self, batch: list, opts: dict) -> None:
        self.ac.add(self.client.submit(process_batch, batch, opts, pure=False))
        self.count += 1

    def done(self) -> list[list[dict]]:
        fut = next(self.ac)
        self.count -= 1
        return [fut.result()]

    def close(self, cancel: bool = False) -> None:
        try:
            if cancel:
                for f in list(self.ac.futures):
                    f.cancel()
            self.client.close()
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------


def load_matcher(opts: ScanOptions, summary: ScanSummary) -> LocalMatcher | ServerMatcher | None:
    if opts.server and opts.indicators:
        raise ScanConfigError("use either --indicators FILE... or --server URL --key KEY, not both")
    if opts.server:
        if not opts.key:
            raise ScanConfigError("--server needs --key (an API key with the match scope)")
        if not opts.server.startswith(("http://", "https://")):
            raise ScanConfigError("--server must be an http:// or https:// URL")
        return ServerMatcher(opts.server, opts.key, opts.threshold)
    if not opts.indicators:
        return None
    from balise.scan import indicator_cache

    try:
        key = indicator_cache.cache_key(opts.indicators)
    except OSError as exc:
        raise ScanConfigError(f"cannot read indicator file {exc.filename}: {exc.strerror or exc}") from exc
    cache_root = opts.out.absolute() / "indicator-cache"
    cached = indicator_cache.load(cache_root, key)
    if cached is not None:
        iset, reports, index = cached
        summary.indicator_reports.extend(reports)
        return LocalMatcher(iset, threshold=opts.threshold, index=index)
    iset = IndicatorSet()
    for p in opts.indicators:
        try:
            _, rep = load_file(p, iset)
        except OSError as exc:
            raise ScanConfigError(f"cannot read indicator file {p}: {exc.strerror or exc}") from exc
        summary.indicator_reports.append(rep)
    matcher = LocalMatcher(iset, threshold=opts.threshold)
    summary._cache = (cache_root, key, iset, matcher.index)  # type: ignore[attr-defined]
    return matcher


def _batches(reader: sqlite3.Connection, batch_files: int, batch_bytes: int) -> Iterator[list[tuple[int, bytes]]]:
    """Pending files ordered by size; a batch is cut only where the size changes (so copies of
    one content meet in one batch and are perceptually hashed once), or when it grows 8x."""
    cur = reader.execute("SELECT id, path, size FROM files WHERE state = 'pending' AND parent IS NULL ORDER BY size, id")
    batch: list[tuple[int, bytes]] = []
    nbytes = 0
    last = None
    while rows := cur.fetchmany(5000):
        for fid, path, size in rows:
            size = size or 0
            if batch and size != last and (len(batch) >= batch_files or nbytes >= batch_bytes):
                yield batch
                batch, nbytes = [], 0
            elif batch and (len(batch) >= 8 * batch_files or nbytes >= 8 * batch_bytes):
                yield batch
                batch, nbytes = [], 0
            batch.append((fid, bytes(path)))
            nbytes += size
            last = size
    if batch:
        yield batch


def _match_all(db: StateDB, matcher: Any) -> None:
    conn = db.conn
    conn.execute("BEGIN")
    conn.execute("DELETE FROM matches")
    conn.execute("COMMIT")
    if matcher is None:
        return
    last = ""
    cols = ("sha256", "md5", "sha1", "pdq", "pdq_quality", "vpdq", "pdq_dihedral")
    while True:
        rows = conn.execute(f"SELECT {', '.join(cols)} FROM contents WHERE sha256 > ? ORDER BY sha256 LIMIT 10000",
                            (last,)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        import json

        contents = []
        for r in rows:
            c = dict(zip(cols, r))
            c["vpdq"] = json.loads(c["vpdq"]) if c["vpdq"] else None
            c["pdq_dihedral"] = json.loads(c["pdq_dihedral"]) if c["pdq_dihedral"] else None
            contents.append(c)
        hits = matcher.match(contents)
        conn.execute("BEGIN")
        for sha, ms in hits.items():
            for m in ms:
                conn.execute("INSERT INTO matches (sha256, source, algorithm, kind, category, series, distance, indicator, "
                             "transform) VALUES (?,?,?,?,?,?,?,?,?)",
                             (sha, m["source"], m["algorithm"], m["kind"], m["category"], m["series"], m["distance"],
                              m["indicator"], m.get("transform")))
        conn.execute("COMMIT")


def run_scan(opts: ScanOptions, progress: Any = None, on_walk: Callable[[int], None] | None = None) -> ScanSummary:
    """Run (or resume) a scan. ``progress`` is an optional object with ``start(total_files,
    total_bytes)``, ``advance(files, bytes)`` and ``stop()``. Raises ScanConfigError."""
    t0 = time.monotonic()
    summary = ScanSummary(case=opts.case)
    if not opts.paths:
        raise ScanConfigError("give at least one path to scan")
    for p in opts.paths:
        if not os.path.lexists(p):
            raise ScanConfigError(f"no such file or directory: {os.fsdecode(p)}")
    if opts.threshold < 0 or opts.threshold > 256 or opts.cluster_threshold < 0 or opts.cluster_threshold > 256:
        raise ScanConfigError("thresholds must be between 0 and 256")
    if opts.max_depth < 0 or opts.max_ratio <= 1:
        raise ScanConfigError("--max-depth must be >= 0 and --max-ratio > 1")
    workers = (os.cpu_count() or 1) if opts.workers is None else opts.workers
    if workers < 0:
        raise ScanConfigError("--workers must be >= 0")
    out = opts.out.absolute()
    out_b = os.fsencode(out)
    for p in opts.paths:
        ap = os.path.abspath(p)
        if os.path.isfile(ap) and os.path.realpath(ap).startswith(os.path.realpath(out_b) + b"/"):
            raise ScanConfigError("the output directory must not hold the scanned files")
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ScanConfigError(f"cannot create the output directory {out}: {exc.strerror}") from exc
    matcher = load_matcher(opts, summary)
    summary.indicator_seconds = time.monotonic() - t0
    pending_cache = getattr(summary, "_cache", None)
    if pending_cache is not None:
        from balise.scan import indicator_cache

        cache_root, key, iset, index = pending_cache
        try:
            indicator_cache.save(cache_root, key, iset, summary.indicator_reports, index)
        except OSError:
            pass  # a cache is an optimisation only
        del summary._cache  # type: ignore[attr-defined]
    tmp = out / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)  # leftovers of an interrupted run (ours only)
    tmp.mkdir(mode=0o700)
    db = StateDB(out / "state.sqlite")
    db.start_run(opts.command)
    wopts = {"max_depth": opts.max_depth, "max_ratio": opts.max_ratio, "max_member_bytes": opts.max_member_bytes,
             "tmp_dir": str(tmp), "test_deny": opts.test_deny}
    executor: Any = None
    old_term = signal.getsignal(signal.SIGTERM)

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not the main thread
        old_term = None
    try:
        # 1. walk (a stat per file; unchanged files done in an earlier run are not touched again)
        db.begin()
        n = 0
        for entry in walk(opts.paths, exclude=[out_b]):
            n += 1
            if isinstance(entry, Found):
                if not db.upsert_walked(entry.path, entry.size, entry.mtime_ns, entry.inode, entry.device):
                    summary.unchanged += 1
            else:
                db.record_skip(entry.path, entry.reason)
            if n % 5000 == 0:
                db.commit()
                db.begin()
                if on_walk:
                    on_walk(n)
        db.forget_unseen()
        db.commit()
        summary.walked = n
        summary.walk_seconds = time.monotonic() - t0 - summary.indicator_seconds
        db.update_run(walked=n, unchanged=summary.unchanged)

        # 2. hash what is pending
        th = time.monotonic()
        reader = sqlite3.connect(str(out / "state.sqlite"), timeout=60)
        reader.execute("BEGIN")  # one read snapshot while the writer commits batches
        total_files, total_bytes = reader.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE state='pending' AND parent IS NULL").fetchone()
        if progress is not None:
            progress.start(total_files, total_bytes)
        if total_files:
            if opts.dask_address:
                executor = _DaskExecutor(opts.dask_address)
            elif workers == 0:
                executor = _InlineExecutor()
            else:
                executor = _LocalExecutor(min(workers, max(1, total_files)))
            batches = _batches(reader, opts.batch_files, opts.batch_bytes)
            exhausted = False
            while True:
                while not exhausted and len(executor.running) < executor.slots:
                    b = next(batches, None)
                    if b is None:
                        exhausted = True
                        break
                    executor.submit(b, wopts)
                if not executor.running:
                    break
                for results in executor.done():
                    h, s = db.record_results(results)
                    summary.hashed += h
                    nb = sum(r.get("size") or 0 for r in results)
                    summary.hashed_bytes += nb
                    if progress is not None:
                        progress.advance(len(results), nb)
                    db.update_run(hashed=summary.hashed)
            executor.close()
            executor = None
        reader.rollback()
        reader.close()
        if progress is not None:
            progress.stop()
        summary.hash_seconds = time.monotonic() - th

        # 3. match, cluster, outputs
        tm = time.monotonic()
        try:
            _match_all(db, matcher)
        except MatchError as exc:
            raise ScanConfigError(str(exc)) from exc
        summary.match_seconds = time.monotonic() - tm
        to = time.monotonic()
        cl = clustering.compute(db.conn, opts.cluster_threshold)
        summary.series, summary.series_multi = cl["series"], cl["series_multi"]
        c = db.conn
        summary.files = c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        summary.contents = c.execute("SELECT COUNT(*) FROM contents").fetchone()[0]
        summary.known_files = c.execute(
            "SELECT COUNT(*) FROM files WHERE sha256 IN (SELECT sha256 FROM matches)").fetchone()[0]
        summary.unknown_media = c.execute(
            "SELECT COUNT(*) FROM contents WHERE media_type IN ('image', 'video') "
            "AND sha256 NOT IN (SELECT sha256 FROM matches)").fetchone()[0]
        summary.skipped = c.execute("SELECT COUNT(*) FROM files WHERE status IN ('skipped', 'limit')").fetchone()[0]
        summary.errors = c.execute("SELECT COUNT(*) FROM files WHERE status = 'error'").fetchone()[0]
        hashed_files = c.execute("SELECT COUNT(*) FROM files WHERE sha256 IS NOT NULL").fetchone()[0]
        summary.duplicates = hashed_files - summary.contents
        write_results(c, out)
        write_vics(c, out, opts.case)
        summary.output_seconds = time.monotonic() - to
        summary.elapsed = time.monotonic() - t0
        write_report(c, out, summary.as_dict(), opts.thumbnails)
        summary.output_seconds = time.monotonic() - to
        db.finish_run(hashed=summary.hashed, skipped=summary.skipped)
        if summary.known_files:
            summary.exit_code = EXIT_KNOWN
        elif summary.skipped:
            summary.exit_code = EXIT_UNREADABLE
        else:
            summary.exit_code = EXIT_CLEAN
        return summary
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.exit_code = EXIT_INTERRUPTED
        if executor is not None:
            executor.close(cancel=True)
        if progress is not None:
            progress.stop()
        try:
            if db.conn.in_transaction:
                db.conn.execute("COMMIT")
            db.finish_run(hashed=summary.hashed, interrupted=1)
        except sqlite3.Error:
            pass
        summary.elapsed = time.monotonic() - t0
        return summary
    finally:
        if old_term is not None:
            try:
                signal.signal(signal.SIGTERM, old_term)
            except ValueError:
                pass
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)
