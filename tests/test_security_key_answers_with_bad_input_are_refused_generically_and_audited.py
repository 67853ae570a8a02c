"""Bad answers to the security key steps, without a browser: an empty field, text that is not
JSON, JSON that is no credential, an unknown credential, an oversized field. Each sign-in
answer gets the one generic message (401), records user:security_key_refused with the reason
and user:login_failed, and signs nobody in; bad registrations store no key. The key step is
rate-limited like the password step."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import SecurityKey
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token, make_user, sign_in

GENERIC = "The security key was not accepted."


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_key(balise: Balise, username: str) -> None:
    """A key row as registration leaves it (the public key never gets to be used here)."""
    with balise.db.transaction() as session:
        user = balise.users.get(session, username)
        session.add(SecurityKey(user_id=user.id, credential_id=b64(b"registered credential"), public_key=b"\xa1\x01\x02",
                                sign_count=0, name="Desk key", created_at=balise.clock()))


def to_key_step(client: TestClient, username: str) -> str:
    token = csrf_token(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"username": username, "password": "correct horse battery", "csrftoken": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login/key"
    page = client.get("/ui/login/key")
    assert page.status_code == 200 and "Use my security key" in page.text
    return csrf_token(page.text)


def assertion(credential_id: bytes, challenge: bytes = b"c" * 32) -> str:
    client_data = json.dumps({"type": "webauthn.get", "challenge": b64(challenge), "origin": "http://testserver"})
    return json.dumps({"id": b64(credential_id), "rawId": b64(credential_id), "type": "public-key",
                       "response": {"clientDataJSON": b64(client_data.encode()), "authenticatorData": b64(b"\0" * 37),
                                    "signature": b64(b"sig")}, "clientExtensionResults": {}})


def refusals(balise: Balise) -> list[str]:
    from tests.security_key_support import events

    return [e["reason"] for e in events(balise, "user:security_key_refused")]


@pytest.mark.parametrize("credential, reason", [
    ("", "unreadable answer"),
    ("this is not JSON", "unreadable answer"),
    ('{"id": 1}', "unreadable answer"),
    ("[]", "unreadable answer"),
    (assertion(b"a credential nobody registered"), "unknown credential"),
])
def test_a_bad_answer_at_sign_in_is_refused_generically_and_audited(client, balise, credential, reason):
    make_user(balise, "ana", "analyst")
    with_key(balise, "ana")
    token = to_key_step(client, "ana")
    r = client.post("/ui/login/key", data={"credential": credential, "csrftoken": token}, follow_redirects=False)
    assert r.status_code == 401 and GENERIC in r.text
    assert client.get("/ui/", follow_redirects=False).status_code == 303
    assert [x.split(":")[0] for x in refusals(balise)] == [reason]
    from tests.security_key_support import events

    assert [e["step"] for e in events(balise, "user:login_failed")] == ["security key"]


def test_an_answer_for_a_challenge_never_issued_is_refused(client, balise):
    make_user(balise, "ana", "analyst")
    with_key(balise, "ana")
    token = to_key_step(client, "ana")
    r = client.post("/ui/login/key", data={"credential": assertion(b"registered credential"), "csrftoken": token})
    assert r.status_code == 401 and GENERIC in r.text
    assert refusals(balise) == ["challenge unknown, used or expired"]


def test_an_oversized_answer_is_refused_before_it_is_read(client, balise):
    make_user(balise, "ana", "analyst")
    with_key(balise, "ana")
    token = to_key_step(client, "ana")
    r = client.post("/ui/login/key", data={"credential": "x" * (70 * 1024), "csrftoken": token})
    assert r.status_code in (400, 413, 422) and "Welcome" not in r.text
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_the_key_step_is_rate_limited(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, login_rate_limit="3/minute"))
    try:
        make_user(balise, "ana", "analyst")
        with_key(balise, "ana")
        with TestClient(create_app(balise)) as client:
            token = to_key_step(client, "ana")
            answers = [client.post("/ui/login/key", data={"credential": "{}", "csrftoken": token}).status_code
                       for _ in range(4)]
            assert answers[:2] == [401, 401] and answers[-1] == 429
    finally:
        balise.close()


@pytest.mark.parametrize("name, credential, message", [
    ("", "{}", "Give the key a name"),
    ("k" * 101, "{}", "longer than 100 characters"),
    ("Desk key", "", GENERIC),
    ("Desk key", "not JSON", GENERIC),
    ("Desk key", json.dumps({"id": "x", "rawId": "x", "type": "public-key", "response": {}}), GENERIC),
])
def test_a_bad_registration_stores_no_key(client, balise, name, credential, message):
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    token = csrf_token(client.get("/ui/account/keys").text)
    r = client.post("/ui/account/keys", data={"name": name, "credential": credential, "csrftoken": token})
    assert r.status_code == 400 and message in r.text
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(SecurityKey)).scalar_one() == 0


def test_removing_an_unknown_key_or_with_a_wrong_password_removes_nothing(client, balise):
    make_user(balise, "ana", "analyst")
    with_key(balise, "ana")
    sign_in_with_totp_despite_key(client, balise, "ana")
    page = client.get("/ui/account/keys")
    token = csrf_token(page.text)
    with balise.db.sessions() as session:
        key_id = session.execute(select(SecurityKey.id)).scalar_one()
    wrong = client.post(f"/ui/account/keys/{key_id}/remove", data={"password": "wrong password", "csrftoken": token})
    assert wrong.status_code == 400 and "Wrong password" in wrong.text
    unknown = client.post("/ui/account/keys/not-a-key/remove", data={"password": "correct horse battery",
                                                                       "csrftoken": token})
    assert unknown.status_code == 400 and "There is no such key on your account." in unknown.text
    with balise.db.sessions() as session:
        assert session.execute(select(SecurityKey.removed_at)).scalar_one() is None


def sign_in_with_totp_despite_key(client: TestClient, balise: Balise, username: str) -> None:
    """The code stays an alternative for a role that need not use a key."""
    from tests.helpers import current_code

    to_key_step(client, username)
    token = csrf_token(client.get("/ui/login/totp").text)
    r = client.post("/ui/login/totp", data={"code": current_code(balise, username), "csrftoken": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
