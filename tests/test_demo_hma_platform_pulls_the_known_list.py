"""The DEMO data has an exchange list with a grant: the DEMO HMA platform's key pulls the
known_indicators list, signed, and may not pull another list."""

from __future__ import annotations

from fastapi.testclient import TestClient

from balise import demo
from balise.web.app import create_app
from tests.helpers import auth


def test_demo_exchange_key_pulls_the_known_list_only(balise):
    result = demo.seed(balise, reports=0, error_history=False)
    assert result.exchange_key
    with TestClient(create_app(balise)) as client:
        page = client.get("/api/v1/exchange/known_indicators", headers=auth(result.exchange_key))
        assert page.status_code == 200, page.text
        assert page.headers["balise-signature"].startswith("ed25519=")
        assert page.json()["list"] == "known_indicators" and page.json()["more"] is False
        other = client.get("/api/v1/exchange/url_list", headers=auth(result.exchange_key))
        assert other.status_code == 403 and other.json()["error"] == "no_grant"
