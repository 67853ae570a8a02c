"""POST /api/v1/hash hashes an uploaded file and stores nothing."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, MatchAccessBatch
from balise.container import Balise
from balise.demo import demo_image
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider


def test_upload_is_hashed_matched_and_not_kept(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0, max_file_bytes=2_000_000))
    image = demo_image(77, (800, 600))
    with app.db.transaction() as s:
        app.indicators.add(s, Actor.system("t"), algorithm=Algorithm.SHA256, value=hashlib.sha256(image).hexdigest(),
                           kind=IndicatorKind.KNOWN_CSAM, provenance={})
    _, key = make_provider(app, scopes=(Scope.MATCH,))
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/hash?match=true", files={"file": ("x.jpg", image, "image/jpeg")}, headers=auth(key))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["md5"] == hashlib.md5(image).hexdigest() and len(body["pdq"]) == 64
        assert body["pdq_quality"] >= 50 and body["status"] == "ok" and "path" not in body
        assert body["matches"][0]["algorithm"] == "sha256"
        big = c.post("/api/v1/hash", files={"file": ("big.bin", b"\0" * 2_100_000, "application/octet-stream")}, headers=auth(key))
        assert big.status_code == 413
        junk = c.post("/api/v1/hash", files={"file": ("x.jpg", b"\xff\xd8\xff\xe0 not really", "image/jpeg")}, headers=auth(key))
        assert junk.status_code == 200 and junk.json()["status"] == "error" and junk.json()["error"]
    assert not list(app.settings.vault_path.rglob("*.blv"))
    assert not [p for p in (app.settings.data_dir / "tmp").iterdir()]
    with app.db.sessions() as s:
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "media:hash")).scalars().first()
        # Only the call with ?match=true queried the indicators; the server's shutdown wrote its entry.
        [entry] = [e for b in s.execute(select(MatchAccessBatch)).scalars() for e in b.entries]
    assert entry["purpose"] == f"hash and match a file for a provider; under grant {entry['grant_id']}: test matching"
    assert entry["matched"] == 1
    assert entry["algorithms"] == {"md5": 1, "pdq": 1, "sha1": 1, "sha256": 1}
    app.close()


def test_hash_needs_the_match_scope(client, provider):
    _, key = provider
    r = client.post("/api/v1/hash", files={"file": ("x.jpg", demo_image(1), "image/jpeg")}, headers=auth(key))
    assert r.status_code == 403
