"""Every new report is triaged by a durable job: completeness, duplicates, re-use, priority."""

from __future__ import annotations

import io
import json
import uuid

from PIL import Image
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Job, Report
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind
from tests.helpers import auth, minimal_report

COMPLETE = {"signature": "SIG", "provider": {"contact_point": {"email": "ts@example.test"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}


def _file(client, key, images=(), **fields):
    report = minimal_report(items=[{"kind": "media", "file": f"f{i}"} for i in range(len(images))] or None, **fields) \
        if images else minimal_report(**fields)
    if images:
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                        files=[(f"f{i}", (f"{i}.jpg", img, "image/jpeg")) for i, img in enumerate(images)], headers=auth(key))
    else:
        r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _report(balise, rid) -> Report:
    with balise.db.sessions() as s:
        report = s.get(Report, uuid.UUID(rid))
        report.items, report.events  # noqa: B018 - load while the session is open
        return report


def test_filing_enqueues_triage_in_the_same_transaction(client, provider, balise):
    _, key = provider
    rid = _file(client, key, **COMPLETE)
    with balise.db.sessions() as s:
        job = s.execute(select(Job).where(Job.kind != "entities.extract")).scalar_one()
    assert job.kind == "report.triage" and job.payload == {"report_id": rid} and job.status == "pending"
    assert balise.run_jobs() == 2  # with the cross-report entity index's job (docs/intelligence.md)
    assert _report(balise, rid).state == "in_assessment"


def test_a_refused_report_leaves_no_job(client, provider, balise):
    _, key = provider
    client.post("/api/v1/reports", json={"items": []}, headers=auth(key))
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Job)).scalar_one() == 0


def test_missing_information_is_requested_and_the_provider_completes_it(client, provider, balise):
    _, key = provider
    rid = _file(client, key)  # no signature, contact point, user decision, reported elsewhere
    balise.run_jobs()
    body = client.get(f"/api/v1/reports/{rid}", headers=auth(key)).json()
    assert body["state"] == "information_requested"
    assert body["missing_fields"] == ["signature", "provider.contact_point", "user_decision", "reported_elsewhere"]
    assert [h["to"] for h in body["history"]] == ["received", "incomplete", "information_requested"]
    partial = client.patch(f"/api/v1/reports/{rid}", json={"signature": "SIG"}, headers=auth(key))
    assert partial.status_code == 200 and partial.json()["state"] == "incomplete"
    balise.run_jobs()
    assert client.get(f"/api/v1/reports/{rid}", headers=auth(key)).json()["missing_fields"] == [
        "provider.contact_point", "user_decision", "reported_elsewhere"]
    rest = {k: v for k, v in COMPLETE.items() if k != "signature"}
    assert client.patch(f"/api/v1/reports/{rid}", json=rest, headers=auth(key)).status_code == 200
    balise.run_jobs()
    assert client.get(f"/api/v1/reports/{rid}", headers=auth(key)).json()["state"] == "in_assessment"


def test_patch_is_refused_when_nothing_was_requested_or_malformed(client, provider, balise):
    _, key = provider
    rid = _file(client, key, **COMPLETE)
    balise.run_jobs()
    assert client.patch(f"/api/v1/reports/{rid}", json={"signature": "x"}, headers=auth(key)).status_code == 409
    assert client.patch(f"/api/v1/reports/{rid}", json={"state": "forwarded"}, headers=auth(key)).status_code == 422
    assert client.patch(f"/api/v1/reports/{rid}", json={}, headers=auth(key)).status_code == 422


def test_the_same_image_reported_twice_is_linked_and_counted(client, provider, balise):
    _, key = provider
    image = demo_image(11, (800, 600))
    first = _file(client, key, [image], **COMPLETE)
    resized = io.BytesIO()
    Image.open(io.BytesIO(image)).resize((400, 300)).save(resized, "JPEG", quality=75)
    second = _file(client, key, [image], **COMPLETE)
    third = _file(client, key, [resized.getvalue()], **COMPLETE)
    balise.run_jobs()
    original = _report(balise, first).items[0]
    exact = _report(balise, second).items[0]
    near = _report(balise, third).items[0]
    assert exact.duplicate_of == original.id and exact.duplicate_distance == 0
    assert near.duplicate_of == original.id and 0 < near.duplicate_distance <= 31
    with balise.db.sessions() as s:
        assert s.get(Item, original.id).times_reported == 3


def test_an_item_matching_a_confirmed_indicator_is_assessed_by_reuse(client, provider, balise):
    _, key = provider
    known = demo_image(12, (800, 600))
    with balise.db.transaction() as s:
        ind = balise.indicators.add(s, Actor.system("t"), algorithm=Algorithm.PDQ, value=hash_image_bytes(known).pdq,
                                    kind=IndicatorKind.KNOWN_CSAM, provenance={}, classification={"ncmec_category": "A1"})
    rid = _file(client, key, [known, demo_image(13, (800, 600))], **COMPLETE)
    balise.run_jobs()
    reused, fresh = _report(balise, rid).items
    assert reused.outcome == "illegal" and reused.assessment_source == f"reuse:indicator:{ind.id}"
    assert reused.classification == {"ncmec_category": "A1"} and reused.assessed_by == "system:triage"
    assert fresh.outcome is None  # left for a human
    report = _report(balise, rid)
    assert report.state == "in_assessment"  # nothing is forwarded automatically
    assert {r["code"] for r in report.priority_reasons} >= {"new_material"}


def test_urgent_reports_get_the_highest_priority(client, provider, balise):
    _, key = provider
    calm = _file(client, key, **COMPLETE)
    urgent = _file(client, key, urgent=True, **COMPLETE)
    balise.run_jobs()
    assert _report(balise, urgent).priority > _report(balise, calm).priority


def test_triage_is_idempotent(client, provider, balise):
    _, key = provider
    image = demo_image(14, (800, 600))
    _file(client, key, [image], **COMPLETE)
    rid = _file(client, key, [image], **COMPLETE)
    balise.run_jobs()
    before = _report(balise, rid)
    balise.triage.triage(uuid.UUID(rid))
    balise.triage.triage(uuid.UUID(rid))
    after = _report(balise, rid)
    assert after.state == before.state and len(after.events) == len(before.events)
    with balise.db.sessions() as s:
        assert max(s.execute(select(Item.times_reported)).scalars()) == 2
