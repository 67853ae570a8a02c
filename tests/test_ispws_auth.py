"""Who may do what on /ispws: HTTP Basic credentials of a provider, 2000 for anything else,
3000 for a revoked credential, 3100/3300 for another organisation's report or file, and a
rate limit per credential."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IspwsFile, IspwsReport
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth as bearer
from tests.helpers import make_provider
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    description,
    file_details,
    fileinfo,
    finish,
    make_ispws_provider,
    open_report,
    retract,
    upload,
    upload_ok,
)

ENDPOINTS = [("GET", "/ispws/status"), ("GET", "/ispws/xsd"), ("POST", "/ispws/submit"), ("POST", "/ispws/upload"),
             ("POST", "/ispws/fileinfo"), ("POST", "/ispws/finish"), ("POST", "/ispws/retract")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_basic_credentials(client, method, path):
    r = client.request(method, path)
    assert r.status_code == 401 and code(r) == 2000
    assert r.headers["www-authenticate"].startswith('Basic realm="Balise ISPWS"')
    assert "set-cookie" not in r.headers


def test_wrong_password_and_unknown_user_get_the_same_answer(client, balise):
    _, user, password = make_ispws_provider(balise)
    wrong = client.get("/ispws/status", headers=basic(user, password + "x"))
    unknown = client.get("/ispws/status", headers=basic("ispws-000000000000", password))
    assert wrong.status_code == unknown.status_code == 401
    assert description(wrong) == description(unknown) == "Authentication required: unknown user name or wrong password"


@pytest.mark.parametrize(("header", "fragment"), [
    ("Basic !!!not-base64!!!", "malformed Basic credentials (not base64 of UTF-8)"),
    ("Basic " + base64.b64encode(b"no-colon-here").decode(), "malformed Basic credentials (no user name and password)"),
    ("Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "not base64 of UTF-8"),
    ("Digest username=x", "only HTTP Basic authentication is accepted, not Digest"),
])
def test_malformed_authorization_is_2000_saying_why(client, header, fragment):
    r = client.get("/ispws/status", headers={"Authorization": header})
    assert r.status_code == 401 and code(r) == 2000 and fragment in description(r)


def test_an_api_key_is_not_an_ispws_credential(client, balise):
    _, key = make_provider(balise)
    r = client.get("/ispws/status", headers=bearer(key))
    assert code(r) == 2000 and "only HTTP Basic" in description(r)


def test_revoked_credential_is_3000_and_a_wrong_password_stays_2000(client, balise):
    _, user, password = make_ispws_provider(balise)
    with balise.db.transaction() as session:
        balise.ispws.revoke_credential(session, Actor.system("test"), user)
    r = client.get("/ispws/status", headers=basic(user, password))
    assert r.status_code == 403 and code(r) == 3000 and "this credential was revoked on" in description(r)
    assert code(client.get("/ispws/status", headers=basic(user, "guess"))) == 2000


def test_another_organisations_report_is_3100_and_stays_as_it_was(client, balise):
    _, user_a, password_a = make_ispws_provider(balise, "DEMO Platform A")
    _, user_b, password_b = make_ispws_provider(balise, "DEMO Platform B")
    a, b = basic(user_a, password_a), basic(user_b, password_b)
    report_id = open_report(client, a)
    file_id = upload_ok(client, a, report_id, demo_jpeg(5))
    for r in (upload(client, b, report_id, demo_jpeg(6)), fileinfo(client, b, file_details(report_id, file_id)),
              finish(client, b, report_id), retract(client, b, report_id)):
        assert r.status_code == 403 and code(r) == 3100, r.text
        assert description(r) == f"Not authorized to access this report: report {report_id} belongs to another organisation"
    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, report_id)
        assert staged.state == "open" and len(staged.files) == 1 and staged.files[0].details_object is None


def test_another_organisations_file_is_3300(client, balise):
    _, user_a, password_a = make_ispws_provider(balise, "DEMO Platform A")
    _, user_b, password_b = make_ispws_provider(balise, "DEMO Platform B")
    a, b = basic(user_a, password_a), basic(user_b, password_b)
    theirs = upload_ok(client, a, open_report(client, a), demo_jpeg(7))
    mine = open_report(client, b)
    r = fileinfo(client, b, file_details(mine, theirs))
    assert r.status_code == 403 and code(r) == 3300
    assert description(r) == f"Not authorized to access this file: file {theirs} belongs to another organisation"
    with balise.db.sessions() as session:
        assert session.execute(select(IspwsFile.details_object)).scalar_one() is None


def test_rate_limit_per_credential_is_429_with_retry_after(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, ispws_rate_limit="3/minute"))
    try:
        _, user, password = make_ispws_provider(app)
        _, other_user, other_password = make_ispws_provider(app, "DEMO Other")
        with TestClient(create_app(app)) as c:
            statuses = [c.get("/ispws/status", headers=basic(user, password)).status_code for _ in range(3)]
            limited = c.get("/ispws/status", headers=basic(user, password))
            other = c.get("/ispws/status", headers=basic(other_user, other_password))
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429 and code(limited) == 4000 and int(limited.headers["retry-after"]) >= 1
        assert "too many requests for this credential" in description(limited)
        assert other.status_code == 200
    finally:
        app.close()
