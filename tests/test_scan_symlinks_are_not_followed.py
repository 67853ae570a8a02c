"""Symbolic links are never followed: loops, links out of the scanned root, broken links are
recorded with their reason; content outside the root never appears."""

from __future__ import annotations

import os

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def test_symlinks_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(demo_image(20, (120, 90)))
    root = tmp_path / "seized"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "in.jpg").write_bytes(demo_image(21, (120, 90)))
    os.symlink(outside, root / "to-outside-dir")
    os.symlink(outside / "secret.jpg", root / "to-outside-file.jpg")
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink(root, root / "sub" / "to-root")  # a directory loop
    os.symlink("missing", root / "broken")
    os.symlink("sub/in.jpg", root / "inside-link.jpg")
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, timeout=120)
    assert r.returncode == 3
    rows = by_path(out)
    assert not any(b"secret" in p for p in rows)
    reasons = {p.rsplit(b"/", 1)[-1]: rows[p]["error"] for p in rows if rows[p]["status"] == "skipped"}
    assert "outside the scanned paths" in reasons[b"to-outside-dir"]
    assert "outside the scanned paths" in reasons[b"to-outside-file.jpg"]
    assert "loop" in reasons[b"loop-a"] and "loop" in reasons[b"loop-b"]
    assert "broken" in reasons[b"broken"]
    assert "not followed" in reasons[b"to-root"]
    assert "not followed" in reasons[b"inside-link.jpg"]
    assert rows[bytes(root / "sub" / "in.jpg")]["status"] == "ok"
    assert len([p for p in rows if rows[p]["status"] == "ok"]) == 1
