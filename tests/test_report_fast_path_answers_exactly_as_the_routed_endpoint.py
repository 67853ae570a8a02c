"""POST /api/v1/reports skips FastAPI's routing and layers, as the match endpoint does
(web/fast_paths.py, issue 19). Every answer — every refusal, a replayed submission, the headers
Balise's own layers add, the route label in /metrics — must be byte for byte what the endpoint
answers when FastAPI routes it; a new report's answer differs only by its identifiers and
time. Every other request on that path is still routed by FastAPI. Each request is sent with
the fast path and without it, to the same running application."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import Report
from balise.domain.model import Scope
from tests.fast_path_support import both
from tests.helpers import auth, make_provider, minimal_report

# What is proved here happens in the HTTP layer, before and around the filing, whose storage is
# tested on both databases elsewhere: SQLite alone keeps the suite within its time budget.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

VOLATILE = {"date", "x-request-id"}
UNKNOWN = "bk_unknownprefix_" + "x" * 40


def _headers(answer):  # type: ignore[no-untyped-def]
    return sorted((k, v) for k, v in answer.headers.multi_items() if k not in VOLATILE)


@pytest.fixture
def keys(balise):
    _, writer = make_provider(balise, "DEMO Writer")
    _, reader = make_provider(balise, "DEMO Reader", scopes=(Scope.REPORTS_READ,))
    return {"writer": writer, "reader": reader, "unknown": UNKNOWN}


def _multipart(document: str, extra: bytes = b"") -> dict:  # type: ignore[type-arg]
    content = (b'--x\r\nContent-Disposition: form-data; name="report"\r\n\r\n' + document.encode()
               + b"\r\n" + extra + b"--x--\r\n")
    return {"content": content, "headers": {"content-type": "multipart/form-data; boundary=x"}}


CASES = {
    "no key": (None, {"json": minimal_report()}),
    "an unknown key": ("unknown", {"json": minimal_report()}),
    "a key without reports:write": ("reader", {"json": minimal_report()}),
    "a bad Idempotency-Key": ("writer", {"json": minimal_report(), "headers": {"Idempotency-Key": "has spaces"}}),
    "malformed JSON": ("writer", {"content": b'{"type": ', "headers": {"content-type": "application/json"}}),
    "not JSON": ("writer", {"content": b"a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    "an invalid report": ("writer", {"json": {"type": "known_csam"}}),
    "too deep": ("writer", {"content": b"[" * 200 + b"]" * 200, "headers": {"content-type": "application/json"}}),
    "multipart that does not parse": ("writer", {"content": b"--x\r\nnot a part",
                                                 "headers": {"content-type": "multipart/form-data; boundary=x"}}),
    "multipart naming a missing file": ("writer", _multipart(json.dumps(minimal_report(
        type="new_csam", items=[{"kind": "media", "file": "f0"}])))),
}


@pytest.mark.parametrize("case", CASES)
def test_refusals_are_byte_for_byte_those_fastapi_routes(client, balise, keys, case):
    who, kwargs = CASES[case]
    kwargs = {k: (dict(v) if k == "headers" else v) for k, v in kwargs.items()}
    if who is not None:
        kwargs["headers"] = {**kwargs.get("headers", {}), **auth(keys[who])}
    fast, routed = both(client, "POST", "/api/v1/reports", **kwargs)
    assert fast.status_code == routed.status_code and 400 <= fast.status_code < 500, fast.text
    assert fast.content == routed.content
    assert _headers(fast) == _headers(routed)
    assert fast.headers["content-type"] == "application/json" and fast.headers["cache-control"] == "no-store"
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 0


def test_a_replay_and_a_conflict_are_byte_for_byte_those_fastapi_routes(client, balise, keys):
    headers = {**auth(keys["writer"]), "Idempotency-Key": "DEMO-replay-1"}
    first = client.post("/api/v1/reports", json=minimal_report(), headers=headers)
    assert first.status_code == 201
    replay_fast, replay_routed = both(client, "POST", "/api/v1/reports", json=minimal_report(), headers=headers)
    assert replay_fast.status_code == 201 and replay_fast.headers["idempotent-replayed"] == "true"
    assert replay_fast.content == replay_routed.content == first.content
    assert _headers(replay_fast) == _headers(replay_routed)
    conflict_fast, conflict_routed = both(client, "POST", "/api/v1/reports", json=minimal_report(urgent=True),
                                           headers=headers)
    assert conflict_fast.status_code == 409 and conflict_fast.content == conflict_routed.content
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1


def test_new_reports_differ_only_by_their_identifiers_and_time(client, balise, keys):
    document = minimal_report(items=[{"kind": "hash_only", "hashes": {"md5": "1" * 32}},
                                     {"kind": "url", "url": "https://example.test/demo"}])
    fast, routed = both(client, "POST", "/api/v1/reports", json=document, headers=auth(keys["writer"]))
    assert fast.status_code == routed.status_code == 201
    mask = lambda text: re.sub(r'"created_at":"[^"]+"', "T", re.sub(r"[0-9a-f-]{36}", "ID", text))  # noqa: E731
    assert mask(fast.text) == mask(routed.text)
    assert [(k, mask(v)) for k, v in _headers(fast)] == [(k, mask(v)) for k, v in _headers(routed)]
    with balise.db.sessions() as s:
        assert {str(i) for i in s.scalars(select(Report.id))} == {fast.json()["id"], routed.json()["id"]}


def test_other_methods_and_paths_are_still_routed_by_fastapi(client, keys):
    for method, path in (("GET", "/api/v1/reports"), ("PUT", "/api/v1/reports"), ("OPTIONS", "/api/v1/reports"),
                         ("POST", "/api/v1/reports/"), ("GET", "/api/v1/reports/not-a-uuid")):
        fast, routed = both(client, method, path, headers=auth(keys["writer"]), follow_redirects=False)
        assert fast.status_code == routed.status_code and fast.content == routed.content, (method, path)
        assert _headers(fast) == _headers(routed)


def test_the_metrics_name_the_route_of_fast_answers(client, keys):
    registry = client.app.state.metrics_registry

    def counted() -> float:
        return registry.get_sample_value("balise_http_requests_total",
                                         {"method": "POST", "route": "/api/v1/reports", "status": "201"}) or 0.0

    before = counted()
    for n in range(3):
        document = minimal_report(items=[{"kind": "hash_only", "hashes": {"md5": f"{n:032x}"}}])
        assert client.post("/api/v1/reports", json=document, headers=auth(keys["writer"])).status_code == 201
    assert client.app.state.fast_paths.enabled
    assert counted() == before + 3
