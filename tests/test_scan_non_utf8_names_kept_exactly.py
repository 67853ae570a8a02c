"""A file name that is not UTF-8 is kept byte for byte (path_b64) and shown readably."""

from __future__ import annotations

import base64
import os

from balise.demo import demo_image
from tests.scan_support import csv_rows, rows, run_scan


def test_non_utf8_names(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    name = b"caf\xe9-\xff\xfe.jpg"  # Latin-1 and invalid bytes
    path = os.fsencode(root) + b"/" + name
    with open(path, "wb") as f:
        f.write(demo_image(8, (160, 120)))
    (root / "plain.jpg").write_bytes(demo_image(9, (160, 120)))
    out = tmp_path / "out"
    run_scan(root, "--out", out)
    got = {base64.b64decode(r["path_b64"]): r for r in rows(out)}
    assert path in got
    assert got[path]["path_exact"] is False and "\ufffd" in got[path]["path"]
    assert got[os.fsencode(root / "plain.jpg")]["path_exact"] is True
    assert any(base64.b64decode(r["path_b64"]) == path for r in csv_rows(out))
    assert os.path.exists(path)  # the scanned file is untouched
