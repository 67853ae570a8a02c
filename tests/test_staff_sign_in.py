"""Staff sign in with an argon2id password and a TOTP code, behind CSRF protection."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, User
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token, current_code, make_user, sign_in


def test_password_then_totp_signs_in_and_shows_home(client, balise):
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    home = client.get("/ui/")
    assert home.status_code == 200 and "Welcome" in home.text and "analyst" in home.text
    with balise.db.sessions() as s:
        assert s.execute(select(User.password_hash)).scalar_one().startswith("$argon2id$")
        events = [e for (e,) in s.execute(select(AuditRecord.event_type).where(AuditRecord.subject_type == "user"))]
        assert "user:login" in events


def test_wrong_password_is_refused_and_audited(client, balise):
    make_user(balise, "ana", "analyst")
    token = csrf_token(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"username": "ana", "password": "wrong password!", "csrftoken": token})
    assert r.status_code == 401 and "wrong password" in r.text
    with balise.db.sessions() as s:
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "user:login_failed")).first()
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, balise):
    token = csrf_token(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"username": "ghost", "password": "whatever at all", "csrftoken": token})
    assert r.status_code == 401 and "Unknown user or wrong password" in r.text


def test_wrong_totp_code_is_refused(client, balise):
    make_user(balise, "ana", "analyst")
    token = csrf_token(client.get("/ui/login").text)
    client.post("/ui/login", data={"username": "ana", "password": "correct horse battery", "csrftoken": token})
    good = current_code(balise, "ana")
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    token = csrf_token(client.get("/ui/login/totp").text)
    r = client.post("/ui/login/totp", data={"code": bad, "csrftoken": token})
    assert r.status_code == 401
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_a_totp_code_cannot_be_used_twice(balise):
    app = create_app(balise)
    make_user(balise, "ana", "analyst")
    with TestClient(app) as first:
        sign_in(first, balise, "ana")
    with TestClient(app) as second:
        token = csrf_token(second.get("/ui/login").text)
        second.post("/ui/login", data={"username": "ana", "password": "correct horse battery", "csrftoken": token})
        token = csrf_token(second.get("/ui/login/totp").text)
        # The code the first sign-in used, replayed within its 30 seconds.
        with balise.db.sessions() as s:
            user = balise.users.get(s, "ana")
            import pyotp

            step = user.totp_last_step
            replay = pyotp.TOTP(balise.users._box.open(user.totp_secret_enc)).at(step * 30)
        r = second.post("/ui/login/totp", data={"code": replay, "csrftoken": token})
        assert r.status_code == 401


def test_totp_step_without_password_step_goes_back_to_sign_in(client):
    r = client.get("/ui/login/totp", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_post_without_csrf_token_is_refused(client, balise):
    make_user(balise, "ana", "analyst")
    client.get("/ui/login")  # gets the CSRF cookie
    r = client.post("/ui/login", data={"username": "ana", "password": "correct horse battery"})
    assert r.status_code == 403
    r = client.post("/ui/login", data={"username": "ana", "password": "correct horse battery", "csrftoken": "forged"})
    assert r.status_code == 403


def test_sign_out_requires_csrf_and_ends_the_session(client, balise):
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    assert client.post("/ui/logout", follow_redirects=False).status_code == 403
    token = csrf_token(client.get("/ui/").text)
    assert client.post("/ui/logout", data={"csrftoken": token}, follow_redirects=False).status_code == 303
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_session_cookie_is_http_only_and_strict(client, balise):
    make_user(balise, "ana", "analyst")
    token = csrf_token(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"username": "ana", "password": "correct horse battery", "csrftoken": token}, follow_redirects=False)
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("balise_session="))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # development serves plain http on loopback


def test_cookies_are_secure_outside_development(tmp_path, db_url):
    import base64
    import os

    from balise.evidence.adapters.signing import write_new_key

    write_new_key(tmp_path / "signing.pem")
    settings = make_settings(tmp_path, db_url, env="production", secret_key="s" * 40,
                             vault_key=base64.b64encode(os.urandom(32)).decode(),
                             signing_key_file=tmp_path / "signing.pem")
    app = Balise(settings)
    make_user(app, "ana", "analyst")
    with TestClient(create_app(app), base_url="https://testserver") as c:
        page = c.get("/ui/login")
        assert "secure" in page.headers["set-cookie"].lower()
        token = csrf_token(page.text)
        r = c.post("/ui/login", data={"username": "ana", "password": "correct horse battery", "csrftoken": token}, follow_redirects=False)
        session_cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("balise_session="))
        assert "secure" in session_cookie.lower()
    app.close()


def test_sign_in_attempts_are_rate_limited(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, login_rate_limit="3/minute"))
    make_user(app, "ana", "analyst")
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/ui/login").text)
        codes = [c.post("/ui/login", data={"username": "ana", "password": "wrong password!", "csrftoken": token}).status_code
                 for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    app.close()


@pytest.mark.parametrize("password", ["short", ""])
def test_weak_passwords_are_refused_at_creation(balise, password):
    from balise.accounts.users import UserError

    with pytest.raises(UserError):
        make_user(balise, "ana", "analyst", password=password)
