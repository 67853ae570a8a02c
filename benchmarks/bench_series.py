#!/usr/bin/env python3
"""Series assignment and re-clustering (issue 17), side by side with a peer in the same run.

Figures named by the issue:
* series assignment for a new item against 10 M clustered items in < 5 ms;
* re-clustering 1 M items from scratch in < 10 min on 2 cores.

Parts (one thread for every engine, OMP/BLAS threads = 1):
A. Assignment core at N items (default 10 M): Balise's SeriesIndex (the PdqIndex the service
   keeps) + neighbour grouping + the series decision (domain/series.decide), per new item, on a
   clustered corpus whose families are the series (2-50 near-duplicates each, 0-15 bits from
   their centre); 30 % of new items are near a family. Peer: the same neighbour search with
   faiss IndexBinaryFlat range search (if faiss is importable) or a numpy brute-force scan.
B. The whole service: ``SeriesAssignment.assign`` in its own committed transaction on a real
   database (SQLite file; PostgreSQL with --postgres URL) holding M indexed items (default
   100 k): the DB part of one assignment (head lock, neighbour rows, insert, audit, commit).
C. Re-clustering from scratch: ``victims.clustering.components`` (PdqIndex self-query +
   vectorised union-find) over R items (default 1 M), and ``balise series recluster``'s whole
   run (read, cluster, write) on the database of part B.
D. ``balise series recluster`` end to end on its own database of D items (default 1 M) in no
   series yet: once from scratch (every series created), once again (references kept).

    python benchmarks/bench_series.py                        # 10 M / 100 k / 1 M (~6 min, ~4 GB)
    python benchmarks/bench_series.py --quick                # smoke run
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from balise.detection.adapters.pdq_index import PdqIndex, hamming, words_to_hex  # noqa: E402
from balise.domain.series import Neighbour, decide  # noqa: E402

THRESHOLD = 31
NEAR_SHARE = 0.30


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def flip_bits(words: np.ndarray, flips: np.ndarray, rng: np.random.Generator) -> None:
    kmax = int(flips.max()) if flips.size else 0
    for j in range(kmax):
        rows = np.flatnonzero(flips > j)
        bit = rng.integers(0, 256, rows.size)
        words[rows, bit // 64] ^= np.uint64(1) << (63 - (bit % 64)).astype(np.uint64)


def families(n: int, rng: np.random.Generator, max_flip: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """``n`` hashes in families of 2-50 near-duplicates; returns (words, family label)."""
    sizes = rng.integers(2, 51, size=n // 2 + 1)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]
    sizes[-1] -= int(sizes.sum()) - n
    sizes = sizes[sizes > 0]
    centres = rng.integers(0, 2**64, size=(sizes.size, 4), dtype=np.uint64)
    words = np.repeat(centres, sizes, axis=0)
    label = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    step = 1 << 20
    for a in range(0, n, step):
        flip_bits(words[a:a + step], rng.integers(0, max_flip + 1, min(step, n - a)), rng)
    order = rng.permutation(n)
    return words[order], label[order]


def new_items(corpus: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    out = rng.integers(0, 2**64, size=(q, 4), dtype=np.uint64)
    near = int(q * NEAR_SHARE)
    out[:near] = corpus[rng.integers(0, corpus.shape[0], near)]
    flip_bits(out[:near], rng.integers(0, 16, near), rng)
    return out[rng.permutation(q)]


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


def decide_from(ids: np.ndarray, dists: np.ndarray, series_of: np.ndarray, sizes: np.ndarray):  # type: ignore[no-untyped-def]
    """The service's step after the search: one Neighbour per item (row ids are items here),
    its series, the decision."""
    near = [Neighbour(str(int(i)), int(d), int(series_of[i]), "proposed") for i, d in zip(ids.tolist(), dists.tolist())]
    return decide(near, {n.series_id: int(sizes[n.series_id]) for n in near if n.series_id is not None})


def part_a(n: int, queries: int, rng: np.random.Generator) -> None:
    print(f"\nA. assignment core against {n:,} clustered items (load average {load()})")
    t = time.perf_counter()
    words, label = families(n, rng)
    print(f"   corpus generated in {time.perf_counter() - t:.1f} s: {int(label.max()) + 1:,} series")
    sizes = np.bincount(label)
    t = time.perf_counter()
    index = PdqIndex.build(words, np.arange(n, dtype=np.int64))
    print(f"   balise PdqIndex built in {time.perf_counter() - t:.1f} s")
    qs = new_items(words, queries, rng)
    times, joined = [], 0
    cpu0 = time.process_time()
    for i in range(queries):
        t0 = time.perf_counter()
        res = index.query(qs[i:i + 1], THRESHOLD)
        decision = decide_from(res.ids, res.distances, label, sizes)
        times.append(time.perf_counter() - t0)
        joined += decision is not None
    cpu_mean = (time.process_time() - cpu0) / queries
    print(f"   {'engine':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'(n)':>6}")
    print(f"   {'balise SeriesIndex + decide':<34} {pct(times, 50) * 1e3:8.3f} {pct(times, 95) * 1e3:8.3f} "
          f"{pct(times, 99) * 1e3:8.3f} {np.mean(times) * 1e3:8.3f} {queries:6d}   CPU ms/item {cpu_mean * 1e3:.3f}; "
          f"joined a series: {joined}")
    sample = qs[: max(5, min(50, queries // 20))]
    pcpu0 = time.process_time()
    try:
        import faiss  # type: ignore[import-not-found]

        faiss.omp_set_num_threads(1)
        flat = faiss.IndexBinaryFlat(256)
        flat.add(words.astype(">u8").view(np.uint8).reshape(n, 32))
        name, ptimes = "faiss IndexBinaryFlat range + decide", []
        for q in sample:
            t0 = time.perf_counter()
            lims, dist, ids = flat.range_search(q.reshape(1, 4).astype(">u8").view(np.uint8).reshape(1, 32), THRESHOLD + 1)
            decide_from(ids, dist, label, sizes)
            ptimes.append(time.perf_counter() - t0)
    except ImportError:
        name, ptimes = "numpy brute force + decide", []
        for q in sample:
            t0 = time.perf_counter()
            d = hamming(words, q)
            hit = np.flatnonzero(d <= THRESHOLD)
            decide_from(hit, d[hit], label, sizes)
            ptimes.append(time.perf_counter() - t0)
    pcpu = (time.process_time() - pcpu0) / len(ptimes)
    print(f"   {name:<34} {pct(ptimes, 50) * 1e3:8.3f} {pct(ptimes, 95) * 1e3:8.3f} {pct(ptimes, 99) * 1e3:8.3f} "
          f"{np.mean(ptimes) * 1e3:8.3f} {len(ptimes):6d}   CPU ms/item {pcpu * 1e3:.3f}")
    del index


def build_db(url: str | None, tmp: Path, m: int, rng: np.random.Generator,  # type: ignore[no-untyped-def]
             in_series: bool = True):
    from sqlalchemy import insert

    from balise.adapters.db.migrate import upgrade
    from balise.adapters.db.models import Item, Organisation, Report, Series, SeriesHash
    from balise.container import Balise
    from balise.settings import Settings

    url = url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    app = Balise(Settings(env="development", data_dir=tmp / "data", database_url=url))
    words, label = families(m, rng)
    hexes = words_to_hex(words)
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    org, report = uuid.uuid4(), uuid.uuid4()
    item_ids = [uuid.uuid4() for _ in range(m)]
    t = time.perf_counter()
    with app.db.transaction() as s:
        s.execute(insert(Organisation), [{"id": org, "name": f"BENCH {org.hex[:6]}", "kind": "provider", "is_demo": True,
                                          "created_at": now}])
        s.execute(insert(Report), [{"id": report, "organisation_id": org, "source": "provider_api", "state": "received",
                                    "urgent": False, "imminent_threat": False, "priority": 0, "revision": 0,
                                    "is_demo": True, "created_at": now, "updated_at": now}])
        nseries = int(label.max()) + 1 if in_series else 0
        if in_series:
            s.execute(insert(Series), [{"id": i + 1, "status": "proposed", "item_count": int(c), "identified": False,
                                    "created_at": now, "updated_at": now} for i, c in enumerate(np.bincount(label))])
        for a in range(0, m, 20_000):
            s.execute(insert(Item), [{"id": item_ids[i], "report_id": report, "position": i, "kind": "media",
                                      "media_type": "image", "polyglot": False, "matched": False, "times_reported": 1,
                                      "revision": 0, "created_at": now,
                                      "hashes": {"pdq": hexes[i], "pdq_quality": 100}} for i in range(a, min(m, a + 20_000))])
            s.execute(insert(SeriesHash), [{"item_id": item_ids[i], "report_id": report, "kind": "pdq", "pdq": hexes[i],
                                            "series_id": int(label[i]) + 1 if in_series else None,
                                            "distance": 0, "created_at": now}
                                           for i in range(a, min(m, a + 20_000))])
    if url.startswith("postgresql") and in_series:
        from sqlalchemy import text

        with app.db.transaction() as s:
            s.execute(text("SELECT setval('series_id_seq', (SELECT max(id) FROM series))"))
    print(f"   {m:,} items in {nseries:,} series loaded in {time.perf_counter() - t:.1f} s")
    return app, words, report


def part_b(url: str | None, tmp: Path, m: int, assignments: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    from balise.adapters.db.models import Item

    kind = "PostgreSQL" if url else "SQLite"
    print(f"\nB. SeriesAssignment.assign, one committed transaction each, {kind} holding {m:,} items "
          f"(load average {load()})")
    app, words, report = build_db(url, tmp, m, rng)
    qs = words_to_hex(new_items(words, assignments, rng))
    t = time.perf_counter()
    with app.db.sessions() as s:
        app.series_assignment.index.catch_up(s)
    print(f"   index built from the table in {time.perf_counter() - t:.1f} s")
    times, linked = [], 0
    cpu0 = time.process_time()
    for i, pdq in enumerate(qs):
        t0 = time.perf_counter()
        with app.db.transaction() as s:
            item = Item(report_id=report, position=m + i, kind="media", media_type="image",
                        hashes={"pdq": pdq, "pdq_quality": 100})
            s.add(item)
            s.flush()
            t1 = time.perf_counter()
            sid = app.series_assignment.assign(s, item)
            t2 = time.perf_counter()
        times.append((time.perf_counter() - t0, t2 - t1))
        linked += sid is not None
    cpu_mean = (time.process_time() - cpu0) / len(qs)
    whole = [a for a, _ in times]
    inner = [b for _, b in times]
    print(f"   {'':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'(n)':>6}")
    print(f"   {'assign() in the transaction':<34} {pct(inner, 50) * 1e3:8.3f} {pct(inner, 95) * 1e3:8.3f} "
          f"{pct(inner, 99) * 1e3:8.3f} {np.mean(inner) * 1e3:8.3f} {len(inner):6d}   linked: {linked}")
    print(f"   {'item insert + assign + commit':<34} {pct(whole, 50) * 1e3:8.3f} {pct(whole, 95) * 1e3:8.3f} "
          f"{pct(whole, 99) * 1e3:8.3f} {np.mean(whole) * 1e3:8.3f} {len(whole):6d}   CPU ms/item {cpu_mean * 1e3:.3f} "
          "(this process; the database server's own time is not in it)")
    return app


def part_c(r: int, app, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    from balise.accounts.actors import Actor
    from balise.victims.clustering import Reclustering, components

    print(f"\nC. re-clustering from scratch (load average {load()})")
    words, label = families(r, rng)
    t = time.perf_counter()
    cpu = time.process_time()
    labels = components(words, np.arange(r, dtype=np.int64), THRESHOLD)
    wall, used = time.perf_counter() - t, time.process_time() - cpu
    found = np.unique(labels).size
    print(f"   components() over {r:,} items: {wall:.1f} s wall, {used:.1f} s CPU (one core); "
          f"{found:,} components for {int(label.max()) + 1:,} generated families")
    if app is not None:
        t = time.perf_counter()
        with app.db.transaction() as s:
            summary = Reclustering(app.audit, app.clock, app.series_assignment).run(s, Actor.system("bench"))
        print(f"   balise series recluster (read, cluster, write, commit) on part B's database: "
              f"{time.perf_counter() - t:.1f} s for {summary['items']:,} items, {summary['series']:,} series")


def part_d(url: str | None, tmp: Path, m: int, rng: np.random.Generator) -> None:
    from balise.accounts.actors import Actor
    from balise.victims.clustering import Reclustering

    kind = "PostgreSQL" if url else "SQLite"
    print(f"\nD. balise series recluster end to end, {kind} holding {m:,} items in no series "
          f"(load average {load()})")
    tmp.mkdir(parents=True, exist_ok=True)
    app, _, _ = build_db(url, tmp, m, rng, in_series=False)
    for run in ("from scratch (every series new)", "again (every reference kept)"):
        t, cpu = time.perf_counter(), time.process_time()
        with app.db.transaction() as s:
            summary = Reclustering(app.audit, app.clock, app.series_assignment).run(s, Actor.system("bench"))
        print(f"   {run}: {time.perf_counter() - t:.1f} s wall, {time.process_time() - cpu:.1f} s CPU of this "
              f"process; {summary['items']:,} items, {summary['series']:,} series, {summary['created']:,} created "
              f"(load average {load()})")
    app.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=10_000_000, help="part A: clustered items in the index")
    p.add_argument("--queries", type=int, default=2_000, help="part A: new items assigned")
    p.add_argument("--db-items", type=int, default=100_000, help="part B: items in the database")
    p.add_argument("--assignments", type=int, default=500, help="part B: new items assigned")
    p.add_argument("--recluster", type=int, default=1_000_000, help="part C: items re-clustered")
    p.add_argument("--postgres", default=None, help="parts B and D on this PostgreSQL URL (an empty database)")
    p.add_argument("--recluster-db", type=int, default=1_000_000,
                   help="part D: items in the database re-clustered end to end")
    p.add_argument("--skip", default="", help="parts to skip, e.g. A or AC or ABC (only D)")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.items, args.queries, args.db_items, args.assignments, args.recluster = 200_000, 300, 5_000, 50, 50_000
        args.recluster_db = 20_000
    rng = np.random.default_rng(17)
    print(f"bench_series: {os.cpu_count()} logical cores, numpy {np.__version__}, load average {load()}")
    if "A" not in args.skip:
        part_a(args.items, args.queries, rng)
    app = None
    with tempfile.TemporaryDirectory(prefix="balise-bench-series-") as tmp:
        if "B" not in args.skip:
            app = part_b(args.postgres, Path(tmp), args.db_items, args.assignments, rng)
        if "C" not in args.skip:
            part_c(args.recluster, app, rng)
        if app is not None:
            app.close()
        if "D" not in args.skip:
            if args.postgres and "B" not in args.skip:
                print("\nD. skipped: part B used the PostgreSQL database; run D alone (--skip ABC) on an empty one")
            else:
                part_d(args.postgres, Path(tmp) / "d", args.recluster_db, rng)


if __name__ == "__main__":
    main()
