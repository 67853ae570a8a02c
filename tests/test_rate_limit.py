"""Each API key has its own rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report


def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_are_unaffected(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, api_rate_limit="3/minute"))
    _, key_a = make_provider(app, "A")
    _, key_b = make_provider(app, "B")
    with TestClient(create_app(app)) as c:
        codes = [c.post("/api/v1/reports", json=minimal_report(), headers=auth(key_a)).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        limited = c.post("/api/v1/reports", json=minimal_report(), headers=auth(key_a))
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert c.post("/api/v1/reports", json=minimal_report(), headers=auth(key_b)).status_code == 201
    app.close()


def test_limits_can_be_shared_through_redis(tmp_path, db_url):
    """Two app instances (two API processes) share one budget when the storage is Redis."""
    import uuid

    app = Balise(make_settings(tmp_path, db_url, api_rate_limit="2/minute", rate_limit_storage="redis://127.0.0.1:6379"))
    _, key = make_provider(app, f"Redis {uuid.uuid4().hex}")
    with TestClient(create_app(app)) as first, TestClient(create_app(app)) as second:
        assert first.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 201
        assert second.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 201
        assert first.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 429
    app.close()
