"""Helpers for the `balise scan` tests: run the CLI as a user would, read its outputs."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from balise.demo import demo_image

SCAN = [sys.executable, "-m", "balise.cli.scan"]


def run_scan(*args: str | os.PathLike, env: dict[str, str] | None = None, timeout: float = 300,
             check_codes: tuple[int, ...] | None = (0, 1, 3)) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    cmd = [*SCAN, *map(os.fsdecode, args), "--no-progress"]
    r = subprocess.run(cmd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    if check_codes is not None and r.returncode not in check_codes:
        raise AssertionError(f"scan failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def rows(out: Path) -> list[dict[str, Any]]:
    with open(out / "results.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def by_path(out: Path) -> dict[bytes, dict[str, Any]]:
    return {base64.b64decode(r["path_b64"]): r for r in rows(out)}


def csv_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_images(directory: Path, seeds: range | list[int], size: tuple[int, int] = (320, 240)) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for s in seeds:
        p = directory / f"img-{s:05d}.jpg"
        p.write_bytes(demo_image(s, size))
        out.append(p)
    return out


def near_duplicate(data: bytes, variant: int) -> bytes:
    """A benign near duplicate: slightly resized, a small mark, re-encoded."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    img = img.resize((w * (92 + variant) // 100, h * (92 + variant) // 100), Image.BILINEAR)
    ImageDraw.Draw(img).rectangle((2, 2, 6 + variant, 6), fill=(255, 255, 255))
    b = io.BytesIO()
    img.save(b, "JPEG", quality=80 - variant)
    return b.getvalue()


def pdq_of(data: bytes) -> str:
    from balise.detection.adapters.media_hash import hash_image

    return hash_image(io.BytesIO(data)).pdq
