#!/usr/bin/env python3
"""Benchmark: the blurred derivative of a 12 MP JPEG (issue 13), Balise's path against the naive one.

Run from the repository root:

    .venv/bin/python benchmarks/bench_derivatives.py            # 20 pictures, 3 rounds
    .venv/bin/python benchmarks/bench_derivatives.py --quick    # 4 pictures, 1 round
    .venv/bin/python benchmarks/bench_derivatives.py --http     # also over HTTP, this tree and main

The pictures are generated in memory, never written to disk, by the hashing benchmark's
generator (``bench_hash.photo_like``: benign crops of the sample photos in the shared vectors,
recoloured, with shapes, texture and sensor-like noise; 4000x3000, JPEG quality 85-92). Both paths make the same derivative (long side 320,
Gaussian blur, greyscale, PNG without metadata) from the same bytes, on one core:

* **Balise, kept source** (the path since the source is kept at hashing) — decrypt the
  picture's kept source from an encrypted ``LocalVault`` in a temporary directory (a PNG of
  320 px made by the hasher's reduced decode), blur it, encode the PNG
  (``derivatives.preview_from_source``). What each view costs now.
* **Balise, from the original** (the previous way, still the first view of a picture hashed
  before) — ``derivatives.picture_preview``: the JPEG is decoded at a reduced DCT scale
  (``Image.draft``), so a 12 MP photo costs about an eighth of a decode.
* **hashing +source** — what keeping the source adds to the hashing job: ``hash_image`` with
  ``preview_side`` against without (the picture is decoded once either way).
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
import hashlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import PIL  # noqa: E402
from PIL import Image, ImageFilter, ImageOps, features  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_hash  # noqa: E402

from balise.detection.adapters.media_hash import hash_image_bytes  # noqa: E402
from balise.domain.exposure import PREVIEW_MAX_SIDE, preview_strength  # noqa: E402
from balise.evidence.adapters.derivatives import (  # noqa: E402
    picture_preview,
    preview_from_source,
    source_from_pixels,
)
from balise.evidence.adapters.vault_local import LocalVault  # noqa: E402

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


def timed(fn, pictures: list, blur: int, rounds: int) -> list[float]:
    """CPU milliseconds per picture (process time: other work on the machine does not count)."""
    per_picture: list[float] = []
    for _ in range(rounds):
        for data in pictures:
            started = time.process_time()
            fn(data, blur=blur, greyscale=True)
            per_picture.append((time.process_time() - started) * 1000)
    return per_picture


def kept_sources(pictures: list[bytes], vault: LocalVault) -> list[str]:
    """Each picture's source as the hashing job keeps it: the hasher's preview pixels (from
    its reduced decode), as a PNG, stored encrypted; their addresses."""
    addresses = []
    for data in pictures:
        source = source_from_pixels(hash_image_bytes(data, dihedral=True, preview_side=PREVIEW_MAX_SIDE).preview)
        sha = hashlib.sha256(source).hexdigest()
        vault.put(sha, io.BytesIO(source))
        addresses.append(sha)
    return addresses


def from_kept_source(vault: LocalVault):
    def view(sha: str, *, blur: int, greyscale: bool = True) -> bytes:
        return preview_from_source(b"".join(vault.read_chunks(sha)), blur=blur, greyscale=greyscale)
    return view


def hashing(preview: bool):
    def run(data: bytes, *, blur: int, greyscale: bool = True) -> None:
        hash_image_bytes(data, dihedral=True, preview_side=PREVIEW_MAX_SIDE if preview else None)
    return run


def percentiles(times: list[float]) -> tuple[float, float, float]:
    times = sorted(times)
    return statistics.median(times), statistics.mean(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--http", action="store_true",
                        help="also GET /ui/items/{id}/media over HTTP: this tree against main (git archive)")
    parser.add_argument("--old-ref", default="main")
    args = parser.parse_args()
    count, rounds = (4, 1) if args.quick else (args.count, args.rounds)
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    pictures = benign_jpegs(count)
    blur, _ = preview_strength({"blur": 24})
    with tempfile.TemporaryDirectory() as tmp:
        vault = LocalVault(Path(tmp), secrets.token_bytes(32))
        addresses = kept_sources(pictures, vault)
        kept = from_kept_source(vault)
        # Warm every path (imports, codec tables) before timing.
        picture_preview(pictures[0], blur=blur)
        naive_preview(pictures[0], blur=blur)
        kept(addresses[0], blur=blur)
        results = {"naive (peer)": timed(naive_preview, pictures, blur, rounds),
                   "from original": timed(lambda d, **k: picture_preview(d, **k), pictures, blur, rounds),
                   "decode floor": timed(decode_floor, pictures, blur, rounds),
                   "kept source": timed(kept, addresses, blur, rounds)}
        hashed = {"hashing": timed(hashing(False), pictures, blur, 1),
                  "hashing +source": timed(hashing(True), pictures, blur, 1)}
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, Pillow {PIL.__version__}"
          f" (libjpeg-turbo {features.version('libjpeg_turbo')}); one core; load average {os.getloadavg()[0]:.1f}"
          f" on {os.cpu_count()} cores")
    print(f"{count} benign JPEGs of {SIZE[0]}x{SIZE[1]} (12 MP), average {statistics.mean(map(len, pictures)) / 1e6:.1f} MB,"
          f" {rounds} round(s); derivative: long side {PREVIEW_MAX_SIDE}, blur {blur}, greyscale, PNG")
    print(f"{'path (CPU ms per view)':<24} {'p50 ms':>8} {'mean ms':>8} {'p95 ms':>8}")
    for name, times in results.items():
        print(f"{name:<24} " + " ".join(f"{v:8.1f}" for v in percentiles(times)))
    print(f"{'at intake (once)':<24}")
    for name, times in hashed.items():
        print(f"{name:<24} " + " ".join(f"{v:8.1f}" for v in percentiles(times)))
    now = statistics.median(results["kept source"])
    before = statistics.median(results["from original"])
    naive = statistics.median(results["naive (peer)"])
    print(f"kept source: {before / now:.1f}x faster than from the original, {naive / now:.1f}x than the naive peer;"
          f" target <= {TARGET_MS:.0f} ms per 12 MP JPEG: {'met' if now <= TARGET_MS else 'MISSED'}")
    if args.http:
        import bench_derivatives_http

        bench_derivatives_http.compare(pictures[: min(count, 10)], args.old_ref, rounds)


if __name__ == "__main__":
    main()
