"""A report's persons and identifiers (personal data) are shown with the report only to the
analyst who claimed it: assessing it is the purpose. Another analyst sees how many there are
and must say why before they are shown; each view is audited as person:read with its purpose,
and a purpose too short is refused without showing or recording anything."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord
from balise.web.app import create_app
from tests.helpers import auth, csrf_token, make_user, minimal_report, sign_in

ACCOUNT = "suspect_account_4711"
COMPLETE = {"signature": "SIG", "provider": {"contact_point": {"email": "ts@example.test"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}


@pytest.fixture
def report_id(client, provider, balise):
    _, key = provider
    report = minimal_report(persons=[{"role": "reported_user", "identifiers": [{"type": "username", "value": ACCOUNT}]}],
                            **COMPLETE)
    r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    balise.run_jobs()
    return uuid.UUID(r.json()["id"])


def person_reads(balise) -> list[str]:
    with balise.db.sessions() as s:
        return [e.purpose for e in s.execute(select(AuditRecord).where(AuditRecord.event_type == "person:read")
                                             .order_by(AuditRecord.seq)).scalars()]


def signed_in(balise, name):
    make_user(balise, name, "analyst")
    client = TestClient(create_app(balise))
    sign_in(client, balise, name)
    return client


def test_the_claimant_sees_the_persons_with_the_report(balise, report_id):
    ana = signed_in(balise, "ana")
    token = csrf_token(ana.get("/ui/queue").text)
    assert ana.post(f"/ui/reports/{report_id}/claim", data={"csrftoken": token}).status_code == 200
    assert ACCOUNT in ana.get(f"/ui/reports/{report_id}").text
    assert person_reads(balise)[-1] == f"assess report {report_id} (claimed)"


def test_another_analyst_says_why_before_seeing_them(balise, report_id):
    bob = signed_in(balise, "bob")
    page = bob.get(f"/ui/reports/{report_id}")
    assert ACCOUNT not in page.text and "1 person(s) or account(s)" in page.text
    assert person_reads(balise) == []
    token = csrf_token(page.text)
    short = bob.post(f"/ui/reports/{report_id}/persons", data={"purpose": " why ", "csrftoken": token})
    assert ACCOUNT not in short.text
    assert "at least 5 characters" in short.text
    assert person_reads(balise) == []
    shown = bob.post(f"/ui/reports/{report_id}/persons",
                     data={"purpose": "link with report 12 of the same account", "csrftoken": token})
    assert shown.status_code == 200 and ACCOUNT in shown.text
    assert shown.headers["cache-control"] == "no-store, private"
    assert person_reads(balise) == ["link with report 12 of the same account"]
