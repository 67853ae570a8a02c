"""The jobs that carry referrals and outcomes between two installations (here both in this
process, their HTTP apps reached through the partner client's seam): a referral is delivered
and acknowledged; the outcome goes back and closes the sender's leg; an outcome sent again after
a lost answer meets 409 already_closed and counts as delivered (no retry loop); an outcome for a
referral the sender does not know (404 unknown_referral) fails for good at once."""

from __future__ import annotations

import shutil
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Job, ReferralReceived, ReferralSent
from balise.container import Balise
from balise.exchange.federation import OUTCOME_JOB, SEND_JOB
from balise.exchange.ports import PartnerAnswer
from balise.intake.report_schema import ReportIn
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import minimal_report

STAFF = Actor.system("test")
A_BASE, B_BASE = "http://127.0.0.1:8001", "http://127.0.0.1:8002"


@pytest.fixture
def pair(tmp_path, db_url, sqlite_template, monkeypatch):
    shutil.copy(sqlite_template, tmp_path / "a.sqlite3")
    a = Balise(make_settings(tmp_path / "a", f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    b = Balise(make_settings(tmp_path / "b", db_url))
    with a.db.transaction() as s:
        a.federation_partners.add(s, STAFF, name="Hotline B", country="NL", base_url=B_BASE,
                                  public_key_pem=b.signer.public_pem)
    with b.db.transaction() as s:
        b.federation_partners.add(s, STAFF, name="Hotline A", country="FR", base_url=A_BASE,
                                  public_key_pem=a.signer.public_pem)
    with TestClient(create_app(a)) as ca, TestClient(create_app(b)) as cb:
        clients = {A_BASE: ca, B_BASE: cb}

        def post(url: str, body: bytes, headers: dict[str, str]) -> PartnerAnswer:
            base = url[:len(A_BASE)]
            r = clients[base].post(url[len(base):], content=body, headers=headers)
            return PartnerAnswer(r.status_code, r.content)

        monkeypatch.setattr("balise.exchange.adapters.partner_client.post_signed", post)
        yield a, b
    a.close()
    b.close()


def _refer(a: Balise, url: str) -> uuid.UUID:
    report = ReportIn.model_validate(minimal_report(items=[{"kind": "url", "url": url}]))
    report_id = a.intake.file(actor=STAFF, organisation_id=None, report=report, files={}, fingerprint=url,
                              idempotency_key=None).report.id
    with a.db.transaction() as s:
        [ref] = a.referrals.refer(s, STAFF, report_id, "Hotline B", "hosted in NL")
        return ref.id


def test_outcome_delivered_once_counted_on_409_and_ended_on_404(pair):
    a, b = pair
    sent_id = _refer(a, "https://files.host.example/1")
    a.jobs.run_until_idle({SEND_JOB: a.referrals.handle_send})
    with a.db.sessions() as s:
        sent = s.get(ReferralSent, sent_id)
        assert sent.status == "acknowledged" and sent.receiver_reference
    received_id = uuid.UUID(sent.receiver_reference)
    with b.db.transaction() as s:
        b.referrals.close(s, STAFF, received_id, "removed")
    b.jobs.run_until_idle({OUTCOME_JOB: b.referrals.handle_outcome})
    with a.db.sessions() as s:
        sent = s.get(ReferralSent, sent_id)
        assert (sent.status, sent.outcome) == ("closed", "removed") and sent.removed_at is not None
    with b.db.transaction() as s:
        received = s.get(ReferralReceived, received_id)
        assert received.outcome_sent_at is not None
        # As if B's answer had been lost: B sends the outcome again.
        received.outcome_sent_at = None
        b.jobs.enqueue(s, OUTCOME_JOB, {"received_id": str(received_id)})
    b.jobs.run_until_idle({OUTCOME_JOB: b.referrals.handle_outcome})
    with b.db.sessions() as s:
        assert s.get(ReferralReceived, received_id).outcome_sent_at is not None
        statuses = s.execute(select(Job.status).where(Job.kind == OUTCOME_JOB)).scalars().all()
        sends = s.execute(select(AuditRecord.details).where(
            AuditRecord.event_type == "referral:outcome_send").order_by(AuditRecord.seq)).scalars().all()
    assert statuses == ["done", "done"]
    assert [d["http_status"] for d in sends] == [200, 409]

    # A referral B holds under an id A never gave: A answers 404, B's job stops at once.
    other_id = _refer(a, "https://files.host.example/2")
    a.jobs.run_until_idle({SEND_JOB: a.referrals.handle_send})
    with a.db.sessions() as s:
        other = uuid.UUID(s.get(ReferralSent, other_id).receiver_reference)
    with b.db.transaction() as s:
        s.get(ReferralReceived, other).sender_reference = str(uuid.uuid4())
        b.referrals.close(s, STAFF, other, "not_illegal")
    b.jobs.run_until_idle({OUTCOME_JOB: b.referrals.handle_outcome})
    with b.db.sessions() as s:
        job = s.execute(select(Job).where(Job.kind == OUTCOME_JOB).order_by(Job.id.desc())).scalars().first()
        assert (job.status, job.attempts) == ("failed", 1) and "404 unknown_referral" in job.last_error
        assert s.get(ReferralReceived, other).outcome_sent_at is None
    with a.db.sessions() as s:
        assert s.get(ReferralSent, other_id).status == "acknowledged"
        refused = s.execute(select(AuditRecord.details).where(
            AuditRecord.event_type == "referral:refuse")).scalars().all()
    assert [d["code"] for d in refused] == ["already_closed", "unknown_referral"]
