"""A provider files reports over the API and reads back its own."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from balise.adapters.db.models import Item, Person, PersonIdentifier, Report, VaultObject
from balise.demo import demo_image
from tests.helpers import auth, minimal_report


def _multipart(report: dict, files: dict[str, tuple[str, bytes, str]]) -> tuple[dict, list]:
    return {"report": json.dumps(report)}, [(name, f) for name, f in files.items()]


def test_hash_only_report_is_filed_and_returns_item_hashes(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", json=minimal_report(), headers=auth(key))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "received"
    assert r.headers["location"] == f"/api/v1/reports/{body['id']}"
    [item] = body["items"]
    assert item["kind"] == "hash_only"
    assert item["md5"] == "0" * 32 and item["sha256"] == "a" * 64


def test_multipart_report_stores_each_image_encrypted_with_its_hashes(client, provider, balise):
    _, key = provider
    img0, img1 = demo_image(1), demo_image(2, fmt="PNG")
    report = minimal_report(items=[
        {"kind": "media", "file": "a", "filename": "holiday.jpg"},
        {"kind": "media", "file": "b"},
        {"kind": "url", "url": "https://host.example.test/x.jpg"},
    ])
    data, files = _multipart(report, {"a": ("a.jpg", img0, "image/jpeg"), "b": ("b.png", img1, "image/png")})
    r = client.post("/api/v1/reports", data=data, files=files, headers=auth(key))
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    import hashlib

    assert items[0]["md5"] == hashlib.md5(img0).hexdigest()
    assert items[0]["sha256"] == hashlib.sha256(img0).hexdigest()
    assert items[1]["sha256"] == hashlib.sha256(img1).hexdigest()
    assert items[0]["media_type"] == "image" and items[1]["media_type"] == "image"
    assert items[2]["kind"] == "url" and items[2]["sha256"] is None
    # On disk only ciphertext: the image bytes are nowhere in the vault file.
    vault_files = list(balise.settings.vault_path.rglob("*.blv"))
    assert len(vault_files) == 2
    for path in vault_files:
        raw = path.read_bytes()
        assert img0[:64] not in raw and img1[:64] not in raw
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(VaultObject)).scalar_one() == 2
        stored = s.execute(select(Item).where(Item.position == 0)).scalar_one()
        assert stored.filename == "holiday.jpg"
        assert stored.content_type == "image/jpeg"


def test_provider_reads_state_and_history_of_its_report(client, provider):
    _, key = provider
    rid = client.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).json()["id"]
    r = client.get(f"/api/v1/reports/{rid}", headers=auth(key))
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == rid and body["state"] == "received" and body["outcome"] is None
    assert body["history"][0]["to"] == "received"


def test_annex_iii_details_persons_and_ip_events_are_kept(client, provider, balise):
    _, key = provider
    report = minimal_report(
        urgent=False, imminent_threat=True, user_decision="terminate",
        reported_elsewhere={"reported": True, "body": "NCMEC", "reference": "CT-123"},
        provider={"contact_point": {"name": "T&S", "email": "ts@example.test"}, "legal_representative": "Rep"},
        victims=[{"age_band": "7-12"}], geolocation={"postal_code": "75001", "country": "FR"},
        persons=[{"identifiers": [
            {"type": "username", "value": "someone"},
            {"type": "ip", "value": "2001:db8::1", "observed_at": "2026-11-20T08:00:00-05:00", "port": 50432, "event": "upload"},
            {"type": "crypto_wallet", "value": "bc1qexample"},
        ]}],
    )
    r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    assert r.json()["urgent"] is True  # an imminent threat makes the report urgent
    with balise.db.sessions() as s:
        stored = s.get(Report, uuid.UUID(r.json()["id"]))
        assert stored.reported_elsewhere_reference == "CT-123"
        assert stored.provider_timezone == "+01:00"
        assert stored.victims == [{"age_band": "7-12"}]
        ip = s.execute(select(PersonIdentifier).where(PersonIdentifier.type == "ip")).scalar_one()
        assert ip.port == 50432 and ip.observed_tz == "-05:00" and ip.event == "upload"
        assert ip.observed_at.hour == 13  # stored in UTC
        assert s.execute(select(func.count()).select_from(Person)).scalar_one() == 1


def test_file_names_with_separators_and_control_characters_are_data_not_paths(client, provider, balise):
    _, key = provider
    hostile = "../../etc/passwd\x07\r\n.jpg"
    report = minimal_report(items=[{"kind": "media", "file": "a", "filename": hostile}])
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                    files=[("a", ("..\\..\\boot.ini", demo_image(3), "image/jpeg"))], headers=auth(key))
    assert r.status_code == 201, r.text
    with balise.db.sessions() as s:
        assert s.execute(select(Item.filename)).scalar_one() == hostile
    # Nothing was written outside the vault's own layout.
    written = [p for p in balise.settings.data_dir.rglob("*") if p.is_file()]
    assert all(p.suffix in (".blv", ".sqlite3", ".sqlite3-wal", ".sqlite3-shm") for p in written), written


def test_same_image_in_two_reports_is_stored_once(client, provider, balise):
    _, key = provider
    img = demo_image(9)
    for _ in range(2):
        report = minimal_report(items=[{"kind": "media", "file": "a"}])
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                        files=[("a", ("a.jpg", img, "image/jpeg"))], headers=auth(key))
        assert r.status_code == 201
    assert len(list(balise.settings.vault_path.rglob("*.blv"))) == 1
