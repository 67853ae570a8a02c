"""A scan resumed with a state database written before dihedral hashes existed hashes its
matchable pictures again (and the archives holding them), so their rotated and mirrored copies
match on that run; every other file stays done and costs only a stat."""

from __future__ import annotations

import shutil
import sqlite3
import zipfile

from tests.scan_support import by_path, dihedral_copies_dir, pdq_of, run_scan
from tests.vectors import vectors_dir


def test_old_state_gets_dihedral_hashes_on_the_next_run(tmp_path):
    dih = dihedral_copies_dir()
    root = tmp_path / "seized"
    root.mkdir()
    shutil.copyfile(dih / "bridge-1-original.jpg", root / "original.jpg")
    shutil.copyfile(dih / "bridge-2-rotate-90.jpg", root / "rotated.jpg")
    with zipfile.ZipFile(root / "album.zip", "w") as zf:
        zf.write(dih / "bridge-4-rotate-270.jpg", "inside/rotated-back.jpg")
    low = vectors_dir() / "pdq" / "data" / "reg-test-input" / "labelme-subset" / "q0004.jpg"  # PDQ quality 4
    shutil.copyfile(low, root / "flat.jpg")
    (root / "notes.txt").write_text("not a picture\n")
    listed = tmp_path / "list.txt"
    listed.write_text(f"pdq {pdq_of((dih / 'bridge-1-original.jpg').read_bytes())}\n")
    out = tmp_path / "out"
    run_scan(root, "--out", out, "--indicators", listed)
    # What a state database of the previous release looks like: no dihedral hashes, no transform.
    with sqlite3.connect(out / "state.sqlite") as c:
        c.execute("ALTER TABLE contents DROP COLUMN pdq_dihedral")
        c.execute("ALTER TABLE matches DROP COLUMN transform")

    r = run_scan(root, "--out", out, "--indicators", listed)
    assert r.returncode == 1, r.stdout + r.stderr
    rows = by_path(out)
    assert rows[bytes(root / "original.jpg")]["known"] and rows[bytes(root / "original.jpg")]["match_transform"] is None
    assert rows[bytes(root / "rotated.jpg")]["match_transform"] == "rotate270"
    assert rows[bytes(root / "album.zip") + b"!/inside/rotated-back.jpg"]["match_transform"] == "rotate90"
    with sqlite3.connect(out / "state.sqlite") as c:
        counts = {bytes(p).rsplit(b"/", 1)[-1]: n for p, n in c.execute("SELECT path, hash_count FROM files")}
        last = c.execute("SELECT walked, unchanged, hashed FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert counts[b"original.jpg"] == counts[b"rotated.jpg"] == counts[b"album.zip"] == 2
    assert counts[b"flat.jpg"] == counts[b"notes.txt"] == 1  # never matchable, or no picture: not hashed again
    assert last[:2] == (5, 2)  # walked 5, unchanged 2 (flat.jpg, notes.txt)
