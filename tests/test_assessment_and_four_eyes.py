"""Claims, classification, decisions and the four-eyes confirmation of new indicators."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from balise.adapters.db.models import Report, User
from balise.casework.assessment import AssessmentError, Conflict, Decision
from balise.demo import demo_image
from balise.domain.model import Scope
from tests.authority_support import make_authority
from tests.helpers import auth, make_provider, make_user, minimal_report

COMPLETE = {"signature": "SIG", "provider": {"contact_point": {"email": "ts@example.test"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}


@pytest.fixture
def queued(client, provider, balise):
    """A triaged report with one new (unmatched) image, waiting in the queue."""
    _, key = provider
    report = minimal_report(items=[{"kind": "media", "file": "a"}], **COMPLETE)
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                    files=[("a", ("a.jpg", demo_image(31, (800, 600)), "image/jpeg"))], headers=auth(key))
    balise.run_jobs()
    return uuid.UUID(r.json()["id"])


def _user(balise, name, role) -> User:
    make_user(balise, name, role)
    with balise.db.sessions() as s:
        return balise.users.get(s, name)


def _item(balise, report_id):
    with balise.db.sessions() as s:
        return s.get(Report, report_id).items[0]


def test_a_claimed_report_cannot_be_claimed_by_another_analyst_until_it_expires(balise, queued):
    ana, bob = _user(balise, "ana", "analyst"), _user(balise, "bob", "analyst")
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
    with pytest.raises(Conflict, match="ana is working on this report"), balise.db.transaction() as s:
        balise.assessment.claim(s, bob, queued)
    with balise.db.sessions() as s:
        assert balise.assessment.holder(s, queued).user_id == ana.id
    balise.assessment.claim_ttl = timedelta(0)  # ana's next claim expires at once
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, bob, queued)
    with balise.db.sessions() as s:
        assert balise.assessment.holder(s, queued) is None  # bob's, with the zero ttl, has expired too


def test_a_revoked_claim_cannot_write(balise, queued):
    ana, bob = _user(balise, "ana", "analyst"), _user(balise, "bob", "analyst")
    item = _item(balise, queued)
    balise.assessment.claim_ttl = timedelta(0)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
    balise.assessment.claim_ttl = timedelta(minutes=30)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, bob, queued)  # ana's claim had expired; bob takes it
    with pytest.raises(Conflict, match="do not hold"), balise.db.transaction() as s:
        balise.assessment.classify(s, ana, item.id, revision=item.revision, outcome="not_illegal", classification=None)
    assert _item(balise, queued).outcome is None


def test_a_stale_form_is_refused_with_a_conflict(balise, queued):
    ana = _user(balise, "ana", "analyst")
    item = _item(balise, queued)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
        balise.assessment.classify(s, ana, item.id, revision=item.revision, outcome="cannot_assess", classification=None)
    with pytest.raises(Conflict, match="reload"), balise.db.transaction() as s:
        balise.assessment.classify(s, ana, item.id, revision=item.revision, outcome="not_illegal", classification=None)
    assert _item(balise, queued).outcome == "cannot_assess"


def test_new_illegal_material_becomes_an_indicator_only_after_a_senior_confirms(client, balise, queued):
    ana, senior = _user(balise, "ana", "analyst"), _user(balise, "sam", "senior-analyst")
    item = _item(balise, queued)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
        balise.assessment.classify(s, ana, item.id, revision=item.revision, outcome="illegal",
                                   classification={"ncmec_category": "A2", "youngest_age_band": "7-12"})
    with balise.db.sessions() as s:
        candidates = balise.assessment.candidates(s)
    assert {c.algorithm for c in candidates} == {"pdq", "md5", "sha256"}
    _, key = make_provider(balise, "Matcher", scopes=(Scope.MATCH,))
    balise.settings.__dict__["index_refresh_seconds"] = 0.0
    balise.pdq_index.refresh_interval = 0.0
    probe = {"hashes": [{"type": "pdq", "value": item.hashes["pdq"]}]}
    assert client.post("/api/v1/match", json=probe, headers=auth(key)).json()["results"][0]["matches"] == []
    pdq_candidate = next(c for c in candidates if c.algorithm == "pdq")
    with pytest.raises(AssessmentError, match="senior"), balise.db.transaction() as s:
        balise.assessment.confirm(s, ana, pdq_candidate.id, accept=True)
    with balise.db.transaction() as s:
        confirmed = balise.assessment.confirm(s, senior, pdq_candidate.id, accept=True)
        assert confirmed.provenance["confirmation"]["by"] == str(senior.id)
        assert confirmed.status == "candidate_awaiting_authority"
    # Four eyes are not enough: it waits for a coordinating authority (CSAR Art. 36(3)).
    assert client.post("/api/v1/match", json=probe, headers=auth(key)).json()["results"][0]["matches"] == []
    _, authority = make_authority(balise)
    r = client.post("/api/v1/submissions", headers=auth(authority), json={
        "reference": "CA-2026-0042", "kind": "new_csam", "hashes": [{"algorithm": "pdq", "value": item.hashes["pdq"]}]})
    assert r.status_code == 201 and r.json()["indicators"][0]["outcome"] == "confirmed", r.text
    hit = client.post("/api/v1/match", json=probe, headers=auth(key)).json()["results"][0]["matches"]
    assert hit[0]["indicator_id"] == pdq_candidate.id and hit[0]["kind"] == "new_csam"


def test_the_assessor_cannot_confirm_their_own_candidate(balise, queued):
    sam = _user(balise, "sam", "senior-analyst")
    item = _item(balise, queued)
    with balise.db.transaction() as s:
        balise.assessment.claim(s, sam, queued)
        balise.assessment.classify(s, sam, item.id, revision=item.revision, outcome="illegal", classification={})
    with balise.db.sessions() as s:
        candidate = balise.assessment.candidates(s)[0]
    with pytest.raises(AssessmentError, match="four eyes"), balise.db.transaction() as s:
        balise.assessment.confirm(s, sam, candidate.id, accept=True)


def test_manifestly_unfounded_needs_reasons_and_tells_the_provider(client, provider, balise, queued):
    _, key = provider
    ana = _user(balise, "ana", "analyst")
    with balise.db.sessions() as s:
        revision = s.get(Report, queued).revision
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
    with pytest.raises(AssessmentError, match="reason"), balise.db.transaction() as s:
        balise.assessment.decide(s, ana, queued, revision=revision, decision=Decision("manifestly_unfounded"))
    with balise.db.transaction() as s:
        balise.assessment.decide(s, ana, queued, revision=revision,
                                 decision=Decision("manifestly_unfounded", ("adult_content",), "Adults only."))
    body = client.get(f"/api/v1/reports/{queued}", headers=auth(key)).json()
    assert body["state"] == "manifestly_unfounded" and body["reasons"][0]["code"] == "adult_content"
    assert body["outcome_text"] == "Adults only."
    with pytest.raises(Conflict), balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
        balise.assessment.decide(s, ana, queued, revision=revision + 1, decision=Decision("forward"))


def test_forwarding_needs_every_media_item_classified(balise, queued):
    ana = _user(balise, "ana", "analyst")
    item = _item(balise, queued)
    with balise.db.sessions() as s:
        revision = s.get(Report, queued).revision
    with balise.db.transaction() as s:
        balise.assessment.claim(s, ana, queued)
    with pytest.raises(AssessmentError, match="classify every media item"), balise.db.transaction() as s:
        balise.assessment.decide(s, ana, queued, revision=revision, decision=Decision("forward"))
    with balise.db.transaction() as s:
        balise.assessment.classify(s, ana, item.id, revision=item.revision, outcome="illegal", classification={})
        report = balise.assessment.decide(s, ana, queued, revision=revision, decision=Decision("forward"))
        assert report.state == "forwarded_europol_only" and report.decided_by == str(ana.id)


def test_roles_that_do_not_assess_are_refused(balise, queued):
    auditor = _user(balise, "aud", "auditor")
    with pytest.raises(AssessmentError), balise.db.transaction() as s:
        balise.assessment.claim(s, auditor, queued)
