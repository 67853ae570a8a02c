"""The DEMO data gives the demo provider a live access grant, so that its key still matches
through the API (as the README's demo shows), and seeds a grant in every other state for the
staff page and the review."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import AccessGrant
from balise.web.app import create_app
from tests.helpers import auth


def test_demo_key_matches_and_every_grant_state_is_shown(balise):
    result = demo.seed(balise, reports=0)
    with TestClient(create_app(balise)) as client:
        r = client.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": "0" * 32}]},
                        headers=auth(result.api_key))
        assert r.status_code == 200, r.text
        assert r.json()["databases"] == ["known_indicators", "new_indicators", "solicitation_indicators", "url_list"]
    with balise.db.sessions() as s:
        states = sorted({g.state for g in s.execute(select(AccessGrant)).scalars()})
        review = balise.grants.review(s)
    assert states == ["approved", "awaiting_second_approval", "requested", "revoked"]
    assert [g.purpose for g in review.expiring] == [g.purpose for g in review.unused] \
        == ["DEMO: check reported URLs against the URL list"]
