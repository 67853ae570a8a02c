"""Over real HTTP (`balise serve` on loopback): `balise user disable` ends the account's open
staff session at its next request and keeps it from signing in again, with the answer a wrong
password gets; `balise user set-role` applies at the next request."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord
from tests.cli_support import run_cli
from tests.helpers import csrf_token, make_user, sign_in
from tests.real_server_support import served


@pytest.fixture
def env(settings):
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
            "BALISE_DATABASE_URL": settings.sqlalchemy_url}


@pytest.fixture
def base_url(tmp_path, settings):
    with served(tmp_path, settings.sqlalchemy_url, BALISE_LOGIN_RATE_LIMIT="1000/minute") as (host, port):
        yield f"http://{host}:{port}"


def test_a_disabled_users_open_session_ends_and_they_cannot_sign_in_again(env, balise, base_url):
    make_user(balise, "ana", "analyst")
    with httpx.Client(base_url=base_url) as browser:
        sign_in(browser, balise, "ana")
        assert browser.get("/ui/").status_code == 200
        assert run_cli(env, "user", "disable", "ana", "--reason", "left the team").returncode == 0
        # The same session cookie, one request later.
        after = browser.get("/ui/", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"].endswith("/ui/login")
        assert browser.get("/ui/", follow_redirects=False).status_code == 303

    with httpx.Client(base_url=base_url) as browser:
        token = csrf_token(browser.get("/ui/login").text)
        right = browser.post("/ui/login", data={"username": "ana", "password": "correct horse battery",
                                                "csrftoken": token})
        token = csrf_token(browser.get("/ui/login").text)
        wrong = browser.post("/ui/login", data={"username": "ana", "password": "not the password",
                                                "csrftoken": token})
    # No hint whether the password was right: both answers are the wrong-password answer.
    assert right.status_code == wrong.status_code == 401
    assert "Unknown user or wrong password." in right.text and "Unknown user or wrong password." in wrong.text
    with balise.db.sessions() as s:
        steps = [r.details["step"] for r in s.execute(
            select(AuditRecord).where(AuditRecord.event_type == "user:login_failed").order_by(AuditRecord.seq)).scalars()]
    assert steps == ["account disabled", "account disabled"]


def test_an_enabled_user_signs_in_again(env, balise, base_url):
    make_user(balise, "ana", "analyst")
    assert run_cli(env, "user", "disable", "ana", "--reason", "on leave").returncode == 0
    assert run_cli(env, "user", "enable", "ana", "--reason", "back from leave").returncode == 0
    with httpx.Client(base_url=base_url) as browser:
        sign_in(browser, balise, "ana")
        assert browser.get("/ui/").status_code == 200


def test_a_role_change_applies_at_the_next_request(env, balise, base_url):
    make_user(balise, "ana", "analyst")
    with httpx.Client(base_url=base_url) as browser:
        sign_in(browser, balise, "ana")
        assert browser.get("/ui/organisations").status_code == 403
        assert run_cli(env, "user", "set-role", "ana", "admin", "--reason", "new admin").returncode == 0
        assert browser.get("/ui/organisations").status_code == 200
        assert run_cli(env, "user", "set-role", "ana", "auditor", "--reason", "moved to audit").returncode == 1
        # ana is the only admin, so lowering her is refused; a second admin makes it possible.
        make_user(balise, "root", "admin")
        assert run_cli(env, "user", "set-role", "ana", "auditor", "--reason", "moved to audit").returncode == 0
        assert browser.get("/ui/organisations").status_code == 403
