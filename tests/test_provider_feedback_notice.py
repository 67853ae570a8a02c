"""A report found manifestly unfounded is fed back to the provider's contact point by e-mail,
with the reasons and the analyst's note (CSAR Art. 48(2)); a report without a provider e-mail
gets no notice, and the outcome stays readable through the API."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import Notice, Report
from balise.casework.assessment import Decision
from balise.web.app import create_app
from tests.helpers import auth, make_provider, make_user, minimal_report
from tests.takedown_support import Clock, mailbox, routing_app

CONTACT = {"contact_point": {"email": "trust@provider.example"}}


def _file(app, key, **fields) -> uuid.UUID:
    report = minimal_report(signature="DEMO", user_decision="block", reported_elsewhere={"reported": False},
                            **fields)
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def _unfounded(app, report_id, reasons, text="") -> None:
    with app.db.transaction() as s:
        user = app.users.get(s, "ana")
        app.assessment.claim(s, user, report_id)
    with app.db.transaction() as s:
        user = app.users.get(s, "ana")
        app.assessment.decide(s, user, report_id, revision=s.get(Report, report_id).revision,
                              decision=Decision("manifestly_unfounded", tuple(reasons), text))


def test_the_provider_is_told_by_email_why_its_report_was_manifestly_unfounded(tmp_path, db_url) -> None:
    with mailbox() as box:
        app = routing_app(tmp_path, db_url, Clock(), box.port)
        _, key = make_provider(app)
        make_user(app, "ana", "analyst")
        with_contact = _file(app, key, provider=CONTACT)
        without = _file(app, key, provider={"contact_point": {"name": "DEMO desk", "phone": "+33 1 00 00 00 00"}})
        app.run_jobs()
        _unfounded(app, with_contact, ["adult_content", "other"], "DEMO: the person shown is an adult performer")
        _unfounded(app, without, ["technical_error"])
        app.run_jobs()
        with app.db.sessions() as s:
            notices = s.execute(select(Notice)).scalars().all()
        assert [(n.kind, n.report_id, n.recipient, n.status) for n in notices] == \
            [("provider_feedback", with_contact, "trust@provider.example", "sent")]
        assert box.recipients == [["trust@provider.example"]]
        body = box.messages[0].get_payload(decode=True).decode()
        assert str(with_contact) in body and "DEMO: the person shown is an adult performer" in body
        with TestClient(create_app(app)) as client:
            status = client.get(f"/api/v1/reports/{without}", headers=auth(key)).json()
        assert status["state"] == "manifestly_unfounded" and status["reasons"][0]["code"] == "technical_error"
