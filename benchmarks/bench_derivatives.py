#!/usr/bin/env python3
"""Benchmark: the blurred derivative of a 12 MP JPEG (issue 13), Balise's path against the naive one.

Run from the repository root:

    .venv/bin/python benchmarks/bench_derivatives.py            # 20 pictures, 3 rounds
    .venv/bin/python benchmarks/bench_derivatives.py --quick    # 4 pictures, 1 round

The pictures are generated in memory, never written to disk, by the hashing benchmark's
generator (``bench_hash.photo_like``: benign crops of the sample photos in the shared vectors,
recoloured, with shapes, texture and sensor-like noise; 4000x3000, JPEG quality 85-92). Both paths make the same derivative (long side 320,
Gaussian blur, greyscale, PNG without metadata) from the same bytes, on one core:

* **Balise** — ``balise.evidence.adapters.derivatives.picture_preview``: the JPEG is decoded at a
  reduced DCT scale (``Image.draft``), so a 12 MP photo costs about an eighth of a decode.
* **decode floor** — the reduced decode alone (``draft`` at 1/8, load): the entropy decoding
  of the whole file, which no reduced decode skips; what is left for anything else.
* **naive (peer)** — decode every pixel, turn it upright, downscale, blur, encode: what a
  straightforward implementation does.

Target: Balise <= 30 ms per 12 MP JPEG.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import PIL  # noqa: E402
from PIL import Image, ImageFilter, ImageOps, features  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_hash  # noqa: E402

from balise.domain.exposure import PREVIEW_MAX_SIDE, preview_strength  # noqa: E402
from balise.evidence.adapters.derivatives import picture_preview  # noqa: E402

SIZE = (4000, 3000)
TARGET_MS = 30.0


def benign_jpegs(count: int, seed: int = 20261202) -> list[bytes]:
    rng = random.Random(seed)
    sources = bench_hash.source_photos(bench_hash.vectors_dir())
    pictures = []
    for _ in range(count):
        out = io.BytesIO()
        bench_hash.photo_like(rng, sources, SIZE).save(out, "JPEG", quality=rng.randint(85, 92))
        pictures.append(out.getvalue())
    return pictures


def decode_floor(data: bytes, *, blur: int, greyscale: bool = True) -> None:
    image = Image.open(io.BytesIO(data))
    image.draft("L", (SIZE[0] // 8, SIZE[1] // 8))
    image.load()


def naive_preview(data: bytes, *, blur: int, greyscale: bool = True, max_side: int = PREVIEW_MAX_SIDE) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.load()
    image = ImageOps.exif_transpose(image) or image
    image = image.convert("L" if greyscale else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def timed(fn, pictures: list[bytes], blur: int, rounds: int) -> list[float]:
    """CPU milliseconds per picture (process time: other work on the machine does not count)."""
    per_picture: list[float] = []
    for _ in range(rounds):
        for data in pictures:
            started = time.process_time()
            fn(data, blur=blur, greyscale=True)
            per_picture.append((time.process_time() - started) * 1000)
    return per_picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, rounds = (4, 1) if args.quick else (args.count, args.rounds)
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    pictures = benign_jpegs(count)
    blur, _ = preview_strength({"blur": 24})
    # Warm both paths (imports, codec tables) before timing.
    picture_preview(pictures[0], blur=blur)
    naive_preview(pictures[0], blur=blur)
    results = {"naive (peer)": timed(naive_preview, pictures, blur, rounds),
               "Balise": timed(lambda d, **k: picture_preview(d, **k), pictures, blur, rounds),
               "decode floor": timed(decode_floor, pictures, blur, rounds)}
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, Pillow {PIL.__version__}"
          f" (libjpeg-turbo {features.version('libjpeg_turbo')}); one core")
    print(f"{count} benign JPEGs of {SIZE[0]}x{SIZE[1]} (12 MP), average {statistics.mean(map(len, pictures)) / 1e6:.1f} MB,"
          f" {rounds} round(s); derivative: long side {PREVIEW_MAX_SIDE}, blur {blur}, greyscale, PNG")
    print(f"{'path (CPU ms)':<14} {'p50 ms':>8} {'mean ms':>8} {'p95 ms':>8}")
    for name, times in results.items():
        times = sorted(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{name:<14} {statistics.median(times):8.1f} {statistics.mean(times):8.1f} {p95:8.1f}")
    balise = statistics.median(results["Balise"])
    naive = statistics.median(results["naive (peer)"])
    print(f"speed-up {naive / balise:.1f}x; target <= {TARGET_MS:.0f} ms per 12 MP JPEG: "
          f"{'met' if balise <= TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
