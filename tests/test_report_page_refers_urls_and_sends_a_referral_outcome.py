"""The report page's referrals panel (docs/federation.md): an analyst refers a report's URLs to
a partner installation with a reason (a job queued for each), and decides the outcome of a
referral received (a job queued to send it back). Missing choices are shown as errors and
change nothing; the panel shows statuses in words; roles outside the assessment get 403."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Job, ReferralReceived, ReferralSent
from balise.intake.report_schema import ReportIn
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, minimal_report, sign_in

ADMIN = Actor.system("test")


def _flash(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _post(client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data=data, follow_redirects=False)


def _jobs(balise, kind: str) -> int:  # type: ignore[no-untyped-def]
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(Job).where(Job.kind == kind)).scalar_one()


def test_an_analyst_refers_urls_and_decides_a_received_referral_from_the_report_page(balise) -> None:
    pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with balise.db.transaction() as s:
        partner = balise.federation_partners.add(s, ADMIN, name="Hotline NL", country="NL",
                                                 base_url="https://balise.hotline.example", public_key_pem=pem.decode())
        partner_id = partner.id
    report = ReportIn.model_validate(minimal_report(items=[{"kind": "url", "url": "https://files.host.example/1"},
                                                           {"kind": "url", "url": "https://files.host.example/2"}]))
    report_id = balise.intake.file(actor=ADMIN, organisation_id=None, report=report, files={}, fingerprint="ui",
                                   idempotency_key=None).report.id
    make_user(balise, "ana", "analyst")
    make_user(balise, "officer", "le-liaison")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "ana")
        page = html.unescape(client.get(f"/ui/reports/{report_id}").text)
        assert "Referrals between installations" in page
        assert "2 URLs of this report can be referred to a partner installation" in page
        assert '<option value="Hotline NL">Hotline NL (NL)</option>' in page
        token = csrf_token(page)
        refer = f"/ui/reports/{report_id}/refer"
        assert "Say why" in _flash(_post(client, refer, {"csrftoken": token, "partner": "Hotline NL"}))["err"]
        assert "Choose the partner" in _flash(_post(client, refer, {"csrftoken": token, "reason": "x"}))["err"]
        assert "no partner 'Nobody'" in _flash(_post(client, refer, {"csrftoken": token, "partner": "Nobody",
                                                                         "reason": "x"}))["err"]
        assert client.post(refer, data={"partner": "Hotline NL", "reason": "hosted in NL"}).status_code == 403
        assert _jobs(balise, "referral.send") == 0
        done = _flash(_post(client, refer, {"csrftoken": token, "partner": "Hotline NL", "reason": "hosted in NL"}))
        assert done["msg"] == "2 URLs referred; they will be sent to the partner."
        assert _jobs(balise, "referral.send") == 2
        page = html.unescape(client.get(f"/ui/reports/{report_id}").text)
        assert page.count("waiting to be delivered") == 2 and "can be referred" not in page

        # The same report as if a partner had referred it to us.
        with balise.db.transaction() as s:
            received = ReferralReceived(partner_id=partner_id, partner_name="Hotline NL", sender_key_id="k" * 16,
                                        sender_reference=str(uuid.uuid4()), report_id=report_id,
                                        url="https://files.host.example/1", details={}, status="open",
                                        received_at=balise.clock())
            s.add(received)
            s.flush()
            received_id = received.id
        page = html.unescape(client.get(f"/ui/reports/{report_id}").text)
        assert re.search(r"This report is a referral from the partner installation Hotline NL, received", page)
        assert "open: outcome to decide" in page
        outcome = f"/ui/referrals/{received_id}/outcome"
        assert "Choose an outcome" in _flash(_post(client, outcome, {"csrftoken": token}))["err"]
        assert "not a date" in _flash(_post(client, outcome, {"csrftoken": token, "result": "removed",
                                                                 "removed_on": "yesterday"}))["err"]
        assert _jobs(balise, "referral.outcome") == 0
        done = _flash(_post(client, outcome, {"csrftoken": token, "result": "not_illegal"}))
        assert done["msg"] == "Outcome recorded; it will be sent back to the partner."
        assert "closed already" in _flash(_post(client, outcome, {"csrftoken": token, "result": "removed"}))["err"]
        assert _jobs(balise, "referral.outcome") == 1
        page = html.unescape(client.get(f"/ui/reports/{report_id}").text)
        assert "closed · not illegal" in page and "outcome waiting to be sent back" in page

        sign_in(client, balise, "officer")
        officer = client.get("/ui/settings").text
        assert client.post(refer, data={"csrftoken": csrf_token(officer), "partner": "Hotline NL",
                                        "reason": "x"}).status_code == 403
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(ReferralSent)).scalar_one() == 2
        assert s.get(ReferralReceived, received_id).outcome == "not_illegal"
