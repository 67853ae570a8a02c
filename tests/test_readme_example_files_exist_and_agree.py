"""The files the README tells a newcomer to use exist, and the DEMO indicator list holds the
hashes of the DEMO picture, so that `indicators import` then `match` finds it as the README says."""

from __future__ import annotations

import re
from pathlib import Path

from balise.detection.adapters.media_hash import hash_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def test_every_docs_examples_path_in_the_readme_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"docs/examples/[\w.-]+", readme))
    assert {"docs/examples/report.xml", "docs/examples/demo-image.jpg", "docs/examples/indicators.txt"} <= paths
    assert not [p for p in paths if not (ROOT / p).is_file()]


def test_the_demo_indicator_list_holds_the_demo_pictures_hashes():
    record = hash_file(EXAMPLES / "demo-image.jpg")
    lines = [line.split() for line in (EXAMPLES / "indicators.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert dict(lines) == {"pdq": record["pdq"], "md5": record["md5"]}
