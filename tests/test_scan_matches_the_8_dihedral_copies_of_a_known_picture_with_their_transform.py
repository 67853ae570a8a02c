"""`balise scan --indicators` matches the rotated and mirrored copies of a known picture through
its 8 dihedral PDQ hashes, as the match API does, and says which transform matched in
results.jsonl, results.csv, vics.json and report.html."""

from __future__ import annotations

import shutil

from tests.scan_support import DIHEDRAL_COPIES, check_dihedral_rows, dihedral_copies_dir, pdq_of, run_scan


def test_every_dihedral_copy_is_known_with_the_transform_that_turns_it_into_the_known_picture(tmp_path):
    dih = dihedral_copies_dir()
    root = tmp_path / "seized"
    root.mkdir()
    for name in DIHEDRAL_COPIES:
        shutil.copyfile(dih / name, root / name)
    listed = tmp_path / "list.txt"
    listed.write_text(f"pdq {pdq_of((dih / 'bridge-1-original.jpg').read_bytes())}\n")
    out = tmp_path / "out"
    r = run_scan(root, "--out", out, "--indicators", listed)
    assert r.returncode == 1, r.stdout + r.stderr
    check_dihedral_rows(out, root, "list.txt")
