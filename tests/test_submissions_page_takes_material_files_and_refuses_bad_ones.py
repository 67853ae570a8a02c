"""The Article 36 page takes the confirmed material as files: a senior analyst attaches a picture,
the centre hashes it (exact hashes and PDQ), keeps it encrypted in the vault and generates the
indicators under the decision; a file that cannot be decoded is refused naming it, nothing stored."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import Indicator, IndicatorSubmission, VaultObject
from balise.demo import demo_image
from balise.web.app import create_app
from tests.authority_support import make_authority
from tests.helpers import csrf_token, make_user, sign_in

BROKEN = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes((n * 37 + 11) % 251 for n in range(3000))


def _counts(balise) -> tuple[int, int, int]:
    with balise.db.sessions() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (IndicatorSubmission, Indicator, VaultObject))


def test_a_senior_enters_material_as_files(balise):
    org_id, _ = make_authority(balise, "DEMO Autorité de coordination")
    make_user(balise, "sam", "senior-analyst")
    picture = demo_image(9, (320, 240))
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "sam")
        token = csrf_token(client.get("/ui/submissions").text)
        form = {"csrftoken": token, "authority": str(org_id), "reference": "CA-FR-2026-77", "kind": "known_csam"}
        r = client.post("/ui/submissions", data=form, files=[("material", ("x.jpg", BROKEN, "image/jpeg"))])
        assert r.status_code == 200 and "Nothing was stored: material.0 (x.jpg): cannot be decoded" in r.text
        assert _counts(balise) == (0, 0, 0)
        r = client.post("/ui/submissions", data=form, files=[("material", ("a.jpg", picture, "image/jpeg"))])
        assert r.status_code == 200 and "4 indicator(s) created" in r.text, r.text[-1500:]
    with balise.db.sessions() as s:
        values = {i.algorithm: i.value for i in s.execute(select(Indicator)).scalars()}
        assert values["sha256"] == hashlib.sha256(picture).hexdigest() and "pdq" in values
        assert set(s.execute(select(VaultObject.sha256)).scalars()) == {hashlib.sha256(picture).hexdigest()}
