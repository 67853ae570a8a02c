"""Video indicators (vPDQ) match re-encoded copies of the same video, at intake and by API."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.detection.adapters.vpdq_match import parse_vpdq_lines
from balise.domain.indicators import IndicatorKind, InvalidIndicator
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.vectors import vectors_dir

VECTORS = vectors_dir()
ACTOR = Actor.system("test")


def frames_of(name: str) -> list[tuple[int, int, str, float]]:
    path = VECTORS / "vpdq" / "sample-hashes" / f"{name}.txt"
    assert path.exists(), f"missing vector {path}"
    return [(f.frame_number, f.quality, f.pdq_hex, f.timestamp) for f in parse_vpdq_lines(path.read_text())]


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0))
    with balise.db.transaction() as s:
        balise.indicators.add_vpdq(s, ACTOR, frames=frames_of("chair-19-sd-bar"), kind=IndicatorKind.KNOWN_CSAM,
                                   provenance={"test": "vectors"})
    yield balise
    balise.close()


def _query(client, key, name):
    frames = [{"frame_number": n, "quality": q, "pdq": p, "timestamp": t} for n, q, p, t in frames_of(name)]
    r = client.post("/api/v1/match", json={"hashes": [{"type": "vpdq", "frames": frames}]}, headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


def test_the_same_video_matches_and_a_different_one_does_not(app):
    _, key = make_provider(app, scopes=(Scope.MATCH,))
    with TestClient(create_app(app)) as c:
        same = _query(c, key, "chair-19-sd-bar")
        other = _query(c, key, "chair-22-with-large-logo-bar")
    assert same["matches"][0]["query_match_pct"] == 100.0
    assert other["matches"] == []  # 5.06 % of its frames match: far below 80 %


def test_an_uploaded_sample_video_is_matched_by_its_hashing_job(app):
    video = VECTORS / "tmk" / "sample-videos" / "chair-19-sd-bar.mp4"
    assert video.exists()
    _, key = make_provider(app)
    report = minimal_report(items=[{"kind": "media", "file": "v"}])
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/reports", data={"report": json.dumps(report)},
                   files=[("v", ("clip.mp4", video.read_bytes(), "video/mp4"))], headers=auth(key))
        assert r.status_code == 201, r.text
        assert r.json()["items"][0]["hash_status"] == "pending"  # answered before decoding the video
        app.run_jobs()
        item = c.get(f"/api/v1/reports/{r.json()['id']}", headers=auth(key)).json()["items"][0]
    assert item["media_type"] == "video" and item["matched"] and item["matches"][0]["algorithm"] == "vpdq"


def test_a_video_indicator_needs_valid_frames(app):
    with pytest.raises(InvalidIndicator), app.db.transaction() as s:
        app.indicators.add_vpdq(s, ACTOR, frames=[], kind=IndicatorKind.KNOWN_CSAM, provenance={})
    with pytest.raises(InvalidIndicator), app.db.transaction() as s:
        app.indicators.add_vpdq(s, ACTOR, frames=[(0, 80, "xyz", 0.0)], kind=IndicatorKind.KNOWN_CSAM, provenance={})
