"""Unknown near-duplicate pictures form series (PDQ within 31, union-find); copies are hashed once
and counted; the largest series is reviewed first; low-quality pictures are never ranked."""

from __future__ import annotations

import io
import sqlite3

from PIL import Image

from balise.demo import demo_image
from tests.scan_support import by_path, near_duplicate, run_scan


def test_series_and_ranking(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    a, b, c = (demo_image(s, (320, 240)) for s in (400, 401, 402))
    (root / "a0.jpg").write_bytes(a)
    for v in range(1, 4):
        (root / f"a{v}.jpg").write_bytes(near_duplicate(a, v))
    (root / "b0.jpg").write_bytes(b)
    (root / "b1.jpg").write_bytes(near_duplicate(b, 1))
    (root / "c0.jpg").write_bytes(c)
    for k in range(3):
        (root / f"c-copy{k}.jpg").write_bytes(c)  # exact copies: one content, 4 files
    flat = io.BytesIO()
    Image.new("RGB", (200, 200), (128, 128, 128)).save(flat, "PNG")
    (root / "flat.png").write_bytes(flat.getvalue())
    out = tmp_path / "out"
    run_scan(root, "--out", out)
    rows = {p.rsplit(b"/", 1)[-1].decode(): r for p, r in by_path(out).items()}
    assert len({rows[f"a{v}.jpg"]["cluster"] for v in range(4)}) == 1
    assert rows["a0.jpg"]["cluster_size"] == 4
    assert rows["b0.jpg"]["cluster"] == rows["b1.jpg"]["cluster"] != rows["a0.jpg"]["cluster"]
    assert rows["a0.jpg"]["cluster"] == 1 and rows["b0.jpg"]["cluster"] == 2
    ranks = sorted((r["review_rank"], name) for name, r in rows.items() if r["review_rank"])
    assert [n[0] for _, n in ranks[:4]] == ["a"] * 4 and [n[0] for _, n in ranks[4:6]] == ["b"] * 2
    assert rows["c0.jpg"]["copies"] == 4 and rows["c0.jpg"]["cluster_size"] == 1
    assert rows["flat.png"]["pdq_quality"] < 50 and rows["flat.png"]["review_rank"] is None
    assert rows["flat.png"]["cluster"] is None
    with sqlite3.connect(out / "state.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM contents").fetchone()[0] == 8
        # every file was read and hashed once
        assert conn.execute("SELECT SUM(hash_count) FROM files").fetchone()[0] == 11
