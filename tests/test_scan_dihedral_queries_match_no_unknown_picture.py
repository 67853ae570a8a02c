"""Querying the 8 dihedral hashes of every picture adds no false positive: pictures that are not
known stay unknown, although their rotations and mirrors were looked up too."""

from __future__ import annotations

import json
import shutil
import sqlite3

from balise.demo import demo_image
from tests.scan_support import by_path, dihedral_copies_dir, pdq_of, run_scan
from tests.vectors import vectors_dir


def test_unknown_pictures_stay_unknown_with_dihedral_queries(tmp_path):
    known = [demo_image(300 + i, (320, 240)) for i in range(6)]
    known.append((dihedral_copies_dir() / "bridge-1-original.jpg").read_bytes())
    listed = tmp_path / "list.txt"
    listed.write_text("".join(f"pdq {pdq_of(data)}\n" for data in known))
    root = tmp_path / "seized"
    root.mkdir()
    for i in range(12):
        (root / f"new-{i}.jpg").write_bytes(demo_image(400 + i, (320, 240)))
    photos = sorted((vectors_dir() / "pdq" / "data" / "reg-test-input" / "labelme-subset").glob("*.jpg"))[:8]
    for photo in photos:
        shutil.copyfile(photo, root / photo.name)
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, "--indicators", listed)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = by_path(out)
    assert len(rows) == 12 + len(photos)
    assert not [row["path"] for row in rows.values() if row["known"]]
    # The rotations and mirrors of every matchable picture were there to be looked up.
    with sqlite3.connect(out / "state.sqlite") as conn:
        hashed = conn.execute("SELECT pdq_quality, pdq_dihedral FROM contents WHERE media_type = 'image'").fetchall()
    matchable = [json.loads(d) if d else None for q, d in hashed if q >= 50]
    assert len(matchable) >= 12 and all(d is not None and len(d) == 7 for d in matchable)
    assert all(d is None for q, d in hashed if q < 50)
