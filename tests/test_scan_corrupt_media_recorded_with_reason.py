"""Corrupt pictures and videos get their exact hashes and the decoder's reason; the scan goes on.
A JPEG cut after its headers is not corrupt: it is hashed as far as it decodes."""

from __future__ import annotations

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def test_corrupt_media(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    good = demo_image(4, (200, 150))
    (root / "truncated.jpg").write_bytes(good[:120])  # cut inside its headers: nothing decodes
    (root / "third.jpg").write_bytes(good[: len(good) // 3])
    (root / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    (root / "broken.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"\x01" * 500)
    (root / "good.jpg").write_bytes(good)
    out = tmp_path / "out"
    r = run_scan(root, "--out", out)
    assert r.returncode == 0
    rows = by_path(out)
    for name in (b"truncated.jpg", b"fake.png", b"broken.mp4"):
        row = rows[bytes(root) + b"/" + name]
        assert row["status"] == "error" and row["error"], row
        assert len(row["sha256"]) == 64 and row["md5"]
    assert rows[bytes(root) + b"/broken.mp4"]["media_type"] == "video"
    assert rows[bytes(root) + b"/good.jpg"]["status"] == "ok"
    # A JPEG cut in its picture data is hashed as far as it decodes, and says so.
    third = rows[bytes(root) + b"/third.jpg"]
    assert third["status"] != "error" and third["pdq"] and third["notes"][0].startswith("truncated:"), third
