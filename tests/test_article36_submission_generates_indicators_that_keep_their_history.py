"""An Article 36 submission from a coordinating authority's key generates active indicators,
each linked to its submission (authority, reference, process) and with a history that records
every later change: a second submission naming it again, a suspension by staff, the withdrawal
of the submission. The authority lists and reads its own submissions only; a court decision is
recorded by staff as a submission without an organisation."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Indicator, IndicatorHistory, IndicatorSubmission
from balise.domain.indicators import IndicatorStatus
from balise.domain.submissions import SubmissionChannel, check_submission
from tests.authority_support import make_authority
from tests.helpers import auth

MD5 = hashlib.md5(b"DEMO submitted picture").hexdigest()
SHA256 = hashlib.sha256(b"DEMO submitted picture").hexdigest()


def _history(balise, indicator_id):
    with balise.db.sessions() as s:
        return [(h.action, h.status, h.submission_id) for h in s.execute(
            select(IndicatorHistory).where(IndicatorHistory.indicator_id == indicator_id)
            .order_by(IndicatorHistory.id)).scalars()]


def test_a_submission_generates_indicators_with_their_provenance_and_history(client, balise):
    org_id, key = make_authority(balise)
    r = client.post("/api/v1/submissions", headers=auth(key), json={
        "reference": "PARQUET-PARIS-2026-117", "process": "authority_confirmation", "kind": "known_csam",
        "decided_at": "2026-11-30T09:00:00+01:00",
        "hashes": [{"algorithm": "MD5", "value": MD5.upper()}, {"algorithm": "sha256", "value": SHA256},
                   {"algorithm": "md5", "value": MD5}]})  # the same hash twice counts once
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reference"] == "PARQUET-PARIS-2026-117" and body["hash_count"] == 2
    assert [(i["algorithm"], i["value"], i["status"], i["outcome"]) for i in body["indicators"]] == [
        ("md5", MD5, "active", "created"), ("sha256", SHA256, "active", "created")]
    with balise.db.sessions() as s:
        submission = s.get(IndicatorSubmission, body["id"])
        assert (submission.organisation_id, submission.authority, submission.process, submission.channel) == (
            org_id, "Test Coordinating Authority", "authority_confirmation", "api")
        indicators = s.execute(select(Indicator).order_by(Indicator.id)).scalars().all()
        assert {i.submission_id for i in indicators} == {submission.id}
        assert indicators[0].provenance["submission"]["reference"] == "PARQUET-PARIS-2026-117"
        created = s.execute(select(AuditRecord).where(AuditRecord.event_type == "submission:create")).scalar_one()
        assert created.details["created"] == 2 and created.details["reference"] == "PARQUET-PARIS-2026-117"
    md5_id = body["indicators"][0]["id"]
    assert _history(balise, md5_id) == [("created", "active", body["id"])]

    # Named again by a later decision: kept, and the history says so.
    again = client.post("/api/v1/submissions", headers=auth(key), json={
        "reference": "PARQUET-PARIS-2026-130", "hashes": [{"algorithm": "md5", "value": MD5}]}).json()
    assert again["indicators"][0]["outcome"] == "reconfirmed"
    with balise.db.transaction() as s:
        balise.indicators.set_status(s, Actor.system("test"), md5_id, IndicatorStatus.SUSPENDED, "DEMO check")
    with balise.db.transaction() as s:
        balise.indicators.set_status(s, Actor.system("test"), md5_id, IndicatorStatus.ACTIVE, "DEMO check done")
        suspended = balise.submissions.withdraw(s, Actor.system("test"), body["id"], "decision annulled on appeal")
    assert {i.id for i in suspended} == {md5_id, body["indicators"][1]["id"]}
    assert _history(balise, md5_id) == [
        ("created", "active", body["id"]), ("reconfirmed", "active", again["id"]), ("status", "suspended", None),
        ("status", "active", None), ("submission_withdrawn", "suspended", body["id"])]

    # The provenance as staff read it: an audited read.
    with balise.db.transaction() as s:
        seen = balise.submissions.provenance(s, Actor.system("test"), md5_id, "check provenance")
        assert seen.submission.reference == "PARQUET-PARIS-2026-117" and len(seen.history) == 5
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "indicator:history_read")).scalar_one()

    listed = client.get("/api/v1/submissions", headers=auth(key)).json()["submissions"]
    assert [x["id"] for x in listed] == [again["id"], body["id"]] and listed[1]["withdrawn_at"]
    one = client.get(f"/api/v1/submissions/{body['id']}", headers=auth(key)).json()
    assert {i["status"] for i in one["indicators"]} == {"suspended"}
    # Another authority sees none of them.
    _, other = make_authority(balise, "Other Authority")
    assert client.get("/api/v1/submissions", headers=auth(other)).json()["submissions"] == []
    assert client.get(f"/api/v1/submissions/{body['id']}", headers=auth(other)).status_code == 404


def test_a_court_decision_is_recorded_by_staff_as_a_submission(balise):
    terms = check_submission(reference="TJ Lyon 26/0815", process="court_decision", kind="known_csam",
                             authority="Tribunal judiciaire de Lyon", hashes=[{"algorithm": "md5", "value": MD5}])
    with balise.db.transaction() as s:
        result = balise.submissions.submit(s, Actor.staff("u1", "demo-admin"), terms, channel=SubmissionChannel.CLI,
                                           organisation_id=None)
        assert result.submission.organisation_id is None
        assert result.submission.authority == "Tribunal judiciaire de Lyon"
        assert [i.status for i in result.created] == ["active"]
