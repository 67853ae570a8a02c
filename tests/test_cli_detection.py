"""`balise hash`, `balise indicators import|export|stats|set-status|snapshot` and `balise match`
as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from tests.cli_support import run_cli


def run(env, *args, input=None, check=True):
    r = run_cli(env, *args, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture
def env(tmp_path, db_url):
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    e = {**base, "BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url}
    run(e, "db", "upgrade")
    return e


def test_hash_prints_json_lines_for_files_and_directories(env, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.jpg").write_bytes(demo_image(1))
    (tree / "sub" / "b.png").write_bytes(demo_image(2, fmt="PNG"))
    (tree / "sub" / "notes.txt").write_text("hello")
    (tree / "empty.jpg").write_bytes(b"")
    result = run(env, "hash", str(tree), check=False)
    assert result.returncode == 1  # the zero-byte file failed
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in rows}
    assert set(by_name) == {"a.jpg", "b.png", "notes.txt", "empty.jpg"}
    assert len(by_name["a.jpg"]["pdq"]) == 64 and by_name["a.jpg"]["pdq_quality"] >= 50
    assert by_name["notes.txt"]["media_type"] == "other" and "pdq" not in by_name["notes.txt"]
    assert by_name["empty.jpg"]["status"] == "error" and by_name["empty.jpg"]["error"]
    dihedral = json.loads(run(env, "hash", "--dihedral", str(tree / "a.jpg")).stdout)
    assert len(dihedral["dihedral"]) == 8


def test_import_export_stats_match_and_suspend(env, tmp_path):
    image = demo_image(9, (800, 600))
    pdq = hash_image_bytes(image).pdq
    te = tmp_path / "list.txt"
    te.write_text(f"pdq {pdq}\nmd5 {'a' * 32}\npdq {'z' * 64}\n")
    imported = run(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(te), "--format", "te")
    assert "imported 2" in imported.stdout and "rejected 1" in imported.stdout
    assert "line 3:" in imported.stderr
    stats = json.loads(run(env, "indicators", "stats", "--json").stdout)
    assert stats["total"] == 2 and stats["version"] == 2
    exported = run(env, "indicators", "export", "--format", "te").stdout
    assert exported == f"pdq {pdq}\nmd5 {'a' * 32}\n"
    near = f"{int(pdq, 16) ^ 0b111:064x}"
    hit = json.loads(run(env, "match", "pdq", near).stdout)
    assert hit["matches"][0]["distance"] == 3
    run(env, "indicators", "snapshot")
    assert (Path(env["BALISE_DATA_DIR"]) / "index" / "pdq" / "CURRENT").exists()
    run(env, "indicators", "set-status", str(hit["matches"][0]["indicator_id"]), "suspended", "--reason", "review")
    assert run(env, "match", "pdq", near, check=False).returncode == 1
    assert run(env, "audit", "verify").stdout.startswith("OK")


def test_import_refuses_a_bad_file_as_a_whole(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("hash,kind\nabc,x\n")
    r = run(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(bad), check=False)
    assert r.returncode == 1 and "nothing imported" in r.stderr
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"signal_type,signal_value\n\xff\xfe\x00pdq\n")
    r = run(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(binary), check=False)
    assert r.returncode == 1 and "not UTF-8" in r.stderr
    strict = tmp_path / "strict.txt"
    strict.write_text(f"md5 {'b' * 32}\nmd5 nope\n")
    r = run(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(strict), "--format", "te", "--strict", check=False)
    assert r.returncode == 1
    assert json.loads(run(env, "indicators", "stats", "--json").stdout)["total"] == 0
