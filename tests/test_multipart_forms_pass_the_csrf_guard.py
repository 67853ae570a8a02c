"""Every multipart POST through the old CSRF middleware (asgi-csrf 0.11 with python-multipart
0.0.34) failed with a 500: `FormParser.__init__() got an unexpected keyword argument
'FileClass'`. A multipart form now passes the guard like an urlencoded one — to a staff form
(sign-in) and to the public form — wherever its token is among the parts, and one with a wrong
or missing token is refused (403) with nothing stored."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import PublicReport
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token, current_code, make_user
from tests.unchanged_support import assert_unchanged, snapshot

PHOTO = ("note.txt", b"a benign attachment", "text/plain")


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    yield balise
    balise.close()


def test_a_multipart_sign_in_passes_the_guard(app):
    make_user(app, "ana", "analyst")
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/ui/login").text)
        # The token after a file part: nothing requires it to come first.
        r = c.post("/ui/login", files={"attachment": PHOTO},
                   data={"username": "ana", "password": "correct horse battery", "csrftoken": token},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login/totp", r.text
        token = csrf_token(c.get("/ui/login/totp").text)
        r = c.post("/ui/login/totp", files={"attachment": PHOTO},
                   data={"code": current_code(app, "ana"), "csrftoken": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/", r.text


def test_a_multipart_public_report_passes_the_guard(app):
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/report/en").text)
        r = c.post("/report/en", files={"attachment": PHOTO},
                   data={"csrftoken": token, "url": "https://example.test/page", "what": "unsure",
                         "description": "DEMO report sent as multipart"})
        assert r.status_code == 200 and re.search(r'id="report-number">', r.text), r.text
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(PublicReport)).scalar_one() == 1


def test_a_multipart_form_with_a_wrong_or_no_token_is_refused(app):
    make_user(app, "ana", "analyst")
    with TestClient(create_app(app)) as c:
        c.get("/report/en")  # the CSRF cookie
        before = snapshot(app)
        for data in ({"csrftoken": "forged"}, {}):
            for path, fields in (("/report/en", {"url": "https://example.test/page", "what": "unsure"}),
                                 ("/ui/login", {"username": "ana", "password": "correct horse battery"})):
                r = c.post(path, files={"attachment": PHOTO}, data={**fields, **data}, follow_redirects=False)
                assert r.status_code == 403, (path, r.text)
                assert r.headers["content-type"].startswith("text/html")
    assert_unchanged(app, before)
