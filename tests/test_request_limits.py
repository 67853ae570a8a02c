"""Oversized submissions are refused with 413 before they are read in full."""

from __future__ import annotations

import asyncio
import json

import pytest

from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report

LIMIT = 64 * 1024


@pytest.fixture
def small(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, max_request_bytes=LIMIT, max_file_bytes=20_000, max_items_per_report=3)
    app = Balise(settings)
    yield app
    app.close()


def _call(asgi, headers, chunks):
    """Drive the ASGI app directly, counting how many body chunks it pulled."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/reports", "raw_path": b"/api/v1/reports", "query_string": b"",
        "root_path": "", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }
    asyncio.run(asgi(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, pulled


def test_declared_oversized_body_is_refused_without_reading_it(small):
    _, key = make_provider(small)
    chunks = [b"x" * 1024] * 200
    status, pulled = _call(create_app(small), {"authorization": f"Bearer {key}", "content-type": "application/json",
                                                "content-length": str(200 * 1024)}, chunks)
    assert status == 413
    assert pulled == 0


def test_streamed_oversized_body_is_cut_off_at_the_limit(small):
    _, key = make_provider(small)
    chunks = [b"x" * 1024] * 1000  # 1 MiB sent chunked, no Content-Length
    status, pulled = _call(create_app(small), {"authorization": f"Bearer {key}", "content-type": "application/json"}, chunks)
    assert status == 413
    assert pulled <= LIMIT // 1024 + 1


def test_file_over_the_file_limit_is_413_and_stores_nothing(small):
    from fastapi.testclient import TestClient

    _, key = make_provider(small)
    report = minimal_report(items=[{"kind": "media", "file": "a"}])
    big = b"\xff\xd8\xff" + b"\0" * 30_000
    with TestClient(create_app(small)) as client:
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)}, files=[("a", ("a.jpg", big, "image/jpeg"))], headers=auth(key))
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"
    assert not list(small.settings.vault_path.rglob("*.blv"))


def test_more_items_than_allowed_is_413(small):
    from fastapi.testclient import TestClient

    _, key = make_provider(small)
    report = minimal_report(items=[{"kind": "url", "url": f"https://x.test/{i}"} for i in range(4)])
    with TestClient(create_app(small)) as client:
        r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 413 and r.json()["error"] == "too_many_items"


def test_a_request_within_the_limits_passes(small):
    from fastapi.testclient import TestClient

    _, key = make_provider(small)
    report = minimal_report(items=[{"kind": "media", "file": "a"}])
    with TestClient(create_app(small)) as client:
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                        files=[("a", ("a.jpg", demo_image(1, (64, 64)), "image/jpeg"))], headers=auth(key))
    assert r.status_code == 201, r.text
