"""Benchmark of `balise scan` (docs/scan.md): throughput per core, memory vs corpus size,
speed-up with local workers and with a local Dask cluster, and the cost of a resume.

    .venv/bin/python benchmarks/bench_scan.py [--sizes 10000,30000,100000] [--workdir DIR]
    .venv/bin/python benchmarks/bench_scan.py --sizes 2000 --only-sizes --repeat 3   # a small set
    .venv/bin/python benchmarks/bench_scan.py --photos 1032x774 --sizes 6000   # issue 19 item 7

With ``--photos WxH`` the corpus is only distinct JPEGs of that size (no copies, no other files),
each file hashed in full: the issue 19 figure "files/s per core on 0.8 MP JPEGs with 1 M
indicators", scanned with 1 worker and with every core.

Everything is generated in a temporary directory (never committed): benign pictures (random
colour blocks, JPEG, mixed sizes 320x240 .. 3000x2000), ~20 % exact copies, ~20 % near
duplicates (resized to 90 %, 5 % brighter, re-encoded at quality 70), ~4 % non-media files and a few videos
copied at run time from tests/data/vectors/tmk/sample-videos, in directories of
1,000 files. Indicators: 1,000,000 random PDQ hashes plus 200,000 random MD5 and the MD5 of
1 % of the corpus (so some files are known). The scan runs as the CLI in a subprocess, as a
user would run it; peak RSS is sampled (psutil) over the whole process tree. Loopback only.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

SIZES = [((320, 240), 0.30), ((640, 480), 0.40), ((1024, 768), 0.20), ((1600, 1200), 0.08), ((3000, 2000), 0.02)]
VIDEOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "vectors" / "tmk" / "sample-videos"
PY = sys.executable


PHOTOS: tuple[int, int] | None = None  # --photos WxH: every file a distinct JPEG of that size


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    sizes = [s for s, _ in SIZES]
    w, h = PHOTOS or sizes[rng.choice(len(sizes), p=[p for _, p in SIZES])]
    grid = rng.integers(0, 256, (rng.integers(6, 16), rng.integers(6, 16), 3), dtype=np.uint8)
    return Image.fromarray(grid, "RGB").resize((w, h), Image.NEAREST)


def jpeg(img: Image.Image) -> bytes:
    b = io.BytesIO()
    img.save(b, "JPEG", quality=85)
    return b.getvalue()


def plan(n: int, seed: int = 7) -> list[tuple[int, str, int]]:
    if PHOTOS:
        return [(i, "unique", i) for i in range(n)]
    rng = np.random.default_rng(seed)
    r = rng.random(n)
    out, uniq = [], []
    for i in range(n):
        if r[i] < 0.56 or not uniq:
            out.append((i, "unique", i))
            uniq.append(i)
        elif r[i] < 0.76:
            out.append((i, "copy", uniq[int(rng.integers(0, len(uniq)))]))
        elif r[i] < 0.96:
            out.append((i, "near", uniq[int(rng.integers(0, len(uniq)))]))
        elif r[i] < 0.9995:
            out.append((i, "other", i))
        else:
            out.append((i, "video", i))
    return out


def _make(args: tuple[str, list[tuple[int, str, int]], tuple[int, int] | None]) -> None:
    global PHOTOS
    root, items, PHOTOS = args
    videos = sorted(VIDEOS.glob("*.mp4")) if VIDEOS.is_dir() else []
    for i, kind, j in items:
        d = Path(root) / f"d{i // 1000:03d}"
        d.mkdir(exist_ok=True)
        p = d / f"f{i:06d}.dat"  # no meaningful extension: media are identified by content
        if p.exists():  # a reused --workdir: the corpus is deterministic
            continue
        if kind in ("unique", "copy"):
            data = jpeg(picture(j))
        elif kind == "near":
            img = picture(j)
            w, h = img.size
            img = img.resize((w * 9 // 10, h * 9 // 10), Image.BILINEAR).point(lambda v: min(255, int(v * 1.05)))
            b = io.BytesIO()
            img.save(b, "JPEG", quality=70)
            data = b.getvalue()
        elif kind == "other":
            data = np.random.default_rng(i).integers(0, 256, 1000 + i % 40000, dtype=np.uint8).tobytes()
        else:
            if videos:
                data = videos[i % len(videos)].read_bytes()
            else:
                data = b"no video available"
        p.write_bytes(data)


def make_corpus(root: Path, n: int) -> dict[str, int]:
    items = plan(n)
    chunks = [items[k:k + 500] for k in range(0, n, 500)]
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        pool.map(_make, [(str(root), c, PHOTOS) for c in chunks])
    kinds: dict[str, int] = {}
    for _, k, _ in items:
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def make_indicators(path: Path, corpus: Path, n_files: int) -> None:
    import hashlib

    rng = np.random.default_rng(11)
    pdq = rng.integers(0, 2**63, (1_000_000, 4), dtype=np.uint64)
    md5 = rng.integers(0, 2**63, (200_000, 2), dtype=np.uint64)
    with open(path, "w") as f:
        raw = pdq.astype(">u8").tobytes().hex()
        f.writelines(f"pdq {raw[k:k + 64]}\n" for k in range(0, len(raw), 64))
        raw = md5.astype(">u8").tobytes().hex()
        f.writelines(f"md5 {raw[k:k + 32]}\n" for k in range(0, len(raw), 32))
        for i in range(0, n_files, 100):  # 1 % of the corpus is known
            p = corpus / f"d{i // 1000:03d}" / f"f{i:06d}.dat"
            f.write(f"md5 {hashlib.md5(p.read_bytes()).hexdigest()}\n")


class Sampler:
    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak_total = 0
        self.peak_main = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self) -> None:
        import psutil

        while not self.stop:
            try:
                main = self.proc.memory_info().rss
                total = main
                for c in self.proc.children(recursive=True):
                    try:
                        total += c.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_main = max(self.peak_main, main)
                self.peak_total = max(self.peak_total, total)
            except psutil.Error:
                return
            time.sleep(0.2)


def scan(paths: list[Path], out: Path, indicators: Path, *extra: str, interrupt_at: float | None = None,
         total: int = 0) -> dict:
    cmd = [PY, "-m", "balise.cli.scan", *map(str, paths), "--out", str(out), "--indicators", str(indicators),
           "--no-progress", *extra]
    t0 = time.monotonic()
    # SIG_DFL in the child: after a Dask LocalCluster this process may ignore SIGINT, and an ignored
    # SIGINT would be inherited (then the interruption at 50 % never happens)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    s = Sampler(proc.pid)
    if interrupt_at is not None:
        db = out / "state.sqlite"
        while proc.poll() is None:
            time.sleep(0.25)
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
                    done = c.execute("SELECT COUNT(*) FROM files WHERE state='done' AND parent IS NULL").fetchone()[0]
            except sqlite3.Error:
                continue
            if done >= interrupt_at * total:
                proc.send_signal(signal.SIGINT)
                break
    stdout, stderr = proc.communicate()
    s.stop = True
    dt = time.monotonic() - t0
    stages = next((ln[len("time: "):] for ln in stdout.splitlines() if ln.startswith("time: ")), "")
    info = {"seconds": dt, "rc": proc.returncode, "stages": stages, "load": os.getloadavg()[0], "peak_main": s.peak_main, "peak_total": s.peak_total,
            "stdout": stdout, "stderr": stderr}
    if (out / "state.sqlite").exists():
        with sqlite3.connect(out / "state.sqlite") as c:
            row = c.execute("SELECT walked, unchanged, hashed FROM runs ORDER BY id DESC LIMIT 1").fetchone()
            info.update(walked=row[0], unchanged=row[1], hashed=row[2])
            info["known"] = c.execute(
                "SELECT COUNT(*) FROM files WHERE sha256 IN (SELECT sha256 FROM matches)").fetchone()[0]
    if proc.returncode not in (0, 1, 3, 130):
        raise RuntimeError(f"scan failed ({proc.returncode}): {stderr[-2000:]}")
    return info


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.platform()}, Python {platform.python_version()}, {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM"


def _table(rows: list[tuple[str, ...]]) -> None:
    print()
    print(f"machine: {machine()}")
    print("| run | files | workers | seconds | files/s | files/s per core | peak RSS main MiB | peak RSS tree MiB | hashed "
          "| known files | stages (from the CLI) | load avg (1 min) after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--speedup-size", type=int, default=10000)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--only-resume", action="store_true", help="only the resume measurements")
    ap.add_argument("--only-sizes", action="store_true",
                    help="only the full scans of --sizes (no speed-up, Dask or resume runs)")
    ap.add_argument("--repeat", type=int, default=1, help="full scans of each size (noisy machines)")
    ap.add_argument("--photos", default=None, metavar="WxH",
                    help="corpus of distinct JPEGs of this size only; scans with 1 worker and all cores (issue 19)")
    a = ap.parse_args()
    global PHOTOS
    if a.photos:
        w, _, h = a.photos.partition("x")
        PHOTOS = (int(w), int(h))
    sizes = sorted(int(x) for x in a.sizes.split(","))
    work = Path(a.workdir or tempfile.mkdtemp(prefix="bench-scan-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / ("corpus" if not PHOTOS else f"corpus-{PHOTOS[0]}x{PHOTOS[1]}")
    corpus.mkdir(exist_ok=True)
    rows: list[tuple[str, ...]] = []
    print(f"machine: {machine()}", flush=True)
    t = time.monotonic()
    marker = corpus / f".complete-{max(sizes)}"
    if marker.exists():  # --workdir reused: the corpus is deterministic, keep it
        kinds = {k: 0 for k in ("unique", "copy", "near", "other", "video")}
        for _, k, _ in plan(max(sizes)):
            kinds[k] += 1
    else:
        kinds = make_corpus(corpus, max(sizes))
        marker.touch()
    print(f"corpus: {max(sizes)} files {kinds} generated in {time.monotonic() - t:.0f} s in {corpus}", flush=True)
    ind = work / "indicators.txt"
    make_indicators(ind, corpus, max(sizes))
    cores = os.cpu_count() or 1

    def dirs(n: int) -> list[Path]:
        return [corpus / f"d{k:03d}" for k in range(-(-n // 1000))]

    def row(name: str, n: int, r: dict, workers: int) -> None:
        fps = n / r["seconds"]
        rows.append((name, f"{n}", f"{workers}", f"{r['seconds']:.1f}", f"{fps:.0f}", f"{fps / workers:.0f}",
                     f"{r['peak_main'] / 2**20:.0f}", f"{r['peak_total'] / 2**20:.0f}", f"{r.get('hashed', '')}",
                     f"{r.get('known', '')}",
                     r.get("stages", ""), f"{r['load']:.1f}"))
        print(" | ".join(rows[-1]), flush=True)

    speed_local = speed_dask = float("nan")
    if PHOTOS:
        for n in sizes:
            for _ in range(a.repeat):
                for w in sorted({1, cores}):
                    out = work / f"out-photos-{n}-w{w}"
                    r = scan(dirs(n), out, ind, "--workers", str(w))
                    assert r.get("hashed") == n, f"expected {n} files hashed, got {r.get('hashed')}"
                    row(f"{PHOTOS[0]}x{PHOTOS[1]} JPEGs, {w} local worker(s)", n, r, w)
                    shutil.rmtree(out)
        _table(rows)
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
        return
    # 1. throughput and memory vs corpus size, all cores
    for n in ([] if a.only_resume else sizes):
        for _ in range(a.repeat):
            out = work / f"out-{n}"
            r = scan(dirs(n), out, ind, "--workers", str(cores))
            row(f"full scan, {cores} local workers", n, r, cores)
            shutil.rmtree(out)
    if a.only_sizes:
        _table(rows)
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
        return
    # 2. speed-up, local workers
    n = a.speedup_size
    base = {}
    for w in (() if a.only_resume else (1, 2)):
        out = work / f"out-w{w}"
        r = scan(dirs(n), out, ind, "--workers", str(w))
        base[w] = r["seconds"]
        row(f"local, {w} worker(s)", n, r, w)
        if w == 2:
            shutil.copy(out / "results.csv", work / "local-results.csv")
        shutil.rmtree(out)
    if base:
        speed_local = base[1] / base[2]
    # 3. speed-up, local Dask cluster on loopback
    from distributed import LocalCluster

    dbase = {}
    for w in (() if a.only_resume else (1, 2)):
        with LocalCluster(host="127.0.0.1", n_workers=w, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            out = work / f"out-dask{w}"
            r = scan(dirs(n), out, ind, "--dask", cluster.scheduler_address)
            dbase[w] = r["seconds"]
            row(f"dask, {w} worker(s)", n, r, w)
            same = (out / "results.csv").read_bytes() == (work / "local-results.csv").read_bytes()
            print(f"dask {w}: results.csv identical to the local run: {same}", flush=True)
            shutil.rmtree(out)
    if dbase:
        speed_dask = dbase[1] / dbase[2]
    # 4. resume after an interruption at 50 %
    out = work / "out-resume"
    shutil.rmtree(out, ignore_errors=True)
    full = scan(dirs(n), out, ind, "--workers", str(cores))
    row("resume: full run", n, full, cores)
    shutil.rmtree(out)
    part = scan(dirs(n), out, ind, "--workers", str(cores), interrupt_at=0.5, total=n)
    assert part["rc"] == 130, f"the run was not interrupted (exit {part['rc']})"
    row("resume: run interrupted (SIGINT) at 50 %", n, part, cores)
    rest = scan(dirs(n), out, ind, "--workers", str(cores))
    row("resume: rerun of the rest", n, rest, cores)
    again = scan(dirs(n), out, ind, "--workers", str(cores))
    row("rerun, nothing changed", n, again, cores)
    _table(rows)
    print(f"\nspeed-up 1 -> 2 local workers: x{speed_local:.2f}; 1 -> 2 Dask workers: x{speed_dask:.2f}")
    print(f"resume: rerun of the remaining half {rest['seconds']:.1f} s vs full run {full['seconds']:.1f} s "
          f"({rest['seconds'] / full['seconds']:.0%}); rerun with nothing changed {again['seconds']:.1f} s "
          f"({again.get('unchanged')} files unchanged, {again.get('hashed')} hashed)")
    print("(each run includes loading the 1.2 M indicators and writing all outputs)")
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
