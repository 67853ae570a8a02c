"""A FIFO (and a socket) in the tree is recorded as skipped; nothing waits on it."""

from __future__ import annotations

import os
import socket

from tests.scan_support import by_path, run_scan


def test_fifo_skipped(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    os.mkfifo(root / "pipe")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(root / "sock"))
    (root / "note.txt").write_text("hello")
    out = tmp_path / "out"
    try:
        r = run_scan(root, "--out", out, timeout=60)
    finally:
        s.close()
    assert r.returncode == 3
    rows = by_path(out)
    assert rows[bytes(root / "pipe")]["status"] == "skipped" and "FIFO" in rows[bytes(root / "pipe")]["error"]
    assert "socket" in rows[bytes(root / "sock")]["error"]
    assert rows[bytes(root / "note.txt")]["status"] == "ok"
