"""POST /api/v1/referrals and /api/v1/referrals/{id}/outcome accept only a request signed by a
known partner's key, fresh, never seen, and addressed to this installation. Each refusal has
its own status and code, is audited (referral:refuse) and stores nothing else; an accepted
referral opens a report here and is acknowledged with our id, and the sender's retry of it gets
the same answer instead of a second report."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord as AuditRow
from balise.adapters.db.models import ReferralReceived, Report
from balise.container import Balise
from balise.domain.federation import signed_message, timestamp_text
from balise.web.app import create_app
from tests.conftest import make_settings

STAFF = Actor.system("test")


def _headers(key_id: str, sign, path: str, body: bytes, *, stamp: str, nonce: str | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    nonce = nonce or secrets.token_urlsafe(18)
    signature = sign(signed_message("POST", path, key_id, stamp, nonce, body))
    return {"Balise-Sender": key_id, "Balise-Timestamp": stamp, "Balise-Nonce": nonce,
            "Balise-Signature": "ed25519=" + base64.b64encode(signature).decode(), "Content-Type": "application/json"}


@pytest.fixture
def pair(tmp_path, db_url, sqlite_template):
    """B (this test's database) knows A (its own SQLite file) as a partner, and A knows B."""
    shutil.copy(sqlite_template, tmp_path / "a.sqlite3")
    a = Balise(make_settings(tmp_path / "a", f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    b = Balise(make_settings(tmp_path / "b", db_url))
    with b.db.transaction() as s:
        b.federation_partners.add(s, STAFF, name="Hotline A", country="FR", base_url="http://127.0.0.1:8001",
                                  public_key_pem=a.signer.public_pem)
    with a.db.transaction() as s:
        a.federation_partners.add(s, STAFF, name="Hotline B", country="NL", base_url="http://127.0.0.1:8002",
                                  public_key_pem=b.signer.public_pem)
    with TestClient(create_app(b)) as client:
        yield a, b, client
    a.close()
    b.close()


def _counts(b: Balise) -> tuple[int, int, int]:
    with b.db.sessions() as s:
        refused = s.execute(select(func.count()).select_from(AuditRow)
                            .where(AuditRow.event_type == "referral:refuse")).scalar_one()
        return (refused, s.execute(select(func.count()).select_from(ReferralReceived)).scalar_one(),
                s.execute(select(func.count()).select_from(Report)).scalar_one())


def test_each_bad_referral_is_refused_audited_and_stores_nothing(pair):
    a, b, client = pair
    now = timestamp_text(b.clock())
    doc = {"version": 1, "recipient": b.signer.key_id, "referral_id": str(uuid.uuid4()),
           "url": "https://files.host.example/abc", "hosting_country": "NL", "report_type": "new_csam",
           "assessment": {"item_outcome": "illegal", "assessed_at": "2026-12-01T10:00:00Z"},
           "classification": {"ncmec_category": "A1"},
           "evidence_package": {"id": str(uuid.uuid4()), "sha256": "a" * 64, "key_id": a.signer.key_id}}
    body = json.dumps(doc).encode()
    path = "/api/v1/referrals"
    stranger = Ed25519PrivateKey.generate()
    from balise.evidence.adapters.signing import public_key_id

    cases = [
        ("no headers", {"Content-Type": "application/json"}, body, 422, "invalid_request"),
        ("unknown partner", _headers(public_key_id(stranger.public_key()), stranger.sign, path, body, stamp=now),
         body, 403, "unknown_partner"),
        ("A's name, another key", _headers(a.signer.key_id, stranger.sign, path, body, stamp=now), body, 401,
         "bad_signature"),
        ("body changed after signing", _headers(a.signer.key_id, a.signer.sign, path, body, stamp=now),
         body.replace(b"abc", b"abd"), 401, "bad_signature"),
        ("signed for another path", _headers(a.signer.key_id, a.signer.sign, path + "/x/outcome", body, stamp=now),
         body, 401, "bad_signature"),
        ("ten minutes old", _headers(a.signer.key_id, a.signer.sign, path, body,
                                     stamp=timestamp_text(b.clock() - timedelta(minutes=10))), body, 422,
         "stale_timestamp"),
    ]
    wrong = json.dumps({**doc, "recipient": a.signer.key_id}).encode()
    cases.append(("for another installation", _headers(a.signer.key_id, a.signer.sign, path, wrong, stamp=now),
                  wrong, 422, "wrong_recipient"))
    ftp = json.dumps({**doc, "url": "ftp://files.host.example/abc"}).encode()
    cases.append(("not a web address", _headers(a.signer.key_id, a.signer.sign, path, ftp, stamp=now), ftp, 422,
                  "invalid_request"))
    garbage = b"not json"
    cases.append(("not JSON", _headers(a.signer.key_id, a.signer.sign, path, garbage, stamp=now), garbage, 422,
                  "invalid_request"))
    for n, (what, headers, sent, status, code) in enumerate(cases, start=1):
        r = client.post(path, content=sent, headers=headers)
        assert (r.status_code, r.json()["error"]) == (status, code), (what, r.text)
        assert _counts(b) == (n, 0, 0), what

    # Accepted: a report in B's queue, acknowledged with B's id.
    headers = _headers(a.signer.key_id, a.signer.sign, path, body, stamp=now)
    r = client.post(path, content=body, headers=headers)
    assert r.status_code == 201, r.text
    ack = r.json()
    assert ack["receiver"] == b.signer.key_id and ack["status"] == "received"
    refused = len(cases)
    assert _counts(b) == (refused, 1, 1)
    with b.db.sessions() as s:
        received = s.get(ReferralReceived, uuid.UUID(ack["referral_id"]))
        report = s.get(Report, received.report_id)
        assert received.partner_name == "Hotline A" and received.url == doc["url"] and received.status == "open"
        assert report.source == "hotline" and [i.url for i in report.items] == [doc["url"]]
        assert "Referred by the partner installation Hotline A" in report.additional_info
        assert "ncmec_category A1" in report.additional_info
        events = [e for e, in s.execute(select(AuditRow.event_type).where(AuditRow.event_type == "referral:receive"))]
        assert events == ["referral:receive"]

    # The same request again: a replay.
    r = client.post(path, content=body, headers=headers)
    assert (r.status_code, r.json()["error"]) == (409, "replayed")
    assert _counts(b) == (refused + 1, 1, 1)
    # The sender's retry (new nonce) of a referral B holds: the same answer, no second report.
    r = client.post(path, content=body, headers=_headers(a.signer.key_id, a.signer.sign, path, body, stamp=now))
    assert r.status_code == 200 and r.json() == ack
    assert _counts(b) == (refused + 1, 1, 1)


def test_an_outcome_for_a_referral_not_sent_to_that_partner_or_closed_is_refused(pair):
    a, b, client = pair
    now = timestamp_text(b.clock())
    # B receives an outcome from A for a referral B never sent: unknown.
    made_up = str(uuid.uuid4())
    path = f"/api/v1/referrals/{made_up}/outcome"
    body = json.dumps({"version": 1, "recipient": b.signer.key_id, "outcome": "removed",
                       "removed_at": "2026-12-01T12:00:00Z", "closed_at": "2026-12-01T12:00:00Z",
                       "receiver_reference": str(uuid.uuid4())}).encode()
    r = client.post(path, content=body, headers=_headers(a.signer.key_id, a.signer.sign, path, body, stamp=now))
    assert (r.status_code, r.json()["error"]) == (404, "unknown_referral")
    assert _counts(b)[0] == 1
    bad = json.dumps({"version": 1, "recipient": b.signer.key_id, "outcome": "gone"}).encode()
    r = client.post(path, content=bad, headers=_headers(a.signer.key_id, a.signer.sign, path, bad, stamp=now))
    assert (r.status_code, r.json()["error"]) == (422, "invalid_request")
    assert _counts(b)[0] == 2


def test_an_address_past_the_refusal_limit_gets_429_and_fills_no_more_audit(tmp_path, db_url):
    b = Balise(make_settings(tmp_path, db_url, api_auth_failure_limit="3/minute"))
    try:
        with TestClient(create_app(b)) as client:
            for _ in range(3):
                r = client.post("/api/v1/referrals", content=b"{}", headers={"Content-Type": "application/json"})
                assert (r.status_code, r.json()["error"]) == (422, "invalid_request")
            r = client.post("/api/v1/referrals", content=b"{}", headers={"Content-Type": "application/json"})
            assert (r.status_code, r.json()["error"]) == (429, "rate_limited") and int(r.headers["Retry-After"]) >= 1
            r = client.post(f"/api/v1/referrals/{uuid.uuid4()}/outcome", content=b"{}",
                            headers={"Content-Type": "application/json"})
            assert r.status_code == 429
        assert _counts(b) == (3, 0, 0)
    finally:
        b.close()
