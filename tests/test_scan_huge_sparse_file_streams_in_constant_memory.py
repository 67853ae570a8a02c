"""A 3 GB (sparse) file is hashed by streaming: the scan's processes stay far below its size."""

from __future__ import annotations

import resource

from tests.scan_support import by_path, run_scan

SIZE = 3 * 1024**3


def test_huge_file_constant_memory(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    with open(root / "huge.bin", "wb") as f:
        f.truncate(SIZE)
    out = tmp_path / "out"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # --workers 0 hashes in the scan process itself, so its peak RSS is what the test waits for
    r = run_scan(root, "--out", out, "--workers", "0", timeout=600)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert r.returncode == 0
    row = by_path(out)[bytes(root / "huge.bin")]
    assert row["size"] == SIZE and row["status"] == "ok" and row["media_type"] == "other"
    assert len(row["sha256"]) == 64
    # largest resident set of any process of the scan (waited for): far below the 3 GB read
    assert max(peak_kib, before) < 600 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
