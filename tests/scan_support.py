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


# The 8 dihedral copies of one photo in the conformance vectors, and the transform the match API
# reports for each (detection/matching.py): the dihedral variant of the copy's picture that is
# the known picture, i.e. the inverse of the copy's own rotation — a copy rotated by 90 degrees
# is turned back by rotate270. The original matches as it is: no transform.
DIHEDRAL_COPIES = {
    "bridge-1-original.jpg": None,
    "bridge-2-rotate-90.jpg": "rotate270",
    "bridge-3-rotate-180.jpg": "rotate180",
    "bridge-4-rotate-270.jpg": "rotate90",
    "bridge-5-flipx.jpg": "flipx",
    "bridge-6-flipy.jpg": "flipy",
    "bridge-7-flip-plus-1.jpg": "flip_plus1",
    "bridge-8-flip-minus-1.jpg": "flip_minus1",
}
# Hamming distance of each copy's matching variant to the original's PDQ: the copies are
# re-encoded JPEGs, within 8 bits (tests/test_pdq_conformance_vectors.py).
DIHEDRAL_MAX_DISTANCE = 8


def dihedral_copies_dir() -> Path:
    from tests.vectors import vectors_dir

    return vectors_dir() / "pdq" / "data" / "reg-test-input" / "dih"


def check_dihedral_rows(out: Path, root: Path, source: str) -> None:
    """Every copy in ``root`` is known by PDQ from ``source`` with its transform, in
    results.jsonl, results.csv, vics.json and report.html."""
    rows = by_path(out)
    for name, transform in DIHEDRAL_COPIES.items():
        row = rows[bytes(root / name)]
        assert row["known"] and row["match_algorithm"] == "pdq" and row["match_source"] == source, (name, row)
        assert row["match_distance"] <= DIHEDRAL_MAX_DISTANCE, (name, row)
        assert row["match_transform"] == transform, (name, row)
        assert row["match_count"] == 1, (name, row)  # one hit per indicator, whichever variants came near it
        assert row["matches"][0]["transform"] == transform
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in csv_rows(out)}
    for name, transform in DIHEDRAL_COPIES.items():
        assert by_name[name]["match_transform"] == (transform or ""), name
    media = json.loads((out / "vics.json").read_text(encoding="utf-8"))["value"][0]["Media"]
    comments = {m["MediaFiles"][0]["FileName"]: m["Comments"] for m in media}
    for name, transform in DIHEDRAL_COPIES.items():
        if transform:
            assert comments[name].endswith(f"transform={transform}"), (name, comments[name])
        else:
            assert "transform=" not in comments[name], comments[name]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<tr><th>known only as a rotated or mirrored copy</th><td class=n>7</td></tr>" in report
    for name, transform in DIHEDRAL_COPIES.items():
        listed = f"<tr><td>{root / name}</td><td>{transform}</td>"
        assert (listed in report) == (transform is not None), name
