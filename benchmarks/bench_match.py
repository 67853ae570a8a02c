#!/usr/bin/env python3
"""PDQ matching benchmark: Balise's exact PdqIndex against its peers, side by side, one run.

Peers: numpy brute force, faiss IndexBinaryFlat, faiss IndexBinaryMultiHash and
python-threatexchange's PDQIndex (faiss multi-hash behind a Python wrapper). Everything runs
on ONE thread (OMP/BLAS threads = 1, faiss.omp_set_num_threads(1)), so "per second" is per core.

Corpora per size: uniformly random hashes, and clustered ones (near-duplicate families of
2-50 members around random centres, 0-40 bit flips each, as real hash lists have). 10 k
queries; 30 % are a stored hash with 0-31 bits flipped (true neighbours within 31).

Recall is measured against an independent numpy brute force on a sample of queries; slow
peers run their timed queries on a sample (the table says how many).

    python benchmarks/bench_match.py                      # 1 M and 10 M, ~11 min on 2 cores
    python benchmarks/bench_match.py --quick              # small smoke run
    python benchmarks/bench_match.py --sizes 1000000 --queries 10000
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from balise.detection.adapters.pdq_index import PdqIndex, words_to_hex  # noqa: E402

THRESHOLD = 31
NEAR_SHARE = 0.30


# ---------------------------------------------------------------------------------------------
# Utilities


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import faiss

    try:
        from importlib.metadata import version

        te = version("threatexchange")
    except Exception:  # noqa: BLE001
        te = "?"
    return (
        f"CPU: {cpu}; {os.cpu_count()} cores; RAM {ram:.1f} GiB; {platform.platform()}\n"
        f"Python {platform.python_version()}; numpy {np.__version__}; faiss-cpu {faiss.__version__}; "
        f"threatexchange {te}; threads per engine: 1"
    )


def flip_bits(words: np.ndarray, flips: np.ndarray, rng: np.random.Generator) -> None:
    """In place: flip flips[i] random bits of row i (drawn with replacement, so a repeated bit
    cancels and the distance is <= flips[i])."""
    kmax = int(flips.max()) if flips.size else 0
    for j in range(kmax):
        rows = np.flatnonzero(flips > j)
        bit = rng.integers(0, 256, rows.size)
        words[rows, bit // 64] ^= np.uint64(1) << (63 - (bit % 64)).astype(np.uint64)


def random_words(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64, endpoint=False)


def clustered_words(n: int, rng: np.random.Generator) -> np.ndarray:
    sizes = []
    total = 0
    while total < n:
        s = int(rng.integers(2, 51))
        s = min(s, n - total)
        sizes.append(s)
        total += s
    sizes = np.array(sizes)
    centres = random_words(sizes.size, rng)
    out = np.repeat(centres, sizes, axis=0)
    step = 1 << 20
    for a in range(0, n, step):
        part = out[a : a + step]
        flip_bits(part, rng.integers(0, 41, part.shape[0]), rng)
    return out[rng.permutation(n)]


def make_queries(corpus: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    out = random_words(q, rng)
    near = int(q * NEAR_SHARE)
    src = rng.integers(0, corpus.shape[0], near)
    out[:near] = corpus[src]
    flip_bits(out[:near], rng.integers(0, THRESHOLD + 1, near), rng)
    return out[rng.permutation(q)]


def brute_force(corpus: np.ndarray, queries: np.ndarray, threshold: int = THRESHOLD) -> set[tuple[int, int, int]]:
    """Independent reference: one full scan per query. Ids are row numbers."""
    out = set()
    for qi in range(queries.shape[0]):
        d = np.zeros(corpus.shape[0], dtype=np.uint16)
        for w in range(4):
            d += np.bitwise_count(corpus[:, w] ^ queries[qi, w])
        rows = np.flatnonzero(d <= threshold)
        out.update((qi, int(r), int(d[r])) for r in rows)
    return out


def to_bytes(words: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(-1, 32)


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs), p)) if xs else float("nan")


def recall(got: set, exact: set) -> tuple[float, bool]:
    r = len(got & exact) / len(exact) if exact else 1.0
    return r, got == exact


# ---------------------------------------------------------------------------------------------
# Engines: each returns {build_s, mem_mb, qps, n_batch, p50_ms, p95_ms, n_single, recall, identical, notes}


def time_single(fn, queries: np.ndarray, count: int) -> list[float]:
    lat = []
    for i in range(min(count, queries.shape[0])):
        t = time.perf_counter()
        fn(queries[i : i + 1])
        lat.append(time.perf_counter() - t)
    return lat


def run_engine(name, build, batch, single, corpus, queries, exact_sample, n_batch, n_single, params=""):
    gc.collect()
    r0 = rss_bytes()
    t = time.perf_counter()
    eng = build(corpus)
    build_s = time.perf_counter() - t
    gc.collect()
    mem = (rss_bytes() - r0) / 2**20
    qb = queries[:n_batch]
    # Warm-up (untimed, on other queries): first-touch page faults and allocator growth.
    batch(eng, queries[-max(1, min(200, n_batch // 20)) :])
    for i in range(3):
        single(eng, queries[-1 - i : queries.shape[0] - i])
    t = time.perf_counter()
    c = time.process_time()
    batch(eng, qb)
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    lat = time_single(lambda q: single(eng, q), queries, n_single)
    rq = queries[: len(exact_sample[1])]
    got = batch(eng, rq)
    rec, same = recall(got, exact_sample[0])
    row = dict(
        engine=name,
        params=params,
        build_s=build_s,
        mem_mb=mem,
        qps=n_batch / wall,
        qps_cpu=n_batch / cpu if cpu > 0 else float("nan"),
        n_batch=n_batch,
        p50_ms=pct(lat, 50) * 1e3,
        p95_ms=pct(lat, 95) * 1e3,
        n_single=len(lat),
        recall=rec,
        identical=same,
    )
    return eng, row


def balise_engine(corpus):
    return PdqIndex.build(corpus, np.arange(corpus.shape[0], dtype=np.int64))


def balise_batch(eng, q):
    r = eng.query(q, THRESHOLD)
    return set(zip(r.query_index.tolist(), r.ids.tolist(), r.distances.tolist()))


def numpy_batch(corpus, q):
    return brute_force(corpus, q)


def faiss_flat_build(corpus):
    import faiss

    idx = faiss.IndexBinaryFlat(256)
    idx.add(to_bytes(corpus))
    return idx


def faiss_range(idx, q):
    lims, dist, ids = idx.range_search(to_bytes(q), THRESHOLD + 1)
    out = set()
    for i in range(q.shape[0]):
        a, b = lims[i], lims[i + 1]
        out.update(zip([i] * (b - a), ids[a:b].tolist(), dist[a:b].astype(int).tolist()))
    return out


MIH_NHASH, MIH_B = 16, 16
MIH_NFLIP = THRESHOLD // MIH_NHASH  # 16 chunks of 16 bits, radius 1: exact for d <= 31


def faiss_mih_build(corpus):
    import faiss

    idx = faiss.IndexBinaryMultiHash(256, MIH_NHASH, MIH_B)
    idx.nflip = MIH_NFLIP
    idx.add(to_bytes(corpus))
    return idx


def te_build(corpus):
    from threatexchange.signal_type.pdq.pdq_index import PDQIndex

    hexes = words_to_hex(corpus)
    return PDQIndex(zip(hexes, range(len(hexes))))


def te_batch(eng, q):
    # PDQIndex.query takes one hash; its faiss wrapper has the batched call.
    hexes = words_to_hex(q)
    res = eng.index.search_with_distance_in_result(hexes, THRESHOLD)
    out = set()
    for i, h in enumerate(hexes):
        out.update((i, int(e[0]), int(e[2])) for e in res[h])
    return out


def te_single(eng, q):
    return eng.query(words_to_hex(q)[0])


# ---------------------------------------------------------------------------------------------


def bench_size(n: int, kind: str, args, rng) -> list[dict]:
    print(f"\n## {kind} corpus, N = {n:,}", flush=True)
    t = time.perf_counter()
    corpus = random_words(n, rng) if kind == "random" else clustered_words(n, rng)
    queries = make_queries(corpus, args.queries, rng)
    print(f"   generated corpus + {args.queries:,} queries in {time.perf_counter() - t:.1f} s", flush=True)

    big = n >= 5_000_000
    n_exact = args.recall_sample or (200 if big else 1000)
    n_exact = min(n_exact, args.queries)
    t = time.perf_counter()
    exact = brute_force(corpus, queries[:n_exact])
    bf_s = time.perf_counter() - t
    near = len({q for q, _, _ in exact})
    print(
        f"   exact reference: {n_exact} queries, {len(exact)} pairs, {near} queries with neighbours "
        f"({bf_s:.1f} s)",
        flush=True,
    )
    sample = (exact, queries[:n_exact])
    rows = []

    # Balise
    eng, row = run_engine(
        "balise PdqIndex", balise_engine, balise_batch, lambda e, q: e.query(q, THRESHOLD), corpus, queries,
        sample, args.queries, min(args.queries, 2000),
    )
    layout = [b for _, b in eng.layout]
    row["params"] = f"m={len(layout)} chunks of {min(layout)}-{max(layout)} bits, radii {list(eng.radii(THRESHOLD))}"
    nb = eng.nbytes()
    row["array_mb"] = sum(nb.values()) / 2**20
    row["params"] += f"; arrays {', '.join(f'{k} {v / 2**20:.0f}' for k, v in nb.items() if v)} MB"
    rows.append(row)
    print_row(row)
    # The same index probed by the numpy kernel (the fallback without a C compiler, and the
    # reference the compiled kernel is tested against), on the layout chosen for the compiled one.
    os.environ["BALISE_PDQ_KERNEL"] = "numpy"
    try:
        _, numpy_row = run_engine(
            "balise, numpy kernel", lambda c: eng, balise_batch, lambda e, q: e.query(q, THRESHOLD), corpus,
            queries, sample, args.queries, min(args.queries, 2000), params="the index above (build and memory: see above)",
        )
    finally:
        del os.environ["BALISE_PDQ_KERNEL"]
    numpy_row["build_s"] = numpy_row["mem_mb"] = 0.0
    rows.append(numpy_row)
    print_row(numpy_row)

    # Extras: incremental adds and snapshots.
    extra = {}
    adds = random_words(1000, rng)
    lat = []
    t0 = time.perf_counter()
    for i in range(1000):
        t = time.perf_counter()
        eng.add(adds[i : i + 1], np.array([n + i], dtype=np.int64))
        r = eng.query(adds[i : i + 1], 0)
        assert (n + i) in r.ids.tolist(), "added hash not visible"
        lat.append(time.perf_counter() - t)
    extra["adds_total_s"] = time.perf_counter() - t0
    extra["add_visible_p50_ms"] = pct(lat, 50) * 1e3
    extra["add_visible_p95_ms"] = pct(lat, 95) * 1e3
    t = time.perf_counter()
    eng.query(queries[:1000], THRESHOLD)
    extra["qps_with_delta"] = 1000 / (time.perf_counter() - t)
    t = time.perf_counter()
    removed = eng.remove(np.arange(n, n + 1000))
    extra["remove_1000_ms"] = (time.perf_counter() - t) * 1e3
    assert removed == 1000
    snap = Path(tempfile.mkdtemp(prefix="bench_pdq_", dir=args.tmp))
    try:
        t = time.perf_counter()
        eng.save(snap)
        extra["save_s"] = time.perf_counter() - t
        extra["snapshot_mb"] = sum(f.stat().st_size for f in snap.iterdir()) / 2**20
        del eng
        gc.collect()
        r0 = rss_bytes()
        t = time.perf_counter()
        loaded = PdqIndex.load(snap, mmap=True)
        extra["load_ms"] = (time.perf_counter() - t) * 1e3
        extra["load_rss_mb"] = (rss_bytes() - r0) / 2**20
        t = time.perf_counter()
        got = balise_batch(loaded, queries)
        extra["mmap_qps_first"] = args.queries / (time.perf_counter() - t)
        t = time.perf_counter()
        got = balise_batch(loaded, queries)
        extra["mmap_qps_warm"] = args.queries / (time.perf_counter() - t)
        got = balise_batch(loaded, queries[:n_exact])
        extra["mmap_identical"] = got == exact
        del loaded, got
    finally:
        shutil.rmtree(snap, ignore_errors=True)
    gc.collect()
    print(
        "   balise extras: 1000 single adds, each visible to the next query: "
        f"total {extra['adds_total_s']:.2f} s, add+query p50 {extra['add_visible_p50_ms']:.2f} ms "
        f"p95 {extra['add_visible_p95_ms']:.2f} ms; batched q/s with a 1000-hash delta "
        f"{extra['qps_with_delta']:,.0f}; remove 1000 ids {extra['remove_1000_ms']:.1f} ms\n"
        f"   snapshot: save {extra['save_s']:.2f} s ({extra['snapshot_mb']:.0f} MB), mmap load "
        f"{extra['load_ms']:.1f} ms (RSS +{extra['load_rss_mb']:.0f} MB), batched q/s from the mapped snapshot "
        f"{extra['mmap_qps_first']:,.0f} first pass / {extra['mmap_qps_warm']:,.0f} warm, "
        f"results identical to brute force: {extra['mmap_identical']}",
        flush=True,
    )

    # numpy brute force
    nb_q = 20 if big else 100
    _, row = run_engine(
        "numpy brute force", lambda c: c, numpy_batch, numpy_batch, corpus, queries, sample, nb_q, nb_q,
        params="uint64 XOR + bitwise_count, one scan per query",
    )
    row["mem_mb"] = corpus.nbytes / 2**20
    rows.append(row)
    print_row(row)

    # faiss flat
    nf = 200 if big else 1000
    eng, row = run_engine(
        "faiss IndexBinaryFlat", faiss_flat_build, faiss_range, faiss_range, corpus, queries, sample, nf,
        min(nf, 200), params="range_search(radius=32)",
    )
    del eng
    rows.append(row)
    print_row(row)

    # faiss multi-hash
    nm = 300 if big else 2000
    eng, row = run_engine(
        "faiss IndexBinaryMultiHash", faiss_mih_build, faiss_range, faiss_range, corpus, queries, sample, nm,
        min(nm, 1000), params=f"nhash={MIH_NHASH}, b={MIH_B}, nflip={MIH_NFLIP} (exact for d<=31)",
    )
    del eng
    gc.collect()
    rows.append(row)
    print_row(row)

    # threatexchange
    if not args.skip_te:
        eng, row = run_engine(
            "threatexchange PDQIndex", te_build, te_batch, te_single, corpus, queries, sample, nm, min(nm, 1000),
            params="1.2.17 PDQIndex = IndexBinaryIDMap2(IndexBinaryMultiHash nhash=16), hex-string API",
        )
        del eng
        gc.collect()
        rows.append(row)
        print_row(row)
    del corpus, queries
    gc.collect()
    for r in rows:
        r["n"] = n
        r["kind"] = kind
    rows[0]["extra"] = extra
    return rows


HEADER = (
    f"{'engine':28s} {'build s':>8s} {'mem MB':>8s} {'batch q/s':>10s} {'cpu q/s':>9s} {'(n)':>6s} "
    f"{'p50 ms':>8s} {'p95 ms':>8s} {'(n)':>5s} {'recall':>7s} {'same':>5s}"
)


def fmt_row(r: dict) -> str:
    return (
        f"{r['engine']:28s} {r['build_s']:8.2f} {r['mem_mb']:8.0f} {r['qps']:10,.0f} {r['qps_cpu']:9,.0f} {r['n_batch']:6d} "
        f"{r['p50_ms']:8.3f} {r['p95_ms']:8.3f} {r['n_single']:5d} {r['recall']:7.4f} {str(r['identical']):>5s}"
    )


def print_row(r: dict) -> None:
    print("   " + fmt_row(r) + f"   [{r['params']}]", flush=True)


def bench_http(n: int, seconds: float, batch: int, rng: np.random.Generator) -> None:
    """POST /api/v1/match end to end: a real `balise serve` (one process, SQLite, embedded
    default) holding n random PDQ indicators, and a client on the same 2-core machine sending
    batches of ``batch`` hashes from two threads for ``seconds``."""
    import json
    import re
    import socket
    import subprocess
    import threading

    import httpx

    balise = str(Path(sys.executable).parent / "balise")
    work = Path(tempfile.mkdtemp(prefix="balise-bench-http-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(work), BALISE_API_RATE_LIMIT="100000000/minute",
               BALISE_RUN_JOBS_IN_SERVER="false")

    def run(*args: str) -> str:
        return subprocess.run([balise, *args], env=env, check=True, capture_output=True, text=True).stdout

    try:
        run("db", "upgrade")
        key = re.search(r"(bal_\S+)", run("org", "create", "Bench", "--kind", "provider", "--scope", "match")).group(1)
        # Keys match only within a live access grant (docs/oversight.md#access-grants).
        until = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 300 * 86400))
        grant = run("grant", "request", "Bench", "--database", "known_indicators", "--operation", "match",
                    "--purpose", "benchmark", "--legal-basis", "benchmark", "--until", until).split()[1]
        run("grant", "approve", grant, "--reason", "benchmark approval")
        corpus = random_words(n, rng)
        hexes = words_to_hex(corpus)
        lines = work / "pdq.txt"
        lines.write_text("".join(f"pdq {h}\n" for h in hexes))
        t = time.perf_counter()
        run("indicators", "import", str(lines), "--format", "te", "--court", "DEMO court (benchmark)",
            "--reference", "bench_match")
        import_s = time.perf_counter() - t
        t = time.perf_counter()
        run("indicators", "snapshot")
        snapshot_s = time.perf_counter() - t
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([balise, "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.3)
            queries = words_to_hex(make_queries(corpus, 20 * batch, rng))
            bodies = [json.dumps({"hashes": [{"type": "pdq", "value": h} for h in queries[i:i + batch]]})
                      for i in range(0, len(queries), batch)]
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            with httpx.Client(timeout=60) as warm:
                warm.post(f"{base}/api/v1/match", content=bodies[0], headers=headers).raise_for_status()
            counts = {"hashes": 0, "matched": 0, "calls": 0}
            lock = threading.Lock()
            stop_at = time.monotonic() + seconds
            latencies: list[float] = []

            def client(offset: int) -> None:
                with httpx.Client(timeout=60) as c:
                    i = offset
                    while time.monotonic() < stop_at:
                        t0 = time.perf_counter()
                        r = c.post(f"{base}/api/v1/match", content=bodies[i % len(bodies)], headers=headers)
                        r.raise_for_status()
                        with lock:
                            latencies.append(time.perf_counter() - t0)
                            counts["hashes"] += batch
                            counts["matched"] += r.json()["matched"]
                            counts["calls"] += 1
                        i += 1

            t = time.perf_counter()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - t
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"\n## HTTP POST /api/v1/match, {n:,} PDQ indicators, one `balise serve` process (SQLite), "
              f"client on the same 2-core machine, 2 client threads, {batch} hashes per call")
        print(f"   import {n:,} indicators: {import_s:.1f} s; snapshot: {snapshot_s:.1f} s")
        print(f"   {counts['calls']} calls in {elapsed:.1f} s: {counts['hashes'] / elapsed:,.0f} hashes/s, "
              f"{counts['calls'] / elapsed:.1f} calls/s, call p50 {pct(latencies, 50) * 1000:.0f} ms, "
              f"p95 {pct(latencies, 95) * 1000:.0f} ms; {counts['matched'] / max(1, counts['hashes']):.0%} matched")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated corpus sizes")
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--kinds", default="random,clustered")
    ap.add_argument("--recall-sample", type=int, default=0, help="queries checked against brute force")
    ap.add_argument("--quick", action="store_true", help="small smoke run (20 k hashes, 1 k queries)")
    ap.add_argument("--skip-te", action="store_true", help="leave out python-threatexchange")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--tmp", default=None, help="directory for snapshot files")
    ap.add_argument("--http-indicators", type=int, default=1_000_000, help="indicators behind the HTTP benchmark (0: skip it)")
    ap.add_argument("--http-seconds", type=float, default=30.0)
    ap.add_argument("--http-batch", type=int, default=1000, help="hashes per POST /api/v1/match call")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.queries = "20000", 1000
        args.http_indicators, args.http_seconds = min(args.http_indicators, 20_000), min(args.http_seconds, 5.0)
    import faiss

    faiss.omp_set_num_threads(1)
    print("# Balise PDQ matching benchmark (threshold 31, exact = every stored hash within 31 bits)")
    print(machine())
    print(f"queries: {args.queries:,} per corpus, {NEAR_SHARE:.0%} with a true neighbour within 31 bits")
    rng = np.random.default_rng(args.seed)
    t_all = time.perf_counter()
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        for kind in args.kinds.split(","):
            rows += bench_size(n, kind, args, rng)
    print("\n# Summary (1 thread; batch q/s = queries / wall time of one batched call on (n) queries,")
    print("#          cpu q/s = the same per second of this process's CPU time (robust to other load);")
    print("#          p50/p95 = single-query latency over (n) one-query calls; recall/same vs numpy brute force)")
    for n in sorted({r["n"] for r in rows}):
        for kind in args.kinds.split(","):
            sel = [r for r in rows if r["n"] == n and r["kind"] == kind]
            if not sel:
                continue
            print(f"\nN = {n:,} {kind}")
            print(HEADER)
            for r in sel:
                print(fmt_row(r))
            ex = sel[0].get("extra", {})
            if ex:
                print(
                    f"  balise: 1000 adds each visible on the next query: {ex['adds_total_s']:.2f} s total "
                    f"(add+query p50 {ex['add_visible_p50_ms']:.2f} ms); save {ex['save_s']:.2f} s "
                    f"({ex['snapshot_mb']:.0f} MB); mmap load {ex['load_ms']:.1f} ms; mapped q/s "
                    f"{ex['mmap_qps_first']:,.0f} cold / {ex['mmap_qps_warm']:,.0f} warm"
                )
            for r in sel:
                print(f"  {r['engine']}: {r['params']}")
    if args.http_indicators:
        bench_http(args.http_indicators, args.http_seconds, args.http_batch, rng)
    print(f"\ntotal run time {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
