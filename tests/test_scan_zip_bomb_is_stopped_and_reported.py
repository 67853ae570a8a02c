"""A zip member (and a tar.gz) that decompresses far beyond its size is stopped at the ratio
limit and reported; the other members are still hashed and the scan completes (exit 3)."""

from __future__ import annotations

import io
import tarfile
import zipfile

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def test_zip_bomb_member_stopped_at_ratio_limit(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    zeros = b"\0" * (64 * 1024 * 1024)
    with zipfile.ZipFile(root / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.jpg", demo_image(1))
        z.writestr("zeros.bin", zeros)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as t:
        info = tarfile.TarInfo("zeros.bin")
        info.size = len(zeros)
        t.addfile(info, io.BytesIO(zeros))
    (root / "bomb.tgz").write_bytes(tgz.getvalue())
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, "--max-ratio", "50")
    assert r.returncode == 3, r.stdout + r.stderr
    rows = by_path(out)
    bomb = rows[bytes(root / "bomb.zip") + b"!/zeros.bin"]
    assert bomb["status"] == "skipped" and "zip bomb" in bomb["error"]
    ok = rows[bytes(root / "bomb.zip") + b"!/ok.jpg"]
    assert ok["status"] == "ok" and ok["media_type"] == "image" and ok["pdq"]
    tbomb = rows[bytes(root / "bomb.tgz") + b"!/zeros.bin"]
    assert tbomb["status"] == "skipped" and "zip bomb" in tbomb["error"]
    assert rows[bytes(root / "bomb.tgz")]["status"] == "limit"
    assert not list((out / "tmp").glob("*")) if (out / "tmp").exists() else True
