"""PostgreSQL text cannot hold U+0000: a NUL in a text field or a file name once failed the
transaction with a 500 (psycopg.DataError). Wherever text comes in — the API's JSON and its
multipart parts, /ispws file names, Basic credentials and XML, the public form and the staff
forms and page filters — a NUL is refused with a 4xx that names the field, and the database is
left exactly as it was. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, csrf_token, make_provider, make_user, minimal_report, sign_in
from tests.ispws_support import basic, code, demo_jpeg, make_ispws_provider, minimal_report as ncmec_report, open_report
from tests.unchanged_support import assert_unchanged, snapshot

BOUNDARY = "balise-test-boundary"


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    yield balise
    balise.close()


def multipart(fields: dict[str, bytes], files: list[tuple[bytes, bytes, bytes, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written byte for byte: HTTP clients escape a NUL in a file name, a
    hostile client does not. ``files``: (part name, file name, content type, content)."""
    b = BOUNDARY.encode()
    out = b""
    for name, value in fields.items():
        out += b"--" + b + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
    for name, filename, content_type, content in files:
        out += (b"--" + b + b'\r\nContent-Disposition: form-data; name="' + name + b'"; filename="' + filename
                + b'"\r\nContent-Type: ' + content_type + b"\r\n\r\n" + content + b"\r\n")
    return out + b"--" + b + b"--\r\n", {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def assert_nul_refused(r, field: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "nul_character" and body["fields"][0]["field"] == field, body


def test_the_api_refuses_nul_in_json_and_in_multipart_parts(app):
    _, key = make_provider(app, scopes=(Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH))
    with TestClient(create_app(app)) as c:
        filed = c.post("/api/v1/reports", headers=auth(key), json=minimal_report())
        assert filed.status_code == 201
        before = snapshot(app)
        assert_nul_refused(c.post("/api/v1/reports", headers=auth(key), json=minimal_report(additional_info="a\x00b")),
                           "additional_info")
        item = {"kind": "hash_only", "filename": "x\x00.jpg", "hashes": {"md5": "0" * 32}}
        assert_nul_refused(c.post("/api/v1/reports", headers=auth(key), json=minimal_report(items=[item])),
                           "items.0.filename")
        assert_nul_refused(c.post("/api/v1/reports", headers=auth(key), json={**minimal_report(), "a\x00": 1}),
                           "a\\u0000")
        assert_nul_refused(c.post("/api/v1/match", headers=auth(key),
                                  json={"hashes": [{"type": "md5", "value": "0" * 31 + "\x00"}]}), "hashes.0.value")
        assert_nul_refused(c.patch(f"/api/v1/reports/{filed.json()['id']}", headers=auth(key),
                                   json={"signature": "DEMO\x00"}), "signature")
        report = json.dumps(minimal_report(items=[{"kind": "media", "file": "f"}])).encode()
        for filename, content_type, field in ((b"a\x00.jpg", b"image/jpeg", "f.filename"),
                                              (b"a.jpg", b"image/\x00jpeg", "f.content_type")):
            body, headers = multipart({"report": report}, [(b"f", filename, content_type, b"DEMO bytes")])
            assert_nul_refused(c.post("/api/v1/reports", content=body, headers={**auth(key), **headers}), field)
        body, headers = multipart({"report": json.dumps(minimal_report(additional_info="\x00")).encode()}, [])
        assert_nul_refused(c.post("/api/v1/reports", content=body, headers={**auth(key), **headers}), "additional_info")
    assert_unchanged(app, before)


def test_ispws_refuses_nul_in_file_names_credentials_and_xml(app):
    _, user, password = make_ispws_provider(app)
    with TestClient(create_app(app)) as c:
        report_id = open_report(c, basic(user, password))
        before = snapshot(app)
        for filename, content_type in ((b"demo\x00.jpg", b"image/jpeg"), (b"demo.jpg", b"image/jp\x00eg")):
            body, headers = multipart({"id": str(report_id).encode()}, [(b"file", filename, content_type, demo_jpeg())])
            r = c.post("/ispws/upload", content=body, headers={**basic(user, password), **headers})
            assert r.status_code == 422 and code(r) == 4200 and "NUL" in r.text, r.text
        r = c.get("/ispws/status", headers=basic(user + "\x00", password))
        assert r.status_code == 401 and code(r) == 2000 and "NUL" in r.text, r.text
        document = ncmec_report()
        for nul in ("\x00", "&#0;"):
            at = document.index("</incidentSummary>") if "</incidentSummary>" in document else document.index("</report>")
            hostile = document[:at] + nul + document[at:]
            r = c.post("/ispws/submit", content=hostile.encode(), headers={**basic(user, password),
                                                                           "content-type": "text/xml"})
            assert r.status_code == 400 and code(r) == 4110, r.text
    assert_unchanged(app, before)


def test_the_public_form_refuses_nul_naming_the_field_in_the_page_language(app):
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/report/fr").text)
        before = snapshot(app)
        r = c.post("/report/fr", data={"csrftoken": token, "url": "https://example.test/a", "what": "unsure",
                                       "description": "bon\x00jour"})
        assert r.status_code == 422 and r.headers["content-language"] == "fr", r.text
        assert "Le champ « Que s’est-il passé ? » contient un caractère" in r.text
        r = c.post("/report/de/status", data={"csrftoken": token, "number": "BAL-\x00", "secret": "x"})
        assert r.status_code == 422 and "Das Feld „Meldungsnummer“" in r.text, r.text
        body, headers = multipart({"csrftoken": token.encode(), "url": b"https://example.test/a", "what": b"unsure"},
                                  [(b"photo", b"a\x00.jpg", b"image/jpeg", b"DEMO")])
        r = c.post("/report/en", content=body, headers=headers)
        assert r.status_code == 422 and "The field “photo” contains a character" in r.text, r.text
    assert_unchanged(app, before)


def test_staff_forms_and_page_filters_refuse_nul(app):
    make_user(app, "admin-nul", "admin")
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/ui/login").text)
        before = snapshot(app)
        r = c.post("/ui/login", data={"csrftoken": token, "username": "admin\x00", "password": "correct horse battery"})
        assert r.status_code == 422 and "'username'" in r.text, r.text
        assert_unchanged(app, before)
        sign_in(c, app, "admin-nul")
        token = csrf_token(c.get("/ui/partners").text)
        before = snapshot(app)
        r = c.post("/ui/partners", data={"csrftoken": token, "kind": "hotline", "country": "FR", "name": "DEMO\x00",
                                         "channel": "email", "endpoint": "abuse@example.test", "languages": "fr"})
        assert r.status_code == 422 and "'name'" in r.text, r.text
        r = c.get("/ui/partners?country=F%00")
        assert r.status_code == 422 and "'country'" in r.text, r.text
        r = c.get("/ui/queue?source=%00")
        assert r.status_code == 422, r.text
    assert_unchanged(app, before)
