"""A 3 GB (sparse) file is hashed by streaming: the scan's processes stay far below its size."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.scan_support import SCAN, by_path

# Runs the scan as the only child of a fresh interpreter, so that the peak resident set read
# back is the scan's own, not that of whatever this test process ran before (a browser, a
# server), which RUSAGE_CHILDREN would otherwise include.
MEASURE = (
    "import json, resource, subprocess, sys;"
    "r = subprocess.run(sys.argv[1:], capture_output=True);"
    "print(json.dumps({'code': r.returncode, 'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)

SIZE = 3 * 1024**3


def test_huge_file_constant_memory(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    with open(root / "huge.bin", "wb") as f:
        f.truncate(SIZE)
    out = tmp_path / "out"
    # --workers 0 hashes in the scan process itself, so its peak RSS is the one measured
    cmd = [*SCAN, str(root), "--out", str(out), "--workers", "0", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    measured = json.loads(subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                                         timeout=600, check=True, env=env).stdout)
    peak_kib = measured["peak_kib"]
    assert measured["code"] == 0
    row = by_path(out)[bytes(root / "huge.bin")]
    assert row["size"] == SIZE and row["status"] == "ok" and row["media_type"] == "other"
    assert len(row["sha256"]) == 64
    # largest resident set of any process of the scan (waited for): far below the 3 GB read
    assert peak_kib < 600 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
