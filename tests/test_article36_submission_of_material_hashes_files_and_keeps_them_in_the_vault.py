"""Article 36 "material or hashes": a coordinating authority sends the confirmed files (multipart
POST /api/v1/submissions); the centre hashes them like intake (exact hashes and PDQ for a picture,
vPDQ for a video), keeps each file encrypted in the vault, and generates the indicators from those
hashes with the submission's provenance. A file that cannot be decoded, is too large, is empty or
carries active content is refused naming its part, and nothing is stored."""

from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Indicator, IndicatorSubmission, VaultObject
from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.authority_support import make_authority
from tests.conftest import make_settings
from tests.exposure_support import polyglot, sample_video
from tests.helpers import auth

# A JPEG header over bytes no decoder reads (a fixed, generated pattern: no real content).
BROKEN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes((n * 37 + 11) % 251 for n in range(3000))


def _counts(app: Balise) -> tuple[int, int, int]:
    with app.db.sessions() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (IndicatorSubmission, Indicator, VaultObject))


def test_files_become_indicators_and_stay_encrypted_in_the_vault(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, max_file_bytes=4 * 1024 * 1024))
    picture, video = demo_image(5, (320, 240)), sample_video()
    with TestClient(create_app(app)) as client:
        _, key = make_authority(app)
        submission = json.dumps({"reference": "CA-FR-2026-36", "note": "DEMO material"})

        def send(files, document=submission):
            return client.post("/api/v1/submissions", headers=auth(key),
                               files=[("submission", (None, document, "application/json")), *files])

        for files, part, words in (
                ([("photo", ("a.jpg", BROKEN, "image/jpeg"))], "photo", "cannot be decoded"),
                ([("ok", ("b.jpg", picture, "image/jpeg")), ("bad", ("c.jpg", polyglot(), "image/jpeg"))],
                 "bad", "active content"),
                ([("empty", ("d.jpg", b"", "image/jpeg"))], "empty", "is empty"),
                ([("text", ("e.txt", b"DEMO plain text, not a picture\n" * 10, "text/plain"))], "text",
                 "not a picture or a video"),
                ([("big", ("f.jpg", b"\xff" * (4 * 1024 * 1024 + 1), "image/jpeg"))], "big", "limit")):
            r = send(files)
            assert r.status_code in (413, 422), r.text
            assert r.json()["fields"][0]["field"] == part and words in r.json()["fields"][0]["message"], r.text
        r = send([("photo", ("a.jpg", picture, "image/jpeg"))], json.dumps({"note": "no reference"}))
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "reference"
        assert _counts(app) == (0, 0, 0)

        r = send([("photo", ("a.jpg", picture, "image/jpeg")), ("clip", ("v.mp4", video, "video/mp4"))])
        assert r.status_code == 201, r.text
        out = r.json()
        by_algorithm = {i["algorithm"]: i for i in out["indicators"]}
        assert set(by_algorithm) == {"md5", "sha1", "sha256", "pdq", "video_md5", "vpdq"}
        assert by_algorithm["sha256"]["value"] == hashlib.sha256(picture).hexdigest()
        assert by_algorithm["video_md5"]["value"] == hashlib.md5(video).hexdigest()
        assert all(i["outcome"] == "created" and i["status"] == "active" for i in out["indicators"])

    with app.db.sessions() as s:
        indicators = s.execute(select(Indicator)).scalars().all()
        assert {i.submission_id for i in indicators} == {out["id"]}
        for ind in indicators:
            source = ind.provenance["submission"]
            assert source["reference"] == "CA-FR-2026-36" and source["process"] == "authority_confirmation"
            assert {m["sha256"] for m in source["material"]} == {hashlib.sha256(picture).hexdigest(),
                                                                   hashlib.sha256(video).hexdigest()}
        stored = set(s.execute(select(VaultObject.sha256)).scalars())
        assert stored == {hashlib.sha256(picture).hexdigest(), hashlib.sha256(video).hexdigest()}
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type == "media:store")).scalar_one() == 2
    # Encrypted at rest: the picture's bytes are nowhere in the vault's files.
    for path in (tmp_path).rglob("*"):
        if path.is_file() and "vault" in str(path):
            assert picture[1000:1064] not in path.read_bytes()
    with app.db.sessions() as s:
        assert app.evidence.read_all(s, hashlib.sha256(picture).hexdigest(), __import__(
            "balise.accounts.actors", fromlist=["Actor"]).Actor.system("test"), "test reads back") == picture
    app.close()
