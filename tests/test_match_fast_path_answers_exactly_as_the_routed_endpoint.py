"""POST /api/v1/match skips FastAPI's routing and layers (web/fast_paths.py, issue 19). Every
answer — matches, every refusal, the headers Balise's own layers add, the route label in
/metrics — must be byte for byte what the endpoint answers when FastAPI routes it, and every
other request on that path must still be routed by FastAPI. Each request is sent twice, with
the fast path and without it, to the same running application."""

from __future__ import annotations

import pytest

from balise.accounts.actors import Actor
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import Scope
from tests.fast_path_support import both
from tests.helpers import auth, make_provider

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
VOLATILE = {"date", "x-request-id"}


def _same(fast, routed) -> None:  # type: ignore[no-untyped-def]
    assert fast.status_code == routed.status_code
    assert fast.content == routed.content
    drop = lambda r: sorted((k, v) for k, v in r.headers.multi_items() if k not in VOLATILE)  # noqa: E731
    assert drop(fast) == drop(routed)


@pytest.fixture
def keys(balise):
    with balise.db.transaction() as s:
        balise.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=PDQ,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={})
        balise.indicators.add(s, Actor.system("test"), algorithm=Algorithm.MD5, value=MD5,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={})
    _, matcher = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    _, reporter = make_provider(balise, "DEMO Reporter")
    _, ungranted = make_provider(balise, "DEMO Ungranted", scopes=(Scope.MATCH,), grant=False)
    return {"matcher": matcher, "reporter": reporter, "ungranted": ungranted}


CASES = {
    "a match and a miss": ("matcher", {"json": {"hashes": [{"type": "pdq", "value": PDQ}, {"type": "md5", "value": MD5},
                                                          {"type": "md5", "value": "0" * 32}]}}),
    "an invalid hash answered per hash": ("matcher", {"json": {"hashes": [{"type": "pdq", "value": "zz"}]}}),
    "no key": (None, {"json": {"hashes": [{"type": "md5", "value": MD5}]}}),
    "an unknown key": ("unknown", {"json": {"hashes": [{"type": "md5", "value": MD5}]}}),
    "a key without the match scope": ("reporter", {"json": {"hashes": [{"type": "md5", "value": MD5}]}}),
    "a key without a grant": ("ungranted", {"json": {"hashes": [{"type": "md5", "value": MD5}]}}),
    "malformed JSON": ("matcher", {"content": b'{"hashes": [', "headers": {"content-type": "application/json"}}),
    "not JSON": ("matcher", {"content": b"hashes=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    "an empty body": ("matcher", {"content": b"", "headers": {"content-type": "application/json"}}),
    "a schema violation": ("matcher", {"json": {"hashes": [], "threshold": 99, "extra": 1}}),
    "too many hashes": ("matcher", {"json": {"hashes": [{"type": "md5", "value": MD5}] * 10_001}}),
    "too deep": ("matcher", {"content": b"[" * 200 + b"]" * 200, "headers": {"content-type": "application/json"}}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_answers_byte_for_byte_as_fastapi_routes_it(client, keys, case):
    who, kwargs = CASES[case]
    kwargs = {k: (dict(v) if isinstance(v, dict) and k == "headers" else v) for k, v in kwargs.items()}
    if who is not None:
        key = keys.get(who, "bk_unknownprefix_" + "x" * 40)
        kwargs["headers"] = {**kwargs.get("headers", {}), **auth(key)}
    fast, routed = both(client, "POST", "/api/v1/match", **kwargs)
    _same(fast, routed)
    assert fast.headers["content-type"] == "application/json"
    assert fast.headers["cache-control"] == "no-store" and "x-content-type-options" in fast.headers
    if case == "a match and a miss":
        body = fast.json()
        assert body["matched"] == 2 and [len(r["matches"]) for r in body["results"]] == [1, 1, 0]


def test_other_methods_and_paths_are_still_routed_by_fastapi(client, keys):
    for method, path in (("GET", "/api/v1/match"), ("PUT", "/api/v1/match"), ("OPTIONS", "/api/v1/match"),
                         ("POST", "/api/v1/match/"), ("POST", "/api/v1/matches")):
        fast, routed = both(client, method, path, headers=auth(keys["matcher"]), follow_redirects=False)
        _same(fast, routed)
        assert fast.status_code in (204, 307, 404, 405), (method, path, fast.status_code)
    allowed = client.get("/api/v1/match")
    assert allowed.status_code == 405 and allowed.headers["allow"] == "OPTIONS, POST"


def test_the_metrics_name_the_route_of_fast_answers(client, keys):
    registry = client.app.state.metrics_registry

    def counted(route: str) -> float:
        return registry.get_sample_value("balise_http_requests_total",
                                         {"method": "POST", "route": route, "status": "200"}) or 0.0

    before = counted("/api/v1/match")
    for _ in range(3):
        assert client.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": MD5}]},
                           headers=auth(keys["matcher"])).status_code == 200
    assert client.app.state.fast_paths.enabled
    assert counted("/api/v1/match") == before + 3
