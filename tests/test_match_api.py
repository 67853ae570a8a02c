"""POST /api/v1/match: exact and PDQ matches against the indicator database, never content."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    ApiKey,
    AuditRecord,
    Indicator,
    MatchAccessBatch,
    Organisation,
)
from balise.container import Balise
from balise.domain.indicators import IndicatorStatus
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider

ACTOR = Actor.system("test")
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_ROT = "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"
MD5 = "d35c785545392755e7e4164457657269"


def flip(hex64: str, bits: int) -> str:
    value = int(hex64, 16)
    for b in range(bits):
        value ^= 1 << (b * 7)
    return f"{value:064x}"


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0, max_match_hashes=50))
    with balise.db.transaction() as s:
        balise.indicators.import_lines(
            s, ACTOR, io.StringIO(f"signal_type,signal_value,ncmec_category\npdq,{PDQ_A},A1\nmd5,{MD5},B2\n"),
            fmt="csv", source="test")
    yield balise
    balise.close()


@pytest.fixture
def api(app):
    _, key = make_provider(app, "Matcher", scopes=(Scope.MATCH,))
    with TestClient(create_app(app)) as c:
        yield c, key


def post(api, body):
    client, key = api
    return client.post("/api/v1/match", json=body, headers=auth(key))


def test_exact_and_near_pdq_hashes_match_with_distance_and_classification(api):
    r = post(api, {"hashes": [
        {"type": "md5", "value": MD5.upper()},
        {"type": "pdq", "value": flip(PDQ_A, 10), "quality": 90},
        {"type": "pdq", "value": flip(PDQ_A, 32)},
        {"type": "sha256", "value": "0" * 64},
    ]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["matches"][0]["distance"] == 0
    assert results[0]["matches"][0]["classification"] == {"ncmec_category": "B2"}
    assert results[1]["matches"][0]["distance"] == 10 and results[1]["matches"][0]["kind"] == "known_csam"
    assert results[2]["matches"] == []  # 32 bits away: beyond the threshold of 31
    assert results[3]["matches"] == []
    assert r.json()["matched"] == 2


def test_threshold_is_configurable_per_call(api):
    r = post(api, {"hashes": [{"type": "pdq", "value": flip(PDQ_A, 10)}], "threshold": 8})
    assert r.json()["results"][0]["matches"] == []


def test_low_quality_pdq_is_reported_and_never_matches(api):
    r = post(api, {"hashes": [{"type": "pdq", "value": PDQ_A, "quality": 49}]})
    result = r.json()["results"][0]
    assert result["status"] == "low_quality" and result["matches"] == []


def test_a_rotated_copy_matches_only_through_its_dihedral_hashes(api):
    plain = post(api, {"hashes": [{"type": "pdq", "value": PDQ_ROT}]}).json()["results"][0]
    assert plain["matches"] == []
    # The caller sends the 7 other dihedral hashes of its image; one of them is the indicator.
    variants = [flip(PDQ_ROT, 3)] * 3 + [flip(PDQ_A, 2)] + [flip(PDQ_ROT, 5)] * 3
    hit = post(api, {"hashes": [{"type": "pdq", "value": PDQ_ROT, "dihedral": variants}]}).json()["results"][0]
    assert hit["matches"][0]["distance"] == 2 and hit["matches"][0]["transform"] == "flipx"


def test_bad_hashes_are_answered_per_entry(api):
    r = post(api, {"hashes": [{"type": "pdq", "value": "xyz"}, {"type": "md5", "value": MD5}]})
    assert r.status_code == 200
    bad, good = r.json()["results"]
    assert bad["status"] == "invalid" and "64 hex" in bad["error"]
    assert good["matches"]


@pytest.mark.parametrize("body", [
    {"hashes": []},
    {"hashes": [{"type": "tlsh", "value": "x"}]},
    {"hashes": [{"type": "pdq", "value": PDQ_A}], "threshold": 40},
    {"hashes": "pdq"},
    {"nothing": 1},
])
def test_malformed_requests_are_422(api, body):
    r = post(api, body)
    assert r.status_code == 422 and r.json()["fields"]


def test_more_hashes_than_allowed_is_413(api):
    r = post(api, {"hashes": [{"type": "md5", "value": MD5}] * 51})
    assert r.status_code == 413 and r.json()["error"] == "too_many_hashes"


def test_match_needs_the_match_scope(app):
    _, key = make_provider(app, "Reporter only")
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": MD5}]}, headers=auth(key))
    assert r.status_code == 403


def test_added_and_suspended_indicators_are_seen_without_a_rebuild(app, api):
    new = flip(PDQ_ROT, 1)
    assert post(api, {"hashes": [{"type": "pdq", "value": new}]}).json()["results"][0]["matches"] == []
    from balise.domain.indicators import Algorithm, IndicatorKind

    with app.db.transaction() as s:
        app.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=PDQ_ROT, kind=IndicatorKind.NEW_CSAM, provenance={})
    assert post(api, {"hashes": [{"type": "pdq", "value": new}]}).json()["results"][0]["matches"][0]["distance"] == 1
    with app.db.transaction() as s:
        ind = s.execute(select(Indicator).where(Indicator.value == PDQ_A)).scalar_one()
        app.indicators.set_status(s, ACTOR, ind.id, IndicatorStatus.SUSPENDED, "review")
    assert post(api, {"hashes": [{"type": "pdq", "value": PDQ_A}]}).json()["results"][0]["matches"] == []


def test_each_call_is_logged_in_the_match_access_log_without_the_hashes(app, api):
    r = post(api, {"hashes": [{"type": "md5", "value": MD5}, {"type": "pdq", "value": flip(PDQ_A, 36)}]})
    assert r.status_code == 200, r.text
    app.match_log.flush()
    with app.db.sessions() as s:
        batches = s.execute(select(MatchAccessBatch)).scalars().all()
        # The access log replaces the per-query audit event (docs/audit-events.md).
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "indicator:match")).first() is None
        md5_indicator = s.execute(select(Indicator.id).where(Indicator.value == MD5)).scalar_one()
        org_id, key_id = s.execute(select(Organisation.id, ApiKey.id).join(ApiKey, ApiKey.organisation_id == Organisation.id)
                                   .where(Organisation.name == "Matcher")).one()
    [entry] = [e for b in batches for e in b.entries]
    assert {k: entry[k] for k in ("hashes", "algorithms", "threshold", "matched", "indicator_ids", "grant_id",
                                   "purpose")} == {
        "hashes": 2, "algorithms": {"md5": 1, "pdq": 1}, "threshold": 31, "matched": 1,
        "indicator_ids": [md5_indicator], "grant_id": "1",
        # The access grant the query was answered under, and its purpose, are part of the entry.
        "purpose": "provider match query; under grant 1: test matching"}
    assert (entry["organisation"], entry["key"]) == (str(org_id), str(key_id))
    assert MD5 not in str(entry) and flip(PDQ_A, 36) not in str(entry)


def test_the_audit_row_mode_still_writes_one_audit_event_per_call(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, match_log_mode="audit-row"))
    try:
        _, key = make_provider(balise, "Matcher", scopes=(Scope.MATCH,))
        with TestClient(create_app(balise)) as c:
            assert c.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": MD5}]},
                          headers=auth(key)).status_code == 200
        with balise.db.sessions() as s:
            event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "indicator:match")).scalar_one()
            assert s.execute(select(MatchAccessBatch)).first() is None
        assert event.details == {"hashes": 1, "matched": 0, "threshold": 31,
                                 "grants": [{"id": 1, "purpose": "test matching"}],
                                 "databases": ["known_indicators", "new_indicators", "solicitation_indicators", "url_list"]}
        assert event.purpose == "provider match query; under grant 1: test matching"
    finally:
        balise.close()
