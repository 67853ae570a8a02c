"""Running the same command again re-hashes nothing that is unchanged (path, size, mtime_ns,
inode); a changed file is re-hashed, a removed one leaves the results."""

from __future__ import annotations

import sqlite3

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan, write_images


def test_rescan_unchanged(tmp_path):
    root = tmp_path / "seized"
    files = write_images(root, range(30), (120, 90))
    out = tmp_path / "out"
    run_scan(root, "--out", out)
    first = (out / "results.csv").read_bytes()
    run_scan(root, "--out", out)
    assert (out / "results.csv").read_bytes() == first
    with sqlite3.connect(out / "state.sqlite") as c:
        assert c.execute("SELECT walked, unchanged, hashed FROM runs ORDER BY id DESC LIMIT 1").fetchone() == (30, 30, 0)
    files[0].write_bytes(demo_image(999, (120, 90)))
    files[1].unlink()
    run_scan(root, "--out", out)
    with sqlite3.connect(out / "state.sqlite") as c:
        assert c.execute("SELECT walked, unchanged, hashed FROM runs ORDER BY id DESC LIMIT 1").fetchone() == (29, 28, 1)
        assert c.execute("SELECT hash_count FROM files WHERE path = ?", (bytes(files[0]),)).fetchone()[0] == 2
    rows = by_path(out)
    assert bytes(files[1]) not in rows and len(rows) == 29
