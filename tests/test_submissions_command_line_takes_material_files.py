"""`balise submissions add --file`: staff record an authority's confirmed material as files; the
picture is hashed (exact hashes and PDQ) into indicators and kept in the vault; an undecodable
file is refused naming it (exit 2) and nothing is stored."""

from __future__ import annotations

import hashlib
import json

from balise.demo import demo_image
from tests.cli_support import run_cli
from tests.servers import clean_env

BROKEN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes((n * 37 + 11) % 251 for n in range(3000))


def test_material_files_from_the_command_line(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "org", "create", "DEMO CA", "--kind", "coordinating_authority", "--country", "FR",
                   "--no-key").returncode == 0
    picture, broken = tmp_path / "a.jpg", tmp_path / "b.jpg"
    picture.write_bytes(demo_image(11, (320, 240)))
    broken.write_bytes(BROKEN)
    r = run_cli(env, "submissions", "add", "--authority", "DEMO CA", "--reference", "CA-1", "--file", str(picture),
                "--file", str(broken))
    assert r.returncode == 2 and f"--file {broken}: cannot be decoded" in r.stderr, r.stderr
    assert run_cli(env, "submissions", "list").stdout.strip() == "no submission"
    r = run_cli(env, "submissions", "add", "--authority", "DEMO CA", "--reference", "CA-1", "--file", str(picture),
                "--json")
    assert r.returncode == 0, r.stderr
    values = {i["algorithm"]: i["value"] for i in json.loads(r.stdout)["indicators"]}
    assert set(values) == {"md5", "sha1", "sha256", "pdq"}
    assert values["sha256"] == hashlib.sha256(picture.read_bytes()).hexdigest()
