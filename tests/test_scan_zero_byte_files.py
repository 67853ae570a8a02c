"""Zero-byte files are hashed (the hashes of nothing), counted as copies of each other, status empty."""

from __future__ import annotations

import hashlib

from tests.scan_support import by_path, run_scan


def test_zero_byte_files(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    (root / "a").write_bytes(b"")
    (root / "b.jpg").write_bytes(b"")
    out = tmp_path / "out"
    r = run_scan(root, "--out", out)
    assert r.returncode == 0
    rows = by_path(out)
    for name in (b"a", b"b.jpg"):
        row = rows[bytes(root) + b"/" + name]
        assert row["size"] == 0 and row["status"] == "empty"
        assert row["sha256"] == hashlib.sha256(b"").hexdigest() and row["copies"] == 2
