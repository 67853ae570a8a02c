"""The Staff accounts page (administrators): a new account is created without any password or
secret shown to the administrator; its user opens a single-use, expiring enrolment link,
chooses a password and proves the authenticator with a code, then signs in. The link works
once, not after its expiry, not for a disabled account; bad input at every step is refused
naming what is wrong and changes nothing. Role changes, disabling (the session ends at once)
and the second-factor reset go through the same page, with a reason each, audited; an
administrator cannot disable the last administrator or lower their own role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, EnrolmentLink, User
from balise.container import Balise
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, clock) -> Iterator[Balise]:
    balise = Balise(settings, clock=clock)
    yield balise
    balise.close()


@pytest.fixture
def admin(app) -> Iterator[TestClient]:
    make_user(app, "root", "admin")
    with TestClient(create_app(app)) as client:
        sign_in(client, app, "root")
        yield client


def post(client: TestClient, path: str, data: dict[str, str], page: str = "/ui/users"):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrftoken": csrf_token(client.get(page).text)}, follow_redirects=False)


def flash(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def events(app: Balise, kind: str) -> list[dict]:
    with app.db.sessions() as s:
        return [r.details or {} for r in s.execute(select(AuditRecord).where(AuditRecord.event_type == kind)
                                                   .order_by(AuditRecord.seq)).scalars()]


def invite(admin: TestClient, username: str = "nora", role: str = "analyst") -> str:
    page = post(admin, "/ui/users", {"username": username, "role": role, "display_name": "Nora N.",
                                     "email": "nora@centre.example", "reason": "joins the analysts"})
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store, private"
    link = re.search(r'<code id="enrolment-link">([^<]+)</code>', page.text).group(1)
    assert link.startswith("http://testserver/ui/enrol/")
    return link.removeprefix("http://testserver")


def code_for(app: Balise, clock: Clock, secret: str, steps_back: int = 1) -> str:
    # A code of the step before (accepted for drift), so that the next sign-in has a fresh step.
    return pyotp.TOTP(secret).at(clock.now - timedelta(seconds=30 * steps_back))


def test_a_new_account_enrols_once_through_its_link_then_signs_in(app, clock, admin):
    link = invite(admin)
    with app.db.sessions() as s:
        nora = s.execute(select(User).where(User.username == "nora")).scalar_one()
        assert nora.role == "analyst" and nora.active
        stored = s.execute(select(EnrolmentLink)).scalar_one()
    assert link.rsplit("/", 1)[1] not in stored.token_hash  # only a hash is kept
    assert events(app, "user:create")[-1]["reason"] == "joins the analysts"
    assert events(app, "user:enrolment_link")[-1]["purpose"] == "account"
    assert "waiting for enrolment" in admin.get("/ui/users").text

    with TestClient(create_app(app)) as nora_browser:
        # Nobody knows the account's password before enrolment: signing in fails.
        form = nora_browser.get(link)
        assert form.status_code == 200 and "Set up your account" in form.text
        assert form.headers["referrer-policy"] == "no-referrer"
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', form.text).group(1)
        token = csrf_token(form.text)

        def enrol(**fields: str):  # type: ignore[no-untyped-def]
            return nora_browser.post(link, data={"csrftoken": token, **fields}, follow_redirects=False)

        good = {"password": "a long new password", "password_again": "a long new password"}
        short = enrol(password="short", password_again="short", code=code_for(app, clock, secret))
        assert short.status_code == 400 and "at least 12 characters" in short.text
        differ = enrol(password="a long new password", password_again="another long one", code=code_for(app, clock, secret))
        assert differ.status_code == 400 and "the two passwords differ" in differ.text
        wrong = enrol(**good, code="000000" if code_for(app, clock, secret) != "000000" else "111111")
        assert wrong.status_code == 400 and "code is not valid" in wrong.text
        assert events(app, "user:enrol") == []
        done = enrol(**good, code=code_for(app, clock, secret))
        assert done.status_code == 303 and done.headers["location"] == "/ui/login?enrolled=1"
        assert "Your account is ready" in nora_browser.get("/ui/login?enrolled=1").text
        # Spent: the same link shows only that it does not work, and cannot be spent again.
        again = nora_browser.get(link)
        assert again.status_code == 404 and "This link does not work" in again.text and secret not in again.text
        replay = enrol(**good, code=pyotp.TOTP(secret).at(clock.now))
        assert replay.status_code == 404
        sign_in(nora_browser, app, "nora", "a long new password")
        assert nora_browser.get("/ui/").status_code == 200
    assert [e["purpose"] for e in events(app, "user:enrol")] == ["account"]


def test_a_link_expires_and_a_disabled_account_cannot_enrol(app, clock, admin):
    link = invite(admin)
    with app.db.sessions() as s:
        nora_id = s.execute(select(User.id).where(User.username == "nora")).scalar_one()
    assert flash(post(admin, f"/ui/users/{nora_id}/disable", {"reason": "hired by mistake"})).get("msg")
    assert admin.get(link).status_code == 404
    later = invite(admin, "otto")
    with TestClient(create_app(app)) as anonymous:
        clock.now += timedelta(hours=app.settings.enrolment_link_hours, seconds=1)
        assert anonymous.get(later).status_code == 404
        clock.now -= timedelta(hours=1)
        assert anonymous.get(later).status_code == 200


def test_bad_new_accounts_are_refused_naming_the_problem_and_store_nothing(app, admin):
    with app.db.sessions() as s:
        before = s.execute(select(func.count()).select_from(User)).scalar_one()
    for data, problem in (
        ({"username": "nora", "role": "analyst", "reason": " "}, "a reason is required"),
        ({"username": "Nora Smith", "role": "analyst", "reason": "r"}, "username must be"),
        ({"username": "nora", "role": "king", "reason": "r"}, "unknown role"),
        ({"username": "root", "role": "analyst", "reason": "r"}, "already exists"),
    ):
        page = post(admin, "/ui/users", data)
        assert page.status_code == 400 and problem in page.text, (data, page.text[-2000:])
        assert "Nothing was changed" in page.text and "enrolment-link" not in page.text
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == before
        assert s.execute(select(func.count()).select_from(EnrolmentLink)).scalar_one() == 0


def test_role_disable_enable_and_reset_each_need_a_reason_and_are_audited(app, clock, admin):
    make_user(app, "ana", "analyst")
    with app.db.sessions() as s:
        ids = {u.username: u.id for u in s.execute(select(User)).scalars()}
    with TestClient(create_app(app)) as ana:
        sign_in(ana, app, "ana")
        assert flash(post(admin, f"/ui/users/{ids['ana']}/role", {"role": "senior-analyst", "reason": " "})) \
            == {"err": "a reason is required (--reason) and cannot be empty"}
        assert flash(post(admin, f"/ui/users/{ids['ana']}/role", {"role": "senior-analyst", "reason": "promoted"}))["msg"]
        assert events(app, "user:role_change")[-1] == {"username": "ana", "reason": "promoted",
                                                       "from": "analyst", "to": "senior-analyst"}
        assert flash(post(admin, f"/ui/users/{ids['ana']}/disable", {"reason": "left"}))["msg"]
        # Ana's open session ends at its next request.
        assert ana.get("/ui/", follow_redirects=False).status_code == 303
    assert flash(post(admin, f"/ui/users/{ids['ana']}/enable", {"reason": "came back"}))["msg"]
    page = post(admin, f"/ui/users/{ids['ana']}/second-factor", {"reason": "lost her phone"})
    assert page.status_code == 200 and 'id="enrolment-link"' in page.text
    link = re.search(r'<code id="enrolment-link">([^<]+)</code>', page.text).group(1).removeprefix("http://testserver")
    assert [e["reason"] for e in events(app, "user:reset_totp")] == ["lost her phone"]
    with TestClient(create_app(app)) as ana:
        form = ana.get(link)
        assert "Set up your second factor again" in form.text
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', form.text).group(1)
        wrong = ana.post(link, data={"csrftoken": csrf_token(form.text), "password": "not her password",
                                     "code": code_for(app, clock, secret)}, follow_redirects=False)
        assert wrong.status_code == 400 and "wrong password" in wrong.text
        ok = ana.post(link, data={"csrftoken": csrf_token(form.text), "password": "correct horse battery",
                                  "code": code_for(app, clock, secret)}, follow_redirects=False)
        assert ok.status_code == 303
        sign_in(ana, app, "ana")


def test_an_admin_cannot_lower_their_own_role_or_disable_the_last_admin(app, admin):
    with app.db.sessions() as s:
        root = s.execute(select(User).where(User.username == "root")).scalar_one()
    assert "you cannot lower your own role" in flash(
        post(admin, f"/ui/users/{root.id}/role", {"role": "auditor", "reason": "r"}))["err"]
    assert "you cannot disable your own account" in flash(
        post(admin, f"/ui/users/{root.id}/disable", {"reason": "r"}))["err"]
    make_user(app, "second", "admin")
    with TestClient(create_app(app)) as other:
        sign_in(other, app, "second")
        # With two admins, "second" may disable root; then root is gone, second is the last.
        assert flash(post(other, f"/ui/users/{root.id}/disable", {"reason": "left"}))["msg"]
        with app.db.sessions() as s:
            second = s.execute(select(User).where(User.username == "second")).scalar_one()
        assert "you cannot lower your own role" in flash(
            post(other, f"/ui/users/{second.id}/role", {"role": "analyst", "reason": "r"}))["err"]
    with app.db.sessions() as s:
        assert s.execute(select(User.role).where(User.username == "second")).scalar_one() == "admin"


@pytest.mark.parametrize("role", ["analyst", "auditor", "le-liaison"])
def test_only_administrators_reach_the_page_and_its_forms(app, role):
    make_user(app, "someone", role)
    with TestClient(create_app(app)) as client:
        sign_in(client, app, "someone")
        assert client.get("/ui/users").status_code == 403
        token = csrf_token(client.get("/ui/settings").text)
        r = client.post("/ui/users", data={"username": "x1", "role": "admin", "reason": "r", "csrftoken": token})
        assert r.status_code == 403
    with app.db.sessions() as s:
        assert s.execute(select(User).where(User.username == "x1")).first() is None
