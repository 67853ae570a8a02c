"""Indicator files are recognised by content (CSV, ThreatExchange lines, Project VIC VICS JSON,
NCMEC XML with deletions, vPDQ frames); bad entries are reported with their line numbers and the
rest is used; XML entities are never expanded nor fetched."""

from __future__ import annotations

import hashlib
import json

from balise.demo import demo_image
from tests.scan_support import by_path, near_duplicate, pdq_of, run_scan


def test_all_formats(tmp_path):
    imgs = {i: demo_image(200 + i, (320, 240)) for i in range(8)}
    root = tmp_path / "seized"
    root.mkdir()
    for i, data in imgs.items():
        (root / f"f{i}.bin").write_bytes(data)
    (root / "near5.bin").write_bytes(near_duplicate(imgs[5], 1))
    md5 = {i: hashlib.md5(d).hexdigest() for i, d in imgs.items()}
    sha1 = {i: hashlib.sha1(d).hexdigest() for i, d in imgs.items()}
    ind = tmp_path / "ind"
    ind.mkdir()
    (ind / "list.csv").write_text("signal_type,signal_value,kind,ncmec_category\n"
                                  f"md5,{md5[0]},known_csam,A1\n"
                                  "md5,nothex,known_csam,\n")
    (ind / "te.txt").write_text(f"# comment\nsha1 {sha1[1]}\nbogus line here\npdq {pdq_of(imgs[5])}\n")
    (ind / "case.json").write_text(json.dumps({
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [{"MediaID": 1, "Category": 2, "MD5": md5[2].upper(), "SHA1": sha1[2], "Series": "S-9"},
                  {"MediaID": 2, "Category": 1, "SHA1": sha1[6]},  # no MD5: rejected
                  {"MediaID": 3, "Category": 1, "MD5": "0" * 32,
                   "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq_of(imgs[3])}]}]}))
    (ind / "ncmec.xml").write_text(f"""<?xml version="1.0"?>
<!DOCTYPE hashes [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<hashSharing xmlns="https://hashsharing.ncmec.org/v2">
  <image><fingerprints><md5>{md5[4]}</md5><sha1>{sha1[4]}</sha1></fingerprints><classification>B2</classification></image>
  <image><fingerprints><md5>{md5[7]}</md5></fingerprints><classification>A2</classification></image>
  <image><fingerprints><md5>zz&lol2;&ext;</md5></fingerprints></image>
  <deletedImage><fingerprints><md5>{md5[7]}</md5></fingerprints></deletedImage>
</hashSharing>
""")
    out = tmp_path / "out"
    args = []
    for p in sorted(ind.iterdir()):
        args += ["--indicators", p]
    r = run_scan(root, "--out", out, *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "list.csv (csv)" in r.stdout and "te.txt (te)" in r.stdout
    assert "case.json (vics)" in r.stdout and "ncmec.xml (ncmec)" in r.stdout
    assert "list.csv:3:" in r.stderr  # line numbers of bad entries
    assert "te.txt:3:" in r.stderr
    assert "ncmec.xml:7:" in r.stderr
    assert "case.json: value[1]: Media without MD5" in r.stderr
    assert "root:" not in r.stdout + r.stderr  # the external entity was never read
    rows = by_path(out)
    row = lambda i: rows[bytes(root / f"f{i}.bin")]  # noqa: E731
    assert row(0)["known"] and row(0)["match_category"] == "A1"
    assert row(1)["known"] and row(1)["match_algorithm"] == "sha1"
    assert row(2)["known"] and row(2)["match_category"] == "2"
    assert row(3)["known"] and row(3)["match_algorithm"] == "pdq" and row(3)["match_distance"] == 0
    assert row(4)["known"] and row(4)["match_category"] == "B2"
    assert row(5)["known"]
    near = rows[bytes(root / "near5.bin")]
    assert near["known"] and near["match_algorithm"] == "pdq" and near["match_distance"] > 0
    assert not row(6)["known"]  # its VICS entry had no MD5
    assert not row(7)["known"]  # removed by <deletedImage>
    vics = json.loads((out / "vics.json").read_text())
    series = {m["MD5"]: m.get("Series") for m in vics["value"][0]["Media"]}
    assert series[md5[2].upper()] == "S-9"
