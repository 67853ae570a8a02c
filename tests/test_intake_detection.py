"""Every item is hashed and matched, and the result is stored on the item: exact and given
hashes at arrival, the perceptual hashes of pictures and videos by the media.hash job."""

from __future__ import annotations

import io
import json

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report

ACTOR = Actor.system("test")


def _app(tmp_path, db_url) -> Balise:
    return Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0))


def _file(client, key, images: dict[str, bytes], extra_items=()):
    report = minimal_report(items=[{"kind": "media", "file": name} for name in images] + list(extra_items))
    files = [(name, (f"{name}.jpg", data, "image/jpeg")) for name, data in images.items()]
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)}, files=files, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


def test_an_image_whose_pdq_is_an_indicator_is_matched_once_hashed(tmp_path, db_url):
    app = _app(tmp_path, db_url)
    known = demo_image(500, (800, 600))
    pdq = hash_image_bytes(known).pdq
    with app.db.transaction() as s:
        ind = app.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=pdq, kind=IndicatorKind.KNOWN_CSAM,
                                 provenance={"test": True}, classification={"ncmec_category": "A2"})
    # A re-encoded, resized copy: different bytes, same picture.
    out = io.BytesIO()
    Image.open(io.BytesIO(known)).resize((640, 480)).save(out, "JPEG", quality=70)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = _file(c, key, {"copy": out.getvalue(), "other": demo_image(501, (800, 600))})
        assert [i["hash_status"] for i in body["items"]] == ["pending", "pending"]
        assert body["items"][0]["matched"] is False  # its bytes are new: only its picture is known
        app.run_jobs()
        got = c.get(f"/api/v1/reports/{body['id']}", headers=auth(key)).json()
    copy, other = got["items"]
    assert copy["matched"] is True and copy["hash_status"] == "ok"
    assert copy["matches"][0]["indicator_id"] == ind.id and copy["matches"][0]["distance"] <= 31
    assert other["matched"] is False and other["matches"] == []
    with app.db.sessions() as s:
        stored = s.execute(select(Item).where(Item.position == 0)).scalar_one()
        assert stored.matches[0]["classification"] == {"ncmec_category": "A2"}
        assert stored.hashes["pdq_quality"] >= 50
    app.close()


def test_a_rotated_copy_matches_through_dihedral_hashes(tmp_path, db_url):
    app = _app(tmp_path, db_url)
    known = demo_image(502, (800, 600))
    with app.db.transaction() as s:
        app.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=hash_image_bytes(known).pdq,
                           kind=IndicatorKind.KNOWN_CSAM, provenance={})
    out = io.BytesIO()
    Image.open(io.BytesIO(known)).transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=90)
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        body = _file(c, key, {"rotated": out.getvalue()})
        app.run_jobs()
        item = c.get(f"/api/v1/reports/{body['id']}", headers=auth(key)).json()["items"][0]
    assert item["matched"] and item["matches"][0]["transform"] != "original"
    app.close()


def test_hash_only_items_match_on_the_hashes_given(tmp_path, db_url):
    app = _app(tmp_path, db_url)
    md5 = "0123456789abcdef0123456789abcdef"
    with app.db.transaction() as s:
        app.indicators.add(s, ACTOR, algorithm=Algorithm.MD5, value=md5, kind=IndicatorKind.KNOWN_CSAM, provenance={})
    _, key = make_provider(app)
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/reports", headers=auth(key), json=minimal_report(items=[
            {"kind": "hash_only", "hashes": {"md5": md5.upper()}},
            {"kind": "hash_only", "hashes": {"pdq": "f" * 64, "pdq_quality": 20}},
        ]))
        items = c.get(f"/api/v1/reports/{r.json()['id']}", headers=auth(key)).json()["items"]
    assert items[0]["matched"] and items[0]["hash_status"] == "provided"
    assert items[1]["hash_status"] == "low_quality" and not items[1]["matched"]
    app.close()


def test_a_file_that_cannot_be_decoded_is_stored_with_its_error(tmp_path, db_url):
    app = _app(tmp_path, db_url)
    _, key = make_provider(app)
    truncated = demo_image(503)[:300]
    with TestClient(create_app(app)) as c:
        body = _file(c, key, {"broken": truncated})
        app.run_jobs()
        item = c.get(f"/api/v1/reports/{body['id']}", headers=auth(key)).json()["items"][0]
    assert item["hash_status"] == "error" and item["hash_error"]
    assert item["md5"]  # exact hashes are always there
    app.close()
