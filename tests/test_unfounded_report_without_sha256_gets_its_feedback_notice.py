"""A provider report whose items carry no SHA-256 (hash-only items given by MD5 or PDQ) can be
decided manifestly unfounded: the provider's feedback notice is created without a hash list
(it used to fail with "item_hashes must not be empty", and the decision with it)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import Notice, Report
from balise.casework.assessment import Decision
from balise.web.app import create_app
from tests.helpers import auth, make_provider, minimal_report
from tests.retention_support import decide
from tests.takedown_support import COMPLETE


def test_an_md5_only_report_is_decided_unfounded_and_the_provider_is_told(balise):
    _, key = make_provider(balise)
    with TestClient(create_app(balise)) as client:
        r = client.post("/api/v1/reports", headers=auth(key), json=minimal_report(
            items=[{"kind": "hash_only", "hashes": {"md5": "5" * 32}}], **COMPLETE))
    assert r.status_code == 201, r.text
    report_id = uuid.UUID(r.json()["id"])
    balise.run_jobs()
    decide(balise, report_id, Decision("manifestly_unfounded", ("technical_error",)))
    with balise.db.sessions() as session:
        assert session.get(Report, report_id).state == "manifestly_unfounded"
        notice = session.execute(select(Notice).where(Notice.report_id == report_id)).scalar_one()
    assert notice.kind == "provider_feedback" and "technical" in notice.body.lower()
