"""A coordinating authority files a victim's request keyed by the hashes of the material
(CSAR Art. 20, 21): Balise answers with the reports that contained matching items (exact hash,
near PDQ, and the rest of their series) with provider, date, forwarding and removal; removal
support re-checks the known URLs and queues a notice to the host; a removal order can be
marked as requested. Every step is audited. A request without hashes, with a bad hash, or
from a key that is not an authority's is refused and stores nothing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Job, Notice, Takedown, UrlHosting, VictimRequest
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.model import OrgKind, Scope
from tests.helpers import auth, make_provider
from tests.series_support import file_report, variant


def authority_key(balise, name="DEMO Coordinating authority FR") -> str:  # type: ignore[no-untyped-def]
    with balise.db.transaction() as s:
        org = balise.organisations.create(s, Actor.system("test"), name=name, kind=OrgKind.COORDINATING_AUTHORITY,
                                          country="FR")
        return balise.organisations.issue_key(s, Actor.system("test"), org, (Scope.REPORTS_READ,)).plaintext


def events(balise, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    with balise.db.sessions() as s:
        return [r for (r,) in s.execute(select(AuditRecord.event_type).where(AuditRecord.event_type.like(prefix + "%"))
                                        .order_by(AuditRecord.seq)).all()]


def stored(balise) -> int:  # type: ignore[no-untyped-def]
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(VictimRequest)).scalar_one()


def test_victim_request_answered_with_removal_support(balise, client):
    _, provider = make_provider(balise)
    copy_a, copy_b = variant(7, 1), variant(7, 2)
    first = file_report(client, provider, {"a": copy_a})
    second = file_report(client, provider, {"b": copy_b})
    unrelated = file_report(client, provider, {"x": demo_image(99, (640, 480))})
    balise.run_jobs()
    # The second report's URL was notified to its host and is being watched (as routing leaves it).
    now = balise.clock()
    with balise.db.transaction() as s:
        from balise.adapters.db.models import Item

        item = Item(report_id=uuid.UUID(second), position=9, kind="url", url="https://files.example.test/p/1")
        s.add(item)
        s.flush()
        s.add(UrlHosting(item_id=item.id, report_id=item.report_id, host="files.example.test",
                         abuse_email="abuse@files.example.test", fetch_status="served", fetched_at=now))
        s.add(Takedown(item_id=item.id, report_id=item.report_id, url=item.url, status="watching", received_at=now,
                       host_notified_at=now - timedelta(days=3), step=1, next_check_at=now + timedelta(days=1)))
    key = authority_key(balise)

    # Keyed by the original picture's PDQ (the victim's copy) and one file's SHA-256.
    pdq = hash_image_bytes(demo_image(7, (800, 600))).pdq
    r = client.post("/api/v1/victim-requests", headers=auth(key), json={
        "hashes": [{"type": "pdq", "value": pdq.upper()},
                   {"type": "sha256", "value": hashlib.sha256(copy_a).hexdigest()}],
        "authority_reference": "CA-FR-2026-17"})
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["reference"].startswith("VR-") and answer["authority_reference"] == "CA-FR-2026-17"
    reports = {a["report"]: a for a in answer["reports"]}
    assert set(reports) == {first, second} and unrelated not in reports
    assert reports[first]["provider"] == "Test Provider" and reports[first]["matched_by"] == ["hash"]
    assert reports[second]["forwarded"] is False and reports[second]["urls"] == 1
    assert reports[second]["urls_removed"] == 0 and reports[second]["removed"] is False
    assert answer["clocks"]["answered_at"] and answer["clocks"]["answered_within_seconds"] >= 0
    assert answer["removal"] is None

    ref = answer["reference"]
    r = client.post(f"/api/v1/victim-requests/{ref}/removal", headers=auth(key))
    assert r.status_code == 200, r.text
    removal = r.json()["removal"]
    assert removal["rechecks"] == 1 and removal["notices"] == 1
    with balise.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.dedupe.like("victim:%"))).scalar_one()
        assert notice.kind == "host_notice" and notice.recipient == "abuse@files.example.test"
        assert "files.example.test/p/1" in notice.body
        checks = s.execute(select(Job).where(Job.kind == "takedown.check", Job.dedupe_key.like("victim:%"))).scalars().all()
        assert len(checks) == 1
    # Asking again sends no second notice for the same request.
    assert client.post(f"/api/v1/victim-requests/{ref}/removal", headers=auth(key)).json()["removal"]["notices"] == 0

    r = client.post(f"/api/v1/victim-requests/{ref}/removal-order", headers=auth(key),
                    json={"order_reference": "ORDER-REQ-9"})
    assert r.status_code == 200 and r.json()["removal_order_requested"] is True
    assert r.json()["order_reference"] == "ORDER-REQ-9"

    # Another authority cannot read it.
    other = authority_key(balise, "DEMO Coordinating authority DE")
    assert client.get(f"/api/v1/victim-requests/{ref}", headers=auth(other)).status_code == 404
    got = client.get(f"/api/v1/victim-requests/{ref}", headers=auth(key))
    assert got.status_code == 200 and got.json()["reports"] == answer["reports"]
    assert events(balise, "victim_request:") == [
        "victim_request:file", "victim_request:answer", "victim_request:removal", "victim_request:removal",
        "victim_request:order", "victim_request:read"]


def test_bad_victim_requests_are_refused_and_store_nothing(balise, client):
    _, provider = make_provider(balise)
    key = authority_key(balise)
    pdq = "f" * 64
    # A provider's key is not an authority's.
    r = client.post("/api/v1/victim-requests", headers=auth(provider), json={"hashes": [{"type": "pdq", "value": pdq}]})
    assert r.status_code == 403 and r.json()["error"] == "not_an_authority"
    assert events(balise, "victim_request:") == ["victim_request:refuse"]
    # No hashes: identity alone never opens a request.
    for body in ({}, {"hashes": []}, {"authority_reference": "CA-1"}):
        r = client.post("/api/v1/victim-requests", headers=auth(key), json=body)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "hashes", r.text
    # Bad hashes: the field is named.
    cases = [({"hashes": [{"type": "pdq", "value": "xyz"}]}, "hashes[0].value"),
             ({"hashes": [{"type": "sha256", "value": pdq}, {"type": "md5", "value": "0" * 31}]}, "hashes[1].value"),
             ({"hashes": [{"type": "name", "value": "Alice"}]}, "hashes[0].type"),
             ({"hashes": [{"type": "pdq", "value": pdq}], "victim_name": "Alice"}, "victim_name"),
             ({"hashes": [{"type": "pdq", "value": pdq}], "removal_support": "yes"}, "removal_support")]
    for body, field in cases:
        r = client.post("/api/v1/victim-requests", headers=auth(key), json=body)
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == field, (body, r.text)
    assert stored(balise) == 0
    assert events(balise, "victim_request:") == ["victim_request:refuse"]
