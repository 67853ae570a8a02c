"""Deeply nested JSON once exhausted Python's stack (a RecursionError, a 500) on POST
/api/v1/reports, /api/v1/match and PATCH /api/v1/reports/{id}. Every JSON document the API
reads is bounded in size while it is read (413) and in nesting depth (422, `json_too_deep`), in
the API's error shape, and the refused request changes nothing in the database."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.unchanged_support import assert_unchanged, snapshot

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, max_json_bytes=512 * 1024))
    yield balise
    balise.close()


def nested(depth: int) -> dict:
    value: object = "x"
    for _ in range(depth):
        value = {"k": value}
    return value  # type: ignore[return-value]


def assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["message"], body


def test_deep_json_is_refused_on_every_endpoint_that_reads_json(app):
    _, key = make_provider(app, scopes=(Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH))
    with TestClient(create_app(app)) as c:
        r = c.post("/api/v1/reports", headers=auth(key), json=minimal_report(additional_info="needs more"))
        assert r.status_code == 201, r.text
        report_id = r.json()["id"]
        before = snapshot(app)
        json_headers = {**auth(key), "content-type": "application/json"}
        for method, path in (("POST", "/api/v1/reports"), ("POST", "/api/v1/match"),
                             ("PATCH", f"/api/v1/reports/{report_id}")):
            assert_error(c.request(method, path, content=DEEP, headers=json_headers), 422, "json_too_deep")
            # Deeper than any document of the API, though far from exhausting a stack.
            shallow_enough_to_parse = json.dumps({"hashes": [nested(40)], "additional_info": nested(40)})
            assert_error(c.request(method, path, content=shallow_enough_to_parse, headers=json_headers),
                         422, "json_too_deep")
        # The report document inside a multipart submission is held to the same bound.
        r = c.post("/api/v1/reports", headers=auth(key), data={"report": DEEP.decode()},
                   files=[("f", ("a.bin", b"x", "application/octet-stream"))])
        assert_error(r, 422, "json_too_deep")
        assert_unchanged(app, before)


def test_json_over_the_size_limit_is_refused_while_it_is_read(app):
    _, key = make_provider(app, scopes=(Scope.REPORTS_WRITE, Scope.MATCH))
    big = json.dumps({"hashes": [{"type": "md5", "value": "0" * 32}] * 20_000}).encode()
    assert len(big) > 512 * 1024
    before = snapshot(app)
    with TestClient(create_app(app)) as c:
        headers = {**auth(key), "content-type": "application/json"}
        assert_error(c.post("/api/v1/match", content=big, headers=headers), 413, "payload_too_large")
        # Without Content-Length (chunked), the body is cut off as soon as it passes the limit.
        chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
        assert_error(c.post("/api/v1/match", content=chunks, headers=headers), 413, "payload_too_large")
        assert_error(c.post("/api/v1/reports", content=big, headers=headers), 413, "payload_too_large")
    assert_unchanged(app, before)
