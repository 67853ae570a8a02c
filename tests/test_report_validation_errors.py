"""Bad submissions get a precise error that names the field, and store nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Item, Report
from balise.demo import demo_image
from tests.helpers import auth, minimal_report


def _nothing_stored(balise) -> None:
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Report)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Item)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditRecord).where(AuditRecord.event_type == "report:create")).scalar_one() == 0
    assert not list(balise.settings.vault_path.rglob("*.blv"))


def test_malformed_json_is_422_malformed_json(client, provider, balise):
    _, key = provider
    r = client.post("/api/v1/reports", content=b'{"type": "known_csam",', headers={**auth(key), "content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] == "malformed_json"
    _nothing_stored(balise)


def test_missing_annex_iii_fields_are_listed(client, provider, balise):
    _, key = provider
    r = client.post("/api/v1/reports", json={"items": [{"kind": "url", "url": "https://x.test/"}]}, headers=auth(key))
    assert r.status_code == 422
    body = r.json()
    assert sorted(body["missing"]) == ["awareness", "content_removed", "reported_at", "service", "type"]
    assert "reported_at" in body["message"]
    _nothing_stored(balise)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content_removed": "perhaps"}, "content_removed"),
        ({"reported_at": "2026-11-23T10:00:00"}, "reported_at"),  # no time zone
        ({"type": "something"}, "type"),
        ({"service": {"type": "hosting", "url": "javascript:alert(1)"}}, "service.url"),
        ({"awareness": {"source": "other"}}, "awareness"),
        ({"items": []}, "items"),
        ({"items": [{"kind": "hash_only", "hashes": {"md5": "xyz"}}]}, "items.0.hashes"),
        ({"items": [{"kind": "hash_only", "hashes": {"sha256": "a" * 63}}]}, "items.0.hashes"),
        ({"items": [{"kind": "hash_only", "hashes": {}}]}, "items.0"),
        ({"items": [{"kind": "url", "url": "ftp://x.test/a"}]}, "items.0.url"),
        ({"items": [{"kind": "url", "url": "https://x.test/" + "a" * 9000}]}, "items.0.url"),
        ({"items": [{"kind": "video"}]}, "items.0"),
        ({"persons": [{"identifiers": [{"type": "ip", "value": "999.1.1.1"}]}]}, "persons.0.identifiers.0"),
        ({"persons": [{"identifiers": [{"type": "ip", "value": "192.0.2.1", "port": 70000}]}]}, "persons.0.identifiers.0.port"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_wrong_value_names_its_field(client, provider, balise, change, field):
    _, key = provider
    r = client.post("/api/v1/reports", json=minimal_report(**change), headers=auth(key))
    assert r.status_code == 422, r.text
    fields = [f["field"] for f in r.json()["fields"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    _nothing_stored(balise)


def test_body_that_is_not_an_object_is_refused(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", json=[1, 2], headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "invalid_report"


def test_unsupported_content_type_is_415(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", content=b"<report/>", headers={**auth(key), "content-type": "application/xml"})
    assert r.status_code == 415


def test_media_item_without_its_file_part_is_422(client, provider, balise):
    _, key = provider
    report = minimal_report(items=[{"kind": "media", "file": "missing"}])
    r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "missing_file"
    assert r.json()["fields"][0]["field"] == "items.0.file"
    _nothing_stored(balise)


def test_file_part_no_item_refers_to_is_422(client, provider, balise):
    _, key = provider
    r = client.post("/api/v1/reports", data={"report": json.dumps(minimal_report())},
                    files=[("stray", ("x.jpg", demo_image(1), "image/jpeg"))], headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "unreferenced_file"
    _nothing_stored(balise)


def test_declared_hash_that_does_not_match_the_file_is_422(client, provider, balise):
    _, key = provider
    report = minimal_report(items=[{"kind": "media", "file": "a", "hashes": {"md5": "f" * 32}}])
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                    files=[("a", ("x.jpg", demo_image(1), "image/jpeg"))], headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "hash_mismatch"
    assert r.json()["fields"][0]["field"] == "items.0.hashes.md5"
    _nothing_stored(balise)


def test_multipart_without_report_part_is_422(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", files=[("a", ("x.jpg", b"abc", "image/jpeg"))], headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "missing_report"


def test_multipart_report_part_with_broken_json_is_422(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", data={"report": "{nope"}, files=[("a", ("x", b"abc", "text/plain"))], headers=auth(key))
    assert r.status_code == 422 and r.json()["error"] == "malformed_json"


def test_same_part_used_by_two_items_is_422(client, provider):
    _, key = provider
    report = minimal_report(items=[{"kind": "media", "file": "a"}, {"kind": "media", "file": "a"}])
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                    files=[("a", ("x.jpg", demo_image(1), "image/jpeg"))], headers=auth(key))
    assert r.status_code == 422


def test_invalid_report_id_in_path_is_422(client, provider):
    _, key = provider
    r = client.get("/api/v1/reports/not-a-uuid", headers=auth(key))
    assert r.status_code == 422 and r.json()["fields"][0]["field"].endswith("report_id")
