"""Cheap authentication (issue 19 item 2): an API key, its organisation and its access grants
are read once per process and then answered from memory, with one one-row read of the
credential epoch per request (on PostgreSQL held in memory, kept current by notification); any
change to a key, an organisation's suspension, a grant or an /ispws credential raises the
epoch through a database trigger, so the next request, in any process, reads again. Changes are made here through a second engine, as another process or an
administrator's SQL would, so only the triggers can tell this process."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, event, text

from balise.adapters.db.epoch import EpochReader, EpochWatch
from balise.container import Balise, utc_now
from balise.domain.model import Scope
from tests.conftest import make_settings
from tests.helpers import auth, make_provider
from tests.ispws_support import basic, code, make_ispws_provider

PDQ = {"hashes": [{"type": "pdq", "value": "f" * 64}]}
WATCHED = ("api_keys", "organisations", "access_grants", "ispws_credentials")


def _statements(balise: Balise) -> list[str]:
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: seen.append(statement.lower()))
    return seen


def _epoch_reads(balise: Balise) -> list[int | None]:
    """Each epoch read and what it found (it goes through the driver, which engine events do not see)."""
    reads: list[int | None] = []
    read = balise.credential_epoch

    def counted() -> int | None:
        reads.append(read())
        return reads[-1]

    counted.watch = read  # type: ignore[attr-defined]
    balise.__dict__["credential_epoch"] = counted
    return reads


def _elsewhere(balise: Balise, db_url: str, sql: str, **params: object) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()
    # On PostgreSQL this process hears of the change by notification (a millisecond; see
    # test_credential_changes_reach_each_process_by_notification.py); on SQLite it reads it.
    epoch = getattr(balise.credential_epoch, "watch", balise.credential_epoch)
    if isinstance(epoch, EpochWatch):
        truth = EpochReader(balise.db.engine)()
        assert epoch.wait_for(lambda: epoch() == truth, 5), "the change was not heard within 5 s"


def test_a_cached_key_costs_one_read_and_a_revocation_elsewhere_stops_it_at_once(client, balise, db_url):
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
    seen, reads = _statements(balise), _epoch_reads(balise)
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
    assert [s for s in seen if any(t in s for t in WATCHED)] == []
    assert len(reads) == 1 and isinstance(reads[0], int)

    _elsewhere(balise, db_url, "UPDATE api_keys SET revoked_at = :now", now=balise.clock().replace(tzinfo=None))
    refused = client.post("/api/v1/match", json=PDQ, headers=auth(key))
    assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"


def test_a_suspension_and_a_grant_revoked_elsewhere_count_from_the_next_request(client, balise, db_url):
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200

    _elsewhere(balise, db_url, "UPDATE access_grants SET state = 'revoked'")
    refused = client.post("/api/v1/match", json=PDQ, headers=auth(key))
    assert refused.status_code == 403 and refused.json()["error"] == "no_grant"
    _elsewhere(balise, db_url, "UPDATE access_grants SET state = 'approved'")
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200

    _elsewhere(balise, db_url, "UPDATE organisations SET suspended_at = :now", now=balise.clock().replace(tzinfo=None))
    refused = client.post("/api/v1/match", json=PDQ, headers=auth(key))
    assert refused.status_code == 403 and refused.json()["error"] == "organisation_suspended"
    # Cached too, but as a refusal: still refused, with the same words.
    again = client.post("/api/v1/match", json=PDQ, headers=auth(key))
    assert again.status_code == 403 and again.json()["message"] == refused.json()["message"]
    _elsewhere(balise, db_url, "UPDATE organisations SET suspended_at = NULL")
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200


def test_a_cached_grant_still_expires_on_time(tmp_path, db_url):
    now = [None]
    settings = make_settings(tmp_path, db_url)
    balise = Balise(settings, clock=lambda: now[0] or utc_now())
    try:
        from fastapi.testclient import TestClient

        from balise.web.app import create_app

        _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
        with TestClient(create_app(balise)) as client:
            assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
            now[0] = utc_now() + timedelta(days=400)  # past the grant's end; nothing in the database changed
            refused = client.post("/api/v1/match", json=PDQ, headers=auth(key))
            assert refused.status_code == 403 and refused.json()["error"] == "no_grant"
    finally:
        balise.close()


def test_ispws_credentials_are_cached_until_a_revocation_or_suspension_elsewhere(client, balise, db_url):
    _, user, password = make_ispws_provider(balise, "DEMO Platform")
    assert client.get("/ispws/status", headers=basic(user, password)).status_code == 200
    seen = _statements(balise)
    assert client.get("/ispws/status", headers=basic(user, password)).status_code == 200
    assert [s for s in seen if any(t in s for t in WATCHED)] == []
    # A wrong password is never answered from the cache.
    assert code(client.get("/ispws/status", headers=basic(user, password + "x"))) == 2000

    _elsewhere(balise, db_url, "UPDATE organisations SET suspended_at = :now", now=balise.clock().replace(tzinfo=None))
    assert code(client.get("/ispws/status", headers=basic(user, password))) == 3000
    _elsewhere(balise, db_url, "UPDATE organisations SET suspended_at = NULL")
    assert client.get("/ispws/status", headers=basic(user, password)).status_code == 200
    _elsewhere(balise, db_url, "UPDATE ispws_credentials SET revoked_at = :now", now=balise.clock().replace(tzinfo=None))
    assert code(client.get("/ispws/status", headers=basic(user, password))) == 3000


def test_a_change_of_other_columns_keeps_the_cache(client, balise, db_url):
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
    # A grant's last use is noted by match queries themselves: it must not empty every cache.
    _elsewhere(balise, db_url, "UPDATE access_grants SET last_used_at = :now", now=balise.clock().replace(tzinfo=None))
    _elsewhere(balise, db_url, "UPDATE api_keys SET last_used_at = :now", now=balise.clock().replace(tzinfo=None))
    seen = _statements(balise)
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
    assert [s for s in seen if any(t in s for t in WATCHED)] == []
