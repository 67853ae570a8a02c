"""At hashing time the media.hash job keeps what each picture says of itself, encrypted (the
camera serial is not in the row in clear); an analyst sees it only by giving a purpose (audited
as lead:read), with a link to the other items taken by the same camera; a file that declares
generative AI gets a routing reason in triage with no points: it is flagged, never dismissed."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, ItemLead, Report
from balise.web.app import create_app
from tests.helpers import auth, csrf_token, make_user, sign_in
from tests.leads_support import SERIAL, tampered, with_c2pa, with_exif, with_xmp, xmp_packet


def _file(client, key, data: bytes) -> uuid.UUID:
    document = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam",
                "service": {"type": "hosting"}, "awareness": {"source": "user_flag"}, "content_removed": True,
                "items": [{"kind": "media", "file": "photo"}]}
    r = client.post("/api/v1/reports", headers=auth(key), data={"report": json.dumps(document)},
                    files={"photo": ("DEMO.jpg", data, "image/jpeg")})
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def test_leads_are_sealed_linked_by_camera_and_route_generative_reports(balise, client, provider):
    _, key = provider
    generated = _file(client, key, with_c2pa(with_xmp(with_exif(11), xmp_packet())))
    camera = _file(client, key, with_exif(12))  # the same camera serial, no AI declaration
    broken = _file(client, key, tampered(with_c2pa(with_exif(13, serial="SN-OTHER"))))
    balise.run_jobs()
    with balise.db.sessions() as s:
        rows = {s.get(Item, r.item_id).report_id: r for r in s.execute(select(ItemLead)).scalars()}
        reports = {rid: s.get(Report, rid) for rid in (generated, camera, broken)}
        item_of = {rid: reports[rid].items[0].id for rid in reports}
    assert set(rows) == {generated, camera, broken}
    assert SERIAL not in rows[generated].sealed and "DEMO Camera" not in rows[generated].sealed
    assert rows[generated].serial_key == rows[camera].serial_key != rows[broken].serial_key
    assert (rows[generated].generative, rows[camera].generative) == (True, False)
    assert rows[broken].problems == ["c2pa_invalid"]
    reasons = {r["code"]: r["points"] for r in reports[generated].priority_reasons}
    assert reasons["generative"] == 0 and reports[generated].state != "manifestly_unfounded"
    assert "generative" not in {r["code"] for r in reports[camera].priority_reasons}

    make_user(balise, "ana", "analyst")
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "ana")
        report_page = c.get(f"/ui/reports/{generated}").text
        assert "GENERATIVE AI" in report_page and SERIAL not in report_page
        token = csrf_token(report_page)
        assert c.post(f"/ui/items/{item_of[generated]}/leads", data={"purpose": "", "csrftoken": token}).status_code == 422
        page = c.post(f"/ui/items/{item_of[generated]}/leads", data={"purpose": "identify the camera",
                                                                     "csrftoken": token})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store, private"
        for text in (SERIAL, "DEMO Camera Co", "48.856667, 2.350833", "DEMO Generator Signer", "DEMO generator",
                     "trainedAlgorithmicMedia", "The file declares generative AI"):
            assert text in page.text, text
        assert f"/ui/reports/{camera}#item-{item_of[camera]}" in page.text  # same camera serial
        bad = c.post(f"/ui/items/{item_of[broken]}/leads", data={"purpose": "check provenance", "csrftoken": token})
        assert "does not validate" in bad.text and "the C2PA manifest does not validate" in bad.text
    with balise.db.sessions() as s:
        reads = s.execute(select(AuditRecord).where(AuditRecord.event_type == "lead:read")
                          .order_by(AuditRecord.seq)).scalars().all()
        records = s.execute(select(AuditRecord).where(AuditRecord.event_type == "lead:record")).scalars().all()
    assert [(e.subject_id, e.purpose) for e in reads] == [(str(item_of[generated]), "identify the camera"),
                                                          (str(item_of[broken]), "check provenance")]
    assert len(records) == 3 and all(SERIAL not in json.dumps(e.details) for e in records)
