"""Archives nested deeper than --max-depth are hashed but not opened, and the limit is reported."""

from __future__ import annotations

import io
import zipfile

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def _nest(levels: int) -> bytes:
    data = b""
    for level in range(levels, 0, -1):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f"pic{level}.jpg", demo_image(level, (160, 120)))
            if data:
                z.writestr(f"inner{level + 1}.zip", data)
        data = buf.getvalue()
    return data


def test_depth_limit_reported(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    (root / "outer.zip").write_bytes(_nest(6))
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, "--max-depth", "2")
    assert r.returncode == 3
    rows = by_path(out)
    base = bytes(root / "outer.zip")
    assert rows[base + b"!/pic1.jpg"]["status"] == "ok"
    assert rows[base + b"!/inner2.zip!/pic2.jpg"]["status"] == "ok"
    limited = rows[base + b"!/inner2.zip!/inner3.zip"]
    assert limited["status"] == "limit" and "depth limit 2" in limited["error"]
    assert limited["sha256"]  # hashed, not opened
    assert not any(b"pic3.jpg" in p for p in rows)
    assert rows[base + b"!/inner2.zip!/pic2.jpg"]["depth"] == 2
