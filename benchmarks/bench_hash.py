#!/usr/bin/env python3
"""Benchmark: Balise's fast PDQ pipeline against the reference (python-threatexchange + pdqhash).

Run from the repository root, with the bench extras installed (``make install-bench``):

    .venv/bin/python benchmarks/bench_hash.py            # 30 images of each size
    .venv/bin/python benchmarks/bench_hash.py --quick    # 6 of each, for a smoke run
    .venv/bin/python benchmarks/bench_hash.py --count 40

The corpus is generated in a temporary directory (never committed) from the benign sample photos
in the conformance vectors (``BALISE_VECTORS`` or ``tests/data/vectors``): random crops, resizes,
colour/contrast changes, shapes, texture and sensor-like noise, saved as JPEG quality 85-92 at
~12 MP (4000x3000) and ~0.8 MP (1032x774). Both pipelines hash the same files in the same run,
single-threaded (BLAS/OpenMP threads are pinned to 1 before numpy is imported), and the report
gives throughput per core and the Hamming distance / quality difference between them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from balise.detection.adapters.media_hash import hash_image  # noqa: E402
from balise.detection.adapters.pdq import hamming  # noqa: E402

SIZES = {"12MP": (4000, 3000), "0.8MP": (1032, 774)}


def vectors_dir() -> Path:
    env = os.environ.get("BALISE_VECTORS")
    path = Path(env) if env else ROOT / "tests" / "data" / "vectors"
    if not (path / "LICENSE").is_file():
        sys.exit(f"conformance vectors not found at {path} (set BALISE_VECTORS)")
    return path


def source_photos(vectors: Path) -> list[Image.Image]:
    pdq = vectors / "pdq" / "data"
    paths = [pdq / "bridge-mods" / "aaa-orig.jpg", pdq / "reg-test-input" / "pen-and-coaster.png"]
    paths += sorted((pdq / "reg-test-input" / "labelme-subset").glob("q[1-9]*.jpg"))
    paths += sorted((pdq / "reg-test-input" / "labelme-subset").glob("q0[1-9]*.jpg"))
    paths.append(vectors / "python-threatexchange" / "threatexchange" / "tests" / "hashing" / "resources" / "rgb.jpeg")
    return [Image.open(p).convert("RGB") for p in paths]


def photo_like(rng: random.Random, sources: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    """A benign photo-like picture: a crop of a sample photo, resized, recoloured, with shapes,
    a texture layer and sensor-like noise."""
    w, h = size
    src = rng.choice(sources)
    sw, sh = src.size
    cw = rng.randint(max(16, sw // 2), sw)
    ch = max(16, min(sh, int(cw * h / w * rng.uniform(0.8, 1.25))))
    x0, y0 = rng.randint(0, sw - cw), rng.randint(0, sh - ch)
    img = src.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = img.resize((w, h), Image.Resampling.BICUBIC)
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.5))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.3))
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.85, 1.15))
    draw = ImageDraw.Draw(img, "RGBA")
    for _ in range(rng.randint(2, 6)):
        x, y = rng.randint(0, w), rng.randint(0, h)
        r = rng.randint(min(w, h) // 30, min(w, h) // 6)
        colour = tuple(rng.randint(0, 255) for _ in range(3)) + (rng.randint(60, 200),)
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    nprng = np.random.default_rng(rng.getrandbits(32))
    arr = np.asarray(img).astype(np.float32)
    # Fine texture (fabric/foliage-like) and per-pixel sensor noise.
    tex = nprng.normal(0.0, 1.0, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
    tex = np.asarray(Image.fromarray(((tex * 20) + 128).clip(0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32) - 128
    arr += tex[..., None] * rng.uniform(0.2, 0.6)
    arr += nprng.normal(0.0, rng.uniform(2.0, 6.0), arr.shape).astype(np.float32)
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.UnsharpMask(radius=2, percent=80))
    return img


def make_corpus(directory: Path, count: int, seed: int = 20240601) -> dict[str, list[Path]]:
    rng = random.Random(seed)
    sources = source_photos(vectors_dir())
    corpus: dict[str, list[Path]] = {}
    for label, size in SIZES.items():
        paths = []
        for i in range(count):
            p = directory / f"{label}-{i:03d}.jpg"
            photo_like(rng, sources, size).save(p, "JPEG", quality=rng.randint(85, 92))
            paths.append(p)
        corpus[label] = paths
    return corpus


def reference_hasher():
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    return pdq_from_file


def balise_fast(path: Path) -> tuple[str, int]:
    result = hash_image(path)
    return result.pdq, result.pdq_quality


def balise_full(path: Path) -> tuple[str, int]:
    result = hash_image(path, fast=False)
    return result.pdq, result.pdq_quality


def timed(fn, paths: list[Path], repeat: int) -> tuple[float, list[tuple[str, int]]]:
    """Best-of-``repeat`` wall time for hashing every path once (files are in the page cache
    after the warm-up, for every pipeline alike)."""
    results = [fn(p) for p in paths]  # warm-up, also the results compared
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for p in paths:
            fn(p)
        best = min(best, time.perf_counter() - t0)
    return best, results


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    import pdqhash  # noqa: F401
    import PIL

    versions = ", ".join(
        f"{name} {version(name)}" for name in ("numpy", "pillow", "pdqhash", "threatexchange", "pillow-heif", "av")
    )
    jpeg = PIL.features.version("libjpeg_turbo") or PIL.features.version("jpg")
    return (
        f"CPU: {cpu}; logical cores: {os.cpu_count()}; threads used: 1\n"
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}\n"
        f"{versions}; libjpeg-turbo {jpeg}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30, help="images per size (default 30)")
    parser.add_argument("--quick", action="store_true", help="6 images per size, one timing pass")
    parser.add_argument("--repeat", type=int, default=2, help="timing passes, best kept (default 2)")
    parser.add_argument("--with-full", action="store_true", help="also time Balise's full-resolution path (fast=False)")
    args = parser.parse_args()
    count = 6 if args.quick else args.count
    repeat = 1 if args.quick else args.repeat
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    import PIL.features  # noqa: F401

    ref = reference_hasher()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="balise-bench-") as tmp:
        t0 = time.perf_counter()
        corpus = make_corpus(Path(tmp), count)
        print(f"corpus: {count} JPEGs per size generated in {time.perf_counter() - t0:.0f} s (temp dir, deleted after)\n")
        header = f"{'size':6} {'n':>3} {'pipeline':26} {'img/s/core':>10} {'ms/img':>7} {'speed-up':>8} {'ham p50':>7} {'p95':>4} {'max':>4} {'|dq| max':>8}"
        print(header)
        print("-" * len(header))
        pipelines = [("Balise fast", balise_fast)]
        if args.with_full:
            pipelines.append(("Balise full-res (fast=False)", balise_full))
        for label, paths in corpus.items():
            t_ref, r_ref = timed(ref, paths, repeat)
            n = len(paths)
            print(f"{label:6} {n:3d} {'reference (pytx+pdqhash)':26} {n / t_ref:10.1f} {1000 * t_ref / n:7.1f} {'1.0x':>8} {'-':>7} {'-':>4} {'-':>4} {'-':>8}")
            for name, fn in pipelines:
                t_b, r_b = timed(fn, paths, repeat)
                d = sorted(hamming(a[0], b[0]) for a, b in zip(r_ref, r_b))
                dq = max(abs(a[1] - b[1]) for a, b in zip(r_ref, r_b))
                p95 = d[min(n - 1, int(np.ceil(0.95 * n)) - 1)]
                print(
                    f"{label:6} {n:3d} {name:26} {n / t_b:10.1f} {1000 * t_b / n:7.1f} {t_ref / t_b:7.1f}x "
                    f"{statistics.median(d):7.1f} {p95:4d} {d[-1]:4d} {dq:8d}"
                )
        print("\nham = Hamming distance (bits of 256) from the reference hash of the same file; "
              "|dq| = absolute quality difference; p95 = nearest-rank 95th percentile.")


if __name__ == "__main__":
    main()
