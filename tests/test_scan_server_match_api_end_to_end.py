"""`balise scan --server` against a real Balise server on 127.0.0.1: only hashes are sent, known
files are found through POST /api/v1/match, the rest is unknown."""

from __future__ import annotations

import hashlib
import re

import pytest

from balise.demo import demo_image
from tests.cli_support import grant_match_by_cli, run_cli
from tests.scan_support import by_path, near_duplicate, pdq_of, run_scan
from tests.servers import clean_env, running_server


def _run(env, *args):
    r = run_cli(env, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.e2e
def test_scan_against_server(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    _run(env, "db", "upgrade")
    key = re.search(r"(bal_[0-9a-f]{12}_\S{43})",
                    _run(env, "org", "create", "Police Unit", "--kind", "law_enforcement", "--scope", "match")).group(1)
    grant_match_by_cli(env, "Police Unit")
    known_exact = demo_image(100, (320, 240))
    known_pdq = demo_image(101, (320, 240))
    lst = tmp_path / "list.txt"
    lst.write_text(f"md5 {hashlib.md5(known_exact).hexdigest()}\npdq {pdq_of(known_pdq)}\n")
    _run(env, "indicators", "import", str(lst), "--format", "te", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1")

    root = tmp_path / "seized"
    root.mkdir()
    (root / "exact.jpg").write_bytes(known_exact)
    (root / "near.jpg").write_bytes(near_duplicate(known_pdq, 1))
    (root / "new.jpg").write_bytes(demo_image(102, (320, 240)))

    with running_server(env) as (base, _):
        out = tmp_path / "out"
        r = run_scan(root, "--out", out, "--server", base, "--key", key)
        assert r.returncode == 1, r.stdout + r.stderr
        bad = run_scan(root, "--out", tmp_path / "out2", "--server", base, "--key", "bal_000000000000_" + "x" * 43,
                       check_codes=None)
        assert bad.returncode == 2 and "refused" in bad.stderr
    rows = by_path(out)
    exact = rows[bytes(root / "exact.jpg")]
    assert exact["known"] and exact["match_algorithm"] == "md5" and exact["match_source"] == base
    near = rows[bytes(root / "near.jpg")]
    assert near["known"] and near["match_algorithm"] == "pdq" and 0 < near["match_distance"] <= 31
    new = rows[bytes(root / "new.jpg")]
    assert not new["known"] and new["review_rank"] == 1
