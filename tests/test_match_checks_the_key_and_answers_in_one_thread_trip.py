"""POST /api/v1/match checks the key and answers the query in one trip to the thread pool
(each trip wakes the event loop: a tenth of a cached one-hash match, issue 19). What that
moves: a request with no key at all is refused at once, without its body being read; a key
that was sent is checked after the body is read (within its limit) and before the JSON is
looked at, so a wrong key never learns whether its body would have been valid.

(On PostgreSQL a small match held entirely in memory takes no trip at all: tests/test_a_small_
match_held_in_memory_is_answered_on_the_event_loop.py. Here the epoch is read on each request,
BALISE_CREDENTIAL_CHANGES=read, so every match is answered in the thread pool on both databases.)"""

from __future__ import annotations

import anyio.to_thread
import pytest

from balise.domain.model import Scope
from tests.conftest import make_settings
from tests.helpers import auth, make_provider

PDQ = {"hashes": [{"type": "pdq", "value": "f" * 64}]}
WRONG = {"Authorization": "Bearer bal_wrong_0000000000000000000000000000000000000000"}


@pytest.fixture
def settings(tmp_path, db_url):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, db_url, credential_changes="read")


@pytest.fixture
def trips(monkeypatch):
    counted: list[str] = []
    original = anyio.to_thread.run_sync

    async def run_sync(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        counted.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    return counted


def test_a_cached_match_takes_one_trip_to_the_thread_pool(client, balise, trips):
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    assert client.post("/api/v1/match", json=PDQ, headers=auth(key)).status_code == 200
    trips.clear()
    answer = client.post("/api/v1/match", json=PDQ, headers=auth(key))
    assert answer.status_code == 200 and answer.json()["results"][0]["status"] == "ok"
    assert len(trips) == 1, trips


def test_which_refusal_comes_first(client, balise):
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    # No key: refused whatever the body.
    none = client.post("/api/v1/match", content=b"not json", headers={"Content-Type": "text/plain"})
    assert none.status_code == 401 and none.json()["error"] == "unauthenticated"
    # A wrong key with a JSON body, valid or not: the key is refused before the JSON is read.
    for body in (b'{"hashes": [', b'{"hashes": "x"}', b'{"hashes": [{"type": "pdq", "value": "' + b"f" * 64 + b'"}]}'):
        wrong = client.post("/api/v1/match", content=body, headers={**WRONG, "Content-Type": "application/json"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "unauthenticated", body
    # The body's type and size are checked before a key that was sent.
    assert client.post("/api/v1/match", content=b"x", headers={**WRONG, "Content-Type": "text/plain"}).status_code == 415
    huge = b'{"hashes": [' + b" " * (balise.settings.max_json_bytes + 1) + b"]}"
    too_big = client.post("/api/v1/match", content=huge, headers={**WRONG, "Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
    # A right key: the JSON, then the number of hashes.
    bad = client.post("/api/v1/match", content=b'{"hashes": [', headers={**auth(key), "Content-Type": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"] == "malformed_json"
    many = {"hashes": [{"type": "md5", "value": "0" * 32}] * (balise.settings.max_match_hashes + 1)}
    assert client.post("/api/v1/match", json=many, headers=auth(key)).json()["error"] == "too_many_hashes"
