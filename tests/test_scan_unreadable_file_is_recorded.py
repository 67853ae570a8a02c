"""A file that cannot be opened (EACCES) is recorded with the reason and the scan carries on.
Tests run as root, which chmod 000 does not stop: the scan's test hook makes the open of that
path fail with EACCES exactly as the kernel would for another user."""

from __future__ import annotations

import os

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def test_unreadable_file(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    locked = root / "locked.jpg"
    locked.write_bytes(demo_image(30, (120, 90)))
    locked.chmod(0)
    (root / "open.jpg").write_bytes(demo_image(31, (120, 90)))
    env = {"BALISE_SCAN_TEST_DENY": str(locked)} if os.geteuid() == 0 else {}
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, env=env)
    assert r.returncode == 3
    rows = by_path(out)
    row = rows[bytes(locked)]
    assert row["status"] == "skipped" and "Permission denied" in row["error"] and row["sha256"] is None
    assert rows[bytes(root / "open.jpg")]["status"] == "ok"
    assert "skipped or not opened: 1" in r.stdout
