"""`balise scan --server` sends each picture's other 7 dihedral PDQ hashes to a real Balise
server on 127.0.0.1 (POST /api/v1/match), so the rotated and mirrored copies of a known picture
are known, with the transform the server reports, in every output."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.cli_support import grant_match_by_cli, run_cli
from tests.scan_support import DIHEDRAL_COPIES, check_dihedral_rows, dihedral_copies_dir, pdq_of, run_scan
from tests.servers import clean_env, running_server


def _run(env, *args):
    r = run_cli(env, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.e2e
def test_every_dihedral_copy_is_known_through_the_match_api_with_its_transform(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    _run(env, "db", "upgrade")
    key = re.search(r"(bal_[0-9a-f]{12}_\S{43})",
                    _run(env, "org", "create", "Police Unit", "--kind", "law_enforcement", "--scope", "match")).group(1)
    grant_match_by_cli(env, "Police Unit")
    dih = dihedral_copies_dir()
    listed = tmp_path / "list.txt"
    listed.write_text(f"pdq {pdq_of((dih / 'bridge-1-original.jpg').read_bytes())}\n")
    _run(env, "indicators", "import", str(listed), "--format", "te", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1")
    root = tmp_path / "seized"
    root.mkdir()
    for name in DIHEDRAL_COPIES:
        shutil.copyfile(dih / name, root / name)

    with running_server(env) as (base, _):
        out = tmp_path / "out"
        r = run_scan(root, "--out", out, "--server", base, "--key", key)
        assert r.returncode == 1, r.stdout + r.stderr
    check_dihedral_rows(out, root, base)
