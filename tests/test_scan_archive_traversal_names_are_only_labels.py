"""Member names like ../../x or /abs/x are labels: nothing is written outside --out (nothing is
written at all under those names), and the members are hashed from memory."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile

from balise.demo import demo_image
from tests.scan_support import by_path, run_scan


def test_traversal_names_never_written(tmp_path):
    root = tmp_path / "a" / "b" / "seized"
    root.mkdir(parents=True)
    pic = demo_image(3, (200, 150))
    with zipfile.ZipFile(root / "t.zip", "w") as z:
        z.writestr("../../evil-zip.jpg", pic)
        z.writestr("/tmp/abs-evil-zip.jpg", pic)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name in ("../../../evil-tar.jpg", "/tmp/abs-evil-tar.jpg"):
            info = tarfile.TarInfo(name)
            info.size = len(pic)
            t.addfile(info, io.BytesIO(pic))
        link = tarfile.TarInfo("link-out")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        t.addfile(link)
    (root / "t.tgz").write_bytes(buf.getvalue())
    before = set(os.listdir("/tmp"))
    out = tmp_path / "out"
    r = run_scan(root, "--out", out)
    assert r.returncode == 3  # the symlink member is recorded as not followed
    rows = by_path(out)
    sha = hashlib.sha256(pic).hexdigest()
    for label in (b"t.zip!/../../evil-zip.jpg", b"t.zip!//tmp/abs-evil-zip.jpg", b"t.tgz!/../../../evil-tar.jpg",
                  b"t.tgz!//tmp/abs-evil-tar.jpg"):
        row = rows[bytes(root) + b"/" + label]
        assert row["sha256"] == sha and row["media_type"] == "image"
    assert "not followed" in rows[bytes(root) + b"/t.tgz!/link-out"]["error"]
    for found in tmp_path.rglob("*evil*"):
        raise AssertionError(f"a member was written to {found}")
    assert not (set(os.listdir("/tmp")) - before) & {"abs-evil-zip.jpg", "abs-evil-tar.jpg"}
    assert sorted(p.name for p in root.iterdir()) == ["t.tgz", "t.zip"]  # nothing written into the scanned paths
