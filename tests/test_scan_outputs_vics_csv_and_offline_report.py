"""The outputs: results.csv columns, the VICS JSON case export, and an HTML report with no
external resources; thumbnails only with --thumbnails, then small, grey and blurred."""

from __future__ import annotations

import base64
import io
import json
import re

from PIL import Image

from balise.demo import demo_image
from tests.scan_support import csv_rows, run_scan


def test_outputs(tmp_path):
    root = tmp_path / "seized"
    root.mkdir()
    for i in range(3):
        (root / f"p{i}.jpg").write_bytes(demo_image(300 + i, (320, 240)))
    (root / "copy.jpg").write_bytes(demo_image(300, (320, 240)))
    (root / "doc.txt").write_text("benign text")
    out = tmp_path / "out"
    run_scan(root, "--out", out, "--case", "CASE-42")
    rows = csv_rows(out)
    assert {"path", "path_b64", "size", "md5", "sha1", "sha256", "media_type", "pdq", "known", "match_source",
            "match_kind", "match_category", "match_distance", "cluster", "review_rank", "status", "error"} <= set(rows[0])
    assert len(rows) == 5
    vics = json.loads((out / "vics.json").read_text())
    case = vics["value"][0]
    assert case["CaseNumber"] == "CASE-42"
    media = case["Media"]
    assert len(media) == 3  # images only, copies folded into MediaFiles
    copy = next(m for m in media if len(m["MediaFiles"]) == 2)
    assert {f["FileName"] for f in copy["MediaFiles"]} == {"p0.jpg", "copy.jpg"}
    for m in media:
        assert m["Category"] == "0" and re.fullmatch(r"[0-9A-F]{32}", m["MD5"]) and m["SHA1"]
        assert any(h["HashName"] == "PDQ" for h in m["AlternativeHashes"])
        assert m["Series"].startswith("balise-series-")
    html = (out / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "data:image" not in html  # thumbnails off by default
    assert "Thumbnails: off" in html

    out2 = tmp_path / "out2"
    run_scan(root, "--out", out2, "--thumbnails")
    html2 = (out2 / "report.html").read_text()
    uris = re.findall(r"src='data:image/jpeg;base64,([^']+)'", html2)
    assert uris
    for u in uris:
        im = Image.open(io.BytesIO(base64.b64decode(u)))
        assert im.mode == "L" and max(im.size) <= 64
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html2, re.I)
