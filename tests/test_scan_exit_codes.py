"""Exit codes: 0 complete and nothing known, 1 known material found, 2 usage or configuration
error, 3 complete but some files could not be read or opened."""

from __future__ import annotations

import hashlib
import os

from balise.demo import demo_image
from tests.scan_support import run_scan


def test_exit_codes(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    data = demo_image(600, (160, 120))
    (root / "a.jpg").write_bytes(data)
    assert run_scan(root, "--out", tmp_path / "o0", check_codes=None).returncode == 0
    ind = tmp_path / "ind.txt"
    ind.write_text(f"md5 {hashlib.md5(data).hexdigest()}\n")
    assert run_scan(root, "--out", tmp_path / "o1", "--indicators", ind, check_codes=None).returncode == 1
    missing = run_scan(tmp_path / "nope", "--out", tmp_path / "o2", check_codes=None)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    both = run_scan(root, "--out", tmp_path / "o2", "--indicators", ind, "--server", "http://127.0.0.1:9", "--key", "k",
                    check_codes=None)
    assert both.returncode == 2 and "not both" in both.stderr
    noind = run_scan(root, "--out", tmp_path / "o2", "--indicators", tmp_path / "missing.txt", check_codes=None)
    assert noind.returncode == 2
    os.mkfifo(root / "pipe")
    assert run_scan(root, "--out", tmp_path / "o3", check_codes=None).returncode == 3
    # known material wins over unreadable files
    assert run_scan(root, "--out", tmp_path / "o4", "--indicators", ind, check_codes=None).returncode == 1
