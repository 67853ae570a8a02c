"""Hostile or broken indicator files: bad entries are named by line or item number and the rest
is imported; XML entities are never expanded nor external ones read; a zip bomb, broken JSON or
XML, or bytes that are not UTF-8 import nothing and say so."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.detection.formats import MAX_LINE_CHARS, ImportAborted
from tests.cli_support import run_cli

ACTOR = Actor.system("test")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _import(balise, data: bytes, fmt: str):
    with balise.db.transaction() as s:
        return balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt=fmt, source="hostile")


def _count(balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(Indicator)).scalar_one()


def test_mixed_algorithms_with_bad_lines_named_by_number(balise):
    text = (f"md5 {'a' * 32}\npdq {PDQ}\nsha256 {'b' * 63}\nurl https://example.test/x\n"
            f"vpdq [\"{PDQ},80,0.000\"]\nvpdq [\"{PDQ},800,0.000\"]\nsha1 {'c' * 40}\n")
    report = _import(balise, text.encode(), "te")
    assert (report.imported, report.rejected) == (5, 2)
    assert [n for n, _ in report.errors] == [3, 6]
    assert "64 hex characters" in report.errors[0][1] and "out of range" in report.errors[1][1]


def test_xml_entities_are_not_expanded_nor_external_ones_read(balise):
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE q [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><images>
<image><fingerprints><md5>{'a' * 32}</md5></fingerprints><classification>A1</classification></image>
<image><fingerprints><md5>&ext;&lol2;</md5></fingerprints></image>
<image><fingerprints><pdq>{PDQ}</pdq></fingerprints><classification>Z9</classification></image>
</images></queryResult>
""".encode()
    report = _import(balise, xml, "ncmec")
    assert report.imported == 1
    assert [n for n, _ in report.errors] == [6, 7], report.errors
    assert "without a usable fingerprint" in report.errors[0][1]
    assert "'Z9' is not one of A1" in report.errors[1][1]
    with balise.db.sessions() as s:
        assert "root:" not in json.dumps([i.value for i in s.execute(select(Indicator)).scalars()])


def test_broken_xml_half_way_imports_nothing(balise):
    entries = "".join(f"<image><fingerprints><md5>{i:032x}</md5></fingerprints></image>\n" for i in range(3000))
    xml = f"<queryResult><images>\n{entries}<image><fingerprints></images>".encode()
    with pytest.raises(ImportAborted, match="XML error"):
        _import(balise, xml, "ncmec")
    assert _count(balise) == 0


def test_gzip_bomb_is_refused_and_nothing_imported(balise):
    body = f"signal_type,signal_value\nmd5,{'a' * 32}\n".encode() + b"\0" * (40 * 1024 * 1024)
    bomb = gzip.compress(body, compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(ImportAborted, match="zip bomb"):
        _import(balise, bomb, "csv")
    assert _count(balise) == 0


def test_zip_bomb_and_zip_of_several_files_are_refused(balise):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("list.txt", b"\n" * (40 * 1024 * 1024))
    with pytest.raises(ImportAborted, match="zip bomb"):
        _import(balise, out.getvalue(), "te")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.txt", f"md5 {'a' * 32}\n")
        z.writestr("b.txt", f"md5 {'b' * 32}\n")
    with pytest.raises(ImportAborted, match="holds 2 files"):
        _import(balise, two.getvalue(), "te")
    one = io.BytesIO()
    with zipfile.ZipFile(one, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", f"md5 {'a' * 32}\n")
    assert _import(balise, one.getvalue(), "te").imported == 1


def test_not_utf8_half_way_imports_nothing_and_names_the_line(balise):
    data = "".join(f"md5 {i:032x}\n" for i in range(5000)).encode() + b"md5 \xff\xfe\n"
    with pytest.raises(ImportAborted, match="line 5001: not UTF-8"):
        _import(balise, data, "te")
    assert _count(balise) == 0


def test_an_overlong_line_is_named_and_skipped(balise):
    data = f"md5 {'a' * 32}\n".encode() + b"md5 " + b"f" * (MAX_LINE_CHARS + 10) + f"\nmd5 {'b' * 32}\n".encode()
    report = _import(balise, data, "te")
    assert report.imported == 2 and report.errors[0][0] == 2 and "longer than" in report.errors[0][1]


def test_json_entries_are_named_by_item_and_broken_json_imports_nothing(balise):
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "identity", "id": "identity--1", "name": "a hotline"},
        {"type": "indicator", "pattern": f"[file:hashes.'MD5' = '{'a' * 32}']", "pattern_type": "stix"},
        {"type": "indicator", "pattern": "[file:name = 'x.jpg']", "pattern_type": "stix"},
        {"type": "indicator", "pattern": f"[file:hashes.'SHA-256' = '{'b' * 64}']", "pattern_type": "stix",
         "revoked": True},
    ]}
    report = _import(balise, json.dumps(bundle).encode(), "stix")
    assert report.imported == 2 and report.unit == "item"
    assert report.errors == [(2, "objects[2]: the pattern is not one file hash or URL comparison")]
    vics = {"value": [{"MediaID": 1, "Category": 1, "MD5": "c" * 32},
                      {"MediaID": 2, "Category": 2, "MD5": "d" * 32},
                      {"MediaID": 3, "Category": 1}]}
    report = _import(balise, json.dumps(vics).encode(), "vics")
    assert report.imported == 1
    assert [n for n, _ in report.errors] == [2, 3]
    assert "category 2" in report.errors[0][1] and "Media without MD5" in report.errors[1][1]
    before = _count(balise)
    with pytest.raises(ImportAborted, match="not valid JSON"):
        _import(balise, json.dumps(vics).encode()[:-5], "vics")
    assert _count(balise) == before


def test_cli_names_bad_lines_and_refuses_a_bomb(tmp_path, db_url):
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
           "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url}
    assert run_cli(env, "db", "upgrade").returncode == 0
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"signal_type,signal_value\n" + b"\0" * (40 * 1024 * 1024)))
    refused = run_cli(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(bomb))
    assert refused.returncode == 1 and "nothing imported" in refused.stderr and "zip bomb" in refused.stderr
    stix = tmp_path / "list.json"
    stix.write_text(json.dumps({"type": "bundle", "objects": [
        {"type": "indicator", "pattern": f"[file:hashes.'MD5' = '{'a' * 32}']", "pattern_type": "stix"},
        {"type": "indicator", "pattern": "[file:hashes.'MD5' = 'zz']", "pattern_type": "stix"}]}))
    done = run_cli(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(stix), "--format", "stix")
    assert done.returncode == 0 and "imported 1" in done.stdout and "item 1: objects[1]: md5" in done.stderr
    bad = run_cli(env, "indicators", "import", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1", str(stix), "--format", "yaml")
    assert bad.returncode == 2 and "unknown format 'yaml'" in bad.stderr
