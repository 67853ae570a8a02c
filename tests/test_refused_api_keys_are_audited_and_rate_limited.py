"""A revoked API key, or a known prefix with the wrong secret, gets the same 401 as an unknown
key (nothing tells them apart), is audited as apikey:refused naming which; failed API
authentications from one address are limited, after which even a good key from that address
waits (429 with Retry-After), while other addresses are unaffected."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider

MISSING = "/api/v1/reports/00000000-0000-0000-0000-000000000000"


def refused(balise: Balise) -> list[dict]:
    with balise.db.sessions() as s:
        return [r.details for r in s.execute(select(AuditRecord).where(AuditRecord.event_type == "apikey:refused")
                                             .order_by(AuditRecord.seq)).scalars()]


def test_revoked_and_wrong_keys_answer_as_unknown_ones_and_are_audited(balise, client):
    _, key = make_provider(balise)
    _, revoked = make_provider(balise, "Other Provider")
    with balise.db.transaction() as s:
        balise.organisations.revoke_key(s, Actor.system("test"), revoked.split("_")[1])
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown = "bal_000000000000_" + "A" * 43
    answers = [client.get(MISSING, headers=auth(k)) for k in (revoked, wrong, unknown, "not-a-key")]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({a.text for a in answers}) == 1
    assert refused(balise) == [{"prefix": revoked.split("_")[1], "reason": "revoked"},
                               {"prefix": key.split("_")[1], "reason": "wrong secret"}]
    assert client.get(MISSING, headers=auth(key)).status_code == 404


def test_failed_authentications_are_limited_per_address(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, api_auth_failure_limit="3/minute"))
    try:
        _, key = make_provider(balise)
        with TestClient(create_app(balise)) as client:
            bad = {"Authorization": "Bearer bal_000000000000_" + "A" * 43}
            assert [client.get(MISSING, headers=bad).status_code for _ in range(3)] == [401] * 3
            limited = client.get(MISSING, headers=auth(key))
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert limited.json()["error"] == "rate_limited"
        with TestClient(create_app(balise), client=("10.0.0.9", 50000)) as elsewhere:
            assert elsewhere.get(MISSING, headers=auth(key)).status_code == 404
    finally:
        balise.close()
