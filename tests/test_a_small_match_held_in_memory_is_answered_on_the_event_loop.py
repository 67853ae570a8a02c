"""A small PDQ match whose every input the process holds in memory (the credential epoch heard
by notification, the key and its grants cached at that epoch, an index refreshed within
BALISE_INDEX_REFRESH_SECONDS, the details of what it finds; the rate limits in memory or in
Redis, counted through its asyncio client) is answered on the event loop: no trip to the thread
pool, no statement (issue 19). What must not change for that: the answer,
the rate limit's count, the key's and the grants' last use, the refusals, and every change of a
credential or an indicator counting exactly as before. PostgreSQL only: on SQLite the epoch is
read from the database on each request, so every match goes to the thread pool."""

from __future__ import annotations

import anyio.to_thread
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select, text

from balise.accounts.actors import Actor
from balise.adapters.db.epoch import EpochReader, EpochWatch
from balise.adapters.db.models import AccessGrant, ApiKey, MatchAccessBatch
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import _reset_postgres, make_settings
from tests.helpers import auth, make_provider
from tests.takedown_support import Clock

KNOWN = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
NEAR = KNOWN[:-2] + "20"  # 1 bit from KNOWN
MISS = "0" * 64
ONE = {"hashes": [{"type": "pdq", "value": NEAR}, {"type": "pdq", "value": MISS}]}


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/0"])
def setup(request, tmp_path, postgres_database, monkeypatch):  # type: ignore[no-untyped-def]
    """A PostgreSQL Balise (index refreshed at most hourly, so that it stays fresh through a
    test unless one forces it) with its rate limits in memory or in Redis (reached from the
    loop through Redis's asyncio client), a provider key with a match grant, one known PDQ;
    and the trips to the thread pool and the statements sent, both counted."""
    _reset_postgres(postgres_database)
    clock = Clock()
    balise = Balise(make_settings(tmp_path, postgres_database.url, index_refresh_seconds=3600,
                                  api_rate_limit="1000/minute", rate_limit_storage=request.param), clock=clock)
    with balise.db.transaction() as session:
        balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=KNOWN,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"},
                              classification={"ncmec_category": "A1"})
    org_id, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    trips: list[str] = []
    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        trips.append(getattr(getattr(func, "func", func), "__name__", repr(func)))  # starlette wraps in a partial
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    statements: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    with TestClient(create_app(balise), base_url="http://testserver") as client:
        yield balise, client, key, trips, statements, clock, postgres_database.url
    balise.close()


def _warm(balise, client, key, trips, statements):  # type: ignore[no-untyped-def]
    """One answer through the thread pool (which caches the key, its grants and the details),
    then wait until the process has heard the epoch it cached them at."""
    first = client.post("/api/v1/match", json=ONE, headers=auth(key))
    assert first.status_code == 200 and trips == ["_answer"], trips
    watch = balise.credential_epoch
    assert isinstance(watch, EpochWatch)
    # That request wrote the key's first use to api_keys, so this process reads the epoch
    # itself at its next call (the next request's, in the thread pool): done here.
    watch()
    truth = EpochReader(balise.db.engine)()
    assert watch.wait_for(lambda: watch.from_memory() == truth, 5), "the listener did not catch up"
    trips.clear()
    statements.clear()
    return first


def _elsewhere(balise, url, sql):  # type: ignore[no-untyped-def]
    """A change made by another process (its own connection), once this process has heard it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()
    watch = balise.credential_epoch
    truth = EpochReader(balise.db.engine)()
    assert watch.wait_for(lambda: watch.from_memory() == truth, 5), "the change was not heard"


def test_a_cached_small_match_takes_no_thread_and_sends_no_statement(setup):
    balise, client, key, trips, statements, _, _ = setup
    first = _warm(balise, client, key, trips, statements)
    answer = client.post("/api/v1/match", json=ONE, headers=auth(key))
    assert answer.status_code == 200
    assert trips == [] and statements == []
    # The same answer as the thread pool gave, byte for byte: the match with its details, the miss.
    assert answer.content == first.content
    body = answer.json()
    assert [r["status"] for r in body["results"]] == ["ok", "ok"]
    hit = body["results"][0]["matches"][0]
    assert hit["distance"] == 1 and hit["classification"] == {"ncmec_category": "A1"}
    assert body["results"][1]["matches"] == [] and body["matched"] == 1
    # The query is in the match access log like any other: who, under which grant, what matched.
    balise.match_log.flush()
    with balise.db.sessions() as session:
        entries = [e for batch in session.scalars(select(MatchAccessBatch)) for e in batch.entries]
    assert len(entries) == 2
    first_entry, second_entry = ({k: v for k, v in e.items() if k != "at"} for e in entries)
    assert second_entry == first_entry and second_entry["matched"] == 1 and second_entry["hashes"] == 2
    assert second_entry["grant_id"] and second_entry["key"] and second_entry["indicator_ids"] != []


def test_each_request_counts_once_against_the_key_rate_limit(setup):
    balise, client, key, trips, statements, _, _ = setup
    # Four a minute, in the same store (memory or Redis) as the test's server.
    client.app.state.api_limiter = type(client.app.state.api_limiter)("4/minute", balise.settings.rate_limit_storage)
    _warm(balise, client, key, trips, statements)  # 1
    assert client.post("/api/v1/match", json=ONE, headers=auth(key)).status_code == 200  # 2, on the loop
    assert trips == []
    # Refused by validation: the loop hands it to the thread pool, which counts it (once).
    bad = client.post("/api/v1/match", json={"hashes": [{"type": "pdq", "value": "zz"}], "threshold": 99},
                      headers=auth(key))
    assert bad.status_code == 422 and trips == ["_answer"]  # 3
    assert client.post("/api/v1/match", json=ONE, headers=auth(key)).status_code == 200  # 4
    refused = client.post("/api/v1/match", json=ONE, headers=auth(key))
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


def test_what_the_loop_cannot_answer_goes_to_the_thread_pool(setup):
    balise, client, key, trips, statements, _, _ = setup
    _warm(balise, client, key, trips, statements)
    cases = {
        "an exact hash": {"hashes": [{"type": "md5", "value": "0" * 32}]},
        "more PDQ hashes than the loop takes": {"hashes": [{"type": "pdq", "value": MISS}] * 9},
        "dihedral variants past the bound": {"hashes": [{"type": "pdq", "value": MISS, "dihedral": [MISS] * 7},
                                                        {"type": "pdq", "value": MISS}]},
    }
    for name, body in cases.items():
        trips.clear()
        assert client.post("/api/v1/match", json=body, headers=auth(key)).status_code == 200, name
        assert trips == ["_answer"], name
    # A new indicator, once the index has it: its details are not cached yet, so the first
    # match of it goes to the thread pool (which reads them), the next one stays on the loop.
    other = KNOWN[:32] + "0" * 32
    with balise.db.transaction() as session:
        balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=other,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"},
                              classification={"ncmec_category": "B2"})
    balise.pdq_index.refresh(force=True)
    query = {"hashes": [{"type": "pdq", "value": other}]}
    for expected in (["_answer"], []):
        trips.clear()
        answer = client.post("/api/v1/match", json=query, headers=auth(key))
        assert answer.json()["results"][0]["matches"][0]["classification"] == {"ncmec_category": "B2"}
        assert trips == expected


def test_an_index_due_for_its_refresh_is_refreshed_in_the_thread_pool(setup):
    balise, client, key, trips, statements, _, _ = setup
    _warm(balise, client, key, trips, statements)
    balise.pdq_index.refresh_interval = 0.0  # from now on every query is due for a refresh
    other = "1" * 64
    with balise.db.transaction() as session:
        balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=other,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"})
    answer = client.post("/api/v1/match", json={"hashes": [{"type": "pdq", "value": other}]}, headers=auth(key))
    assert trips == ["_answer"] and answer.json()["matched"] == 1


def test_a_key_revoked_here_or_elsewhere_is_refused_at_the_next_request(setup):
    balise, client, key, trips, statements, _, url = setup
    _warm(balise, client, key, trips, statements)
    prefix = key.split("_")[1]
    with balise.db.transaction() as session:
        balise.organisations.revoke_key(session, Actor.system("test"), prefix)
    refused = client.post("/api/v1/match", json=ONE, headers=auth(key))
    assert refused.status_code == 401 and refused.json()["error"] == "unauthenticated"
    # Elsewhere: a second key, cached and answered on the loop, then revoked by another connection.
    _, second = make_provider(balise, "DEMO Matcher 2", scopes=(Scope.MATCH,))
    trips.clear()
    _warm(balise, client, second, trips, statements)
    assert client.post("/api/v1/match", json=ONE, headers=auth(second)).status_code == 200 and trips == []
    _elsewhere(balise, url, f"UPDATE api_keys SET revoked_at = now() WHERE prefix = '{second.split('_')[1]}'")
    assert client.post("/api/v1/match", json=ONE, headers=auth(second)).status_code == 401


def test_a_grant_revoked_elsewhere_is_refused_and_audited(setup):
    balise, client, key, trips, statements, _, url = setup
    _warm(balise, client, key, trips, statements)
    _elsewhere(balise, url, "UPDATE access_grants SET state = 'revoked', revoked_at = now()")
    refused = client.post("/api/v1/match", json=ONE, headers=auth(key))
    assert refused.status_code == 403 and refused.json()["error"] == "no_grant"
    assert trips == ["_answer"]  # refusals are the thread pool's, with their audit event
    assert any("audit" in s.lower() for s in statements)


def test_the_key_and_grant_last_use_are_still_written(setup):
    balise, client, key, trips, statements, clock, _ = setup
    _warm(balise, client, key, trips, statements)
    with balise.db.sessions() as session:
        first_use = session.scalar(select(ApiKey.last_used_at))
        grant_use = session.scalar(select(AccessGrant.last_used_at))
    assert first_use is not None and grant_use is not None
    assert client.post("/api/v1/match", json=ONE, headers=auth(key)).status_code == 200 and trips == []
    # A minute on, the key's use is due: this request goes to the thread pool, which writes it.
    clock.advance(seconds=61)
    assert client.post("/api/v1/match", json=ONE, headers=auth(key)).status_code == 200
    assert trips == ["_answer"]
    with balise.db.sessions() as session:
        assert session.scalar(select(ApiKey.last_used_at)) > first_use
    # That write went to api_keys through this process, which therefore reads the epoch
    # itself once more (in the thread pool) before answering from memory again.
    for expected in (["_answer"], []):
        trips.clear()
        assert client.post("/api/v1/match", json=ONE, headers=auth(key)).status_code == 200 and trips == expected
    # An hour on, the grant's use is due too.
    clock.advance(hours=1, seconds=1)
    client.post("/api/v1/match", json=ONE, headers=auth(key))
    with balise.db.sessions() as session:
        assert session.scalar(select(AccessGrant.last_used_at)) > grant_use


def test_the_epoch_is_not_taken_from_memory_after_this_process_changed_a_credential(setup):
    balise, *_ = setup
    engine = balise.db.engine
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    # Its own watch, rechecking hourly: nothing but this test's calls moves it.
    watch = EpochWatch(EpochReader(engine), lambda: psycopg.connect(*cargs, **cparams, autocommit=True),
                       recheck_seconds=3600)
    try:
        assert watch.from_memory() is None  # not listening in this process yet: never a read
        truth = watch()
        assert watch.wait_for(lambda: watch.from_memory() == truth, 5)
        watch.invalidate()  # what a commit of this process that changed a credential does
        assert watch.from_memory() is None
        assert watch() == truth  # the next call in the thread pool reads it
        assert watch.from_memory() == truth
    finally:
        watch.close()
