"""Failed Basic authentications on /ispws are limited per client address
(BALISE_ISPWS_AUTH_FAILURE_LIMIT, in memory): past the limit every request from that address —
with a right password, a wrong one or an unknown user — gets the same 429 (code 2000, with
Retry-After), so the answer never tells whether a user exists or a guess was right. Other
addresses, and requests that send no credentials at all, are not affected."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.ispws_support import basic, code, description, make_ispws_provider


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, ispws_auth_failure_limit="3/minute"))
    yield balise
    balise.close()


def client_at(app: Balise, address: str) -> TestClient:
    return TestClient(create_app(app), client=(address, 50000))


def test_past_the_limit_every_answer_is_the_same_429(app):
    _, user, password = make_ispws_provider(app)
    with client_at(app, "192.0.2.10") as c:
        failures = [
            c.get("/ispws/status", headers=basic(user, password + "x")),           # wrong password
            c.get("/ispws/status", headers=basic("ispws-000000000000", password)),  # unknown user
            c.get("/ispws/status", headers={"Authorization": "Basic !!!"}),         # malformed
        ]
        assert [(r.status_code, code(r)) for r in failures] == [(401, 2000)] * 3
        right = c.get("/ispws/status", headers=basic(user, password))
        wrong = c.post("/ispws/submit", headers=basic(user, "guess"), content=b"<report/>")
        unknown = c.get("/ispws/xsd", headers=basic("ispws-ffffffffffff", "guess"))
    for r in (right, wrong, unknown):
        assert r.status_code == 429 and code(r) == 2000, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert "www-authenticate" not in r.headers
    # The same words whatever the credentials; only the countdown may have ticked between them.
    texts = [re.sub(r"retry in \d+ s", "retry in N s", description(r)) for r in (right, wrong, unknown)]
    assert texts[0] == texts[1] == texts[2]
    waits = [int(re.search(r"retry in (\d+) s", description(r)).group(1)) for r in (right, wrong, unknown)]
    assert max(waits) - min(waits) <= 1
    assert description(right).startswith(
        "Authentication required: too many failed authentication attempts from this address; retry in ")


def test_another_address_is_not_affected(app):
    _, user, password = make_ispws_provider(app)
    with client_at(app, "192.0.2.10") as attacker:
        for _ in range(4):
            attacker.get("/ispws/status", headers=basic(user, "guess"))
        assert attacker.get("/ispws/status", headers=basic(user, password)).status_code == 429
    with client_at(app, "198.51.100.7") as provider:
        r = provider.get("/ispws/status", headers=basic(user, password))
    assert r.status_code == 200 and code(r) == 0


def test_requests_without_credentials_and_successes_do_not_count(app):
    _, user, password = make_ispws_provider(app)
    with client_at(app, "192.0.2.20") as c:
        for _ in range(5):
            # A client asking for the challenge first is not guessing anything.
            assert c.get("/ispws/status").status_code == 401
        for _ in range(5):
            assert c.get("/ispws/status", headers=basic(user, password)).status_code == 200
        for _ in range(3):
            assert c.get("/ispws/status", headers=basic(user, "guess")).status_code == 401
        assert c.get("/ispws/status", headers=basic(user, password)).status_code == 429


def test_a_revoked_credential_with_its_right_password_is_not_a_failed_guess(app):
    from balise.accounts.actors import Actor

    _, user, password = make_ispws_provider(app)
    with app.db.transaction() as session:
        app.ispws.revoke_credential(session, Actor.system("test"), user)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    with client_at(app, "192.0.2.30") as c:
        for _ in range(5):
            assert code(c.get("/ispws/status", headers={"Authorization": f"Basic {token}"})) == 3000
