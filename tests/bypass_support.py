"""Shared by the tests that prove known material still matches when bytes are added around it or
cut from it: the same files go through the provider API end to end (intake, media.hash job,
the report read back) and through `balise scan`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Report
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.scan_support import by_path, run_scan

MATCH_DISTANCE = 31


def app_for(tmp_path: Path, db_url: str) -> Balise:
    return Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0))


def known_picture(app: Balise, seed: int, *, progressive: bool = False) -> tuple[bytes, str]:
    """A DEMO picture (benign) whose PDQ is a known-CSAM indicator: (its bytes, its PDQ)."""
    picture = demo_image(seed, (800, 600))
    if progressive:
        out = io.BytesIO()
        Image.open(io.BytesIO(picture)).save(out, "JPEG", quality=85, progressive=True)
        picture = out.getvalue()
    pdq = hash_image_bytes(picture).pdq
    assert pdq is not None
    with app.db.transaction() as s:
        app.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=pdq, kind=IndicatorKind.KNOWN_CSAM,
                           provenance={"test": True})
    return picture, pdq


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "a benign text file")
    return out.getvalue()


def file_through_the_api(app: Balise, files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """File one report holding ``files`` as a provider does (multipart), run the jobs, and return
    each item as the provider reads it back, by file part name."""
    _, key = make_provider(app)
    names = list(files)
    report = minimal_report(items=[{"kind": "media", "file": name} for name in names])
    parts = [(name, (f"{name}.jpg", data, "application/octet-stream")) for name, data in files.items()]
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)}, files=parts, headers=auth(key))
        assert r.status_code == 201, r.text
        assert all(item["hash_status"] == "pending" for item in r.json()["items"]), r.json()
        app.run_jobs()
        got = client.get(f"/api/v1/reports/{r.json()['id']}", headers=auth(key))
        assert got.status_code == 200, got.text
    return dict(zip(names, sorted(got.json()["items"], key=lambda i: i["position"])))


def stored_items(app: Balise) -> list[Item]:
    with app.db.sessions() as s:
        return list(s.query(Item).join(Report).order_by(Item.position))


def scan_rows(tmp_path: Path, files: dict[str, bytes], pdq: str) -> dict[str, dict[str, Any]]:
    """`balise scan` over ``files`` with the picture's PDQ as its only indicator; rows by name."""
    root = tmp_path / "seized"
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    indicators = tmp_path / "indicators.txt"
    indicators.write_text(f"pdq {pdq}\n")
    out = tmp_path / "scan-out"
    run_scan(root, "--out", out, "--indicators", indicators)
    return {path.rsplit(b"/", 1)[-1].decode(): row for path, row in by_path(out).items()}


def assert_matched(item: dict[str, Any]) -> None:
    assert item["hash_status"] == "ok", item
    assert item["matched"] is True, item
    assert item["matches"][0]["algorithm"] == "pdq" and item["matches"][0]["distance"] <= MATCH_DISTANCE, item


def assert_scan_matched(row: dict[str, Any]) -> None:
    assert row["known"] is True, row
    assert row["match_algorithm"] == "pdq" and row["match_distance"] <= MATCH_DISTANCE, row
