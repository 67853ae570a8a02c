"""POST /api/v1/match (and /api/v1/hash?match=true) answer an API key only within a live access
grant of its organisation (CSAR Art. 46): none → 403 naming the missing grant, audited; a grant
for one database → matches in that database only; revoked or expired → refused from the next
request on, without waiting for any cache."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AccessGrant, AuditRecord, MatchAccessBatch
from balise.container import Balise
from balise.domain.indicators import IndicatorKind
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, grant_access, make_provider

ACTOR = Actor.system("test")
ADMIN = Actor.system("test-admin")
KNOWN_MD5 = "d35c785545392755e7e4164457657269"
SOLICITATION_MD5 = "0123456789abcdef0123456789abcdef"
BOTH = {"hashes": [{"type": "md5", "value": KNOWN_MD5}, {"type": "md5", "value": SOLICITATION_MD5}]}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(tmp_path, db_url, clock):
    balise = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0), clock=clock)
    with balise.db.transaction() as s:
        balise.indicators.import_lines(s, ACTOR, io.StringIO(f"md5 {KNOWN_MD5}\n"), fmt="te", source="t",
                                       default_kind=IndicatorKind.KNOWN_CSAM)
        balise.indicators.import_lines(s, ACTOR, io.StringIO(f"md5 {SOLICITATION_MD5}\n"), fmt="te", source="t",
                                       default_kind=IndicatorKind.SOLICITATION)
    yield balise
    balise.close()


@pytest.fixture
def client(app):
    with TestClient(create_app(app)) as c:
        yield c


def refusals(app) -> list[AuditRecord]:
    with app.db.sessions() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == "grant:refuse")).scalars())


def test_a_key_without_a_grant_is_refused_naming_the_missing_grant_and_the_refusal_is_audited(app, client):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    r = client.post("/api/v1/match", json=BOTH, headers=auth(key))
    assert r.status_code == 403
    body = r.json()
    assert body["error"] == "no_grant"
    assert body["missing_grant"] == {"operation": "match", "databases": [
        "known_indicators", "new_indicators", "solicitation_indicators", "url_list"]}
    assert "operation 'match'" in body["message"] and "known_indicators" in body["message"]
    [event] = refusals(app)
    assert event.subject_id == str(org_id)
    assert event.details["endpoint"] == "/api/v1/match"
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type == "indicator:match")).scalar_one() == 0


def test_hashing_a_file_needs_no_grant_but_matching_it_does(app, client):
    _, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    files = {"file": ("a.txt", b"hello", "text/plain")}
    assert client.post("/api/v1/hash", files=files, headers=auth(key)).status_code == 200
    r = client.post("/api/v1/hash?match=true", files=files, headers=auth(key))
    assert r.status_code == 403 and r.json()["error"] == "no_grant"
    assert [e.details["endpoint"] for e in refusals(app)] == ["/api/v1/hash"]


def test_a_grant_for_one_database_shows_matches_in_that_database_only(app, client):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    grant_id = grant_access(app, org_id, databases=("known_indicators",))
    r = client.post("/api/v1/match", json=BOTH, headers=auth(key))
    assert r.status_code == 200
    body = r.json()
    # The solicitation indicator exists, but this grant does not reveal it.
    assert [len(x["matches"]) for x in body["results"]] == [1, 0]
    assert body["results"][0]["matches"][0]["kind"] == "known_csam"
    assert body["databases"] == ["known_indicators"] and body["grants"] == [grant_id]
    # With every database granted, both match.
    _, full = make_provider(app, "Full", scopes=(Scope.MATCH,))
    assert [len(x["matches"]) for x in client.post("/api/v1/match", json=BOTH, headers=auth(full)).json()["results"]] \
        == [1, 1]


def test_a_grant_for_another_operation_does_not_allow_matching(app, client):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    grant_access(app, org_id, operations=("download",))
    assert client.post("/api/v1/match", json=BOTH, headers=auth(key)).status_code == 403


def test_a_revoked_grant_stops_the_key_with_the_next_request(app, client):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    grant_id = grant_access(app, org_id)
    assert client.post("/api/v1/match", json=BOTH, headers=auth(key)).status_code == 200
    with app.db.transaction() as s:
        app.grants.revoke(s, ADMIN, grant_id, "the order was withdrawn")
    assert client.post("/api/v1/match", json=BOTH, headers=auth(key)).status_code == 403


def test_an_expired_grant_stops_the_key_at_once_and_the_periodic_job_records_the_expiry(app, client, clock):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    grant_id = grant_access(app, org_id, months=1)
    assert client.post("/api/v1/match", json=BOTH, headers=auth(key)).status_code == 200
    clock.now += timedelta(days=32)
    # Before any job ran: the validity alone ends the access.
    assert client.post("/api/v1/match", json=BOTH, headers=auth(key)).status_code == 403
    app.periodic.ensure()
    app.run_jobs()
    with app.db.sessions() as s:
        grant = s.get(AccessGrant, grant_id)
        assert grant.state == "expired" and grant.expired_at == clock.now
        expiries = s.execute(select(AuditRecord).where(AuditRecord.event_type == "grant:expire")).scalars().all()
    assert [(e.subject_id, e.details["was"]) for e in expiries] == [(str(grant_id), "approved")]


def test_each_match_records_its_grant_and_purpose_and_the_grants_last_use(app, client, clock):
    org_id, key = make_provider(app, scopes=(Scope.MATCH,), grant=False)
    grant_id = grant_access(app, org_id, purpose="scan uploads under detection order 7")
    client.post("/api/v1/match", json=BOTH, headers=auth(key))
    app.match_log.flush()
    with app.db.sessions() as s:
        [entry] = [e for b in s.execute(select(MatchAccessBatch)).scalars() for e in b.entries]
        assert s.get(AccessGrant, grant_id).last_used_at == clock.now
    assert entry["grant_id"] == str(grant_id)
    assert entry["purpose"] == f"provider match query; under grant {grant_id}: scan uploads under detection order 7"
    # The last use is noted at most once an hour per grant (the review counts days), not per query.
    first_use = clock.now
    clock.now += timedelta(minutes=30)
    client.post("/api/v1/match", json=BOTH, headers=auth(key))
    with app.db.sessions() as s:
        assert s.get(AccessGrant, grant_id).last_used_at == first_use
    clock.now += timedelta(minutes=31)
    client.post("/api/v1/match", json=BOTH, headers=auth(key))
    with app.db.sessions() as s:
        assert s.get(AccessGrant, grant_id).last_used_at == clock.now
