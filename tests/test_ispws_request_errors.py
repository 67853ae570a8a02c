"""Malformed requests to /ispws get the precise code: unknown path (1210), wrong method, missing
or bad form fields (4000), malformed file submittals (4200), files over the limits (1111)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsFile
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    description,
    finish,
    make_ispws_provider,
    open_report,
    rich_report,
    upload,
    upload_ok,
)


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def no_files(balise) -> None:
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsFile)).scalar_one() == 0


def test_unknown_path_is_1210(client, auth):
    for headers in ({}, auth):
        r = client.get("/ispws/reports", headers=headers)
        assert r.status_code == 404 and code(r) == 1210 and "no endpoint /ispws/reports" in description(r)


def test_wrong_method_is_4000_with_405_and_allow(client, auth):
    r = client.get("/ispws/submit", headers=auth)
    assert r.status_code == 405 and code(r) == 4000 and r.headers["allow"] == "POST"
    assert "GET is not allowed on /ispws/submit" in description(r)


@pytest.mark.parametrize(("value", "fragment"), [
    (None, "the form field 'id' (the report id) is missing"),
    ("abc", "must be a report id (a positive integer), not 'abc'"),
    ("-3", "not '-3'"),
    ("0", "not '0'"),
    ("99999999999999999999", "not '99999999999999999999'"),
    ("١٢", "not '١٢'"),
])
def test_bad_report_id_in_a_form_is_4000(client, auth, value, fragment):
    data = {} if value is None else {"id": value}
    r = client.post("/ispws/finish", data=data, headers=auth)
    assert r.status_code == 400 and code(r) == 4000 and fragment in description(r), r.text


def test_finish_wants_a_form(client, auth):
    r = client.post("/ispws/finish", json={"id": 1}, headers=auth)
    assert r.status_code == 415 and code(r) == 4000
    r = client.post("/ispws/finish", content=b"id=1&id=2", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert code(r) == 4000 and "given more than once" in description(r)


def test_upload_must_be_multipart_with_one_file(client, balise, auth):
    report_id = open_report(client, auth)
    r = client.post("/ispws/upload", data={"id": str(report_id)}, headers=auth)
    assert r.status_code == 400 and code(r) == 4200 and "send the file as multipart/form-data" in description(r)
    r = client.post("/ispws/upload", data={"id": str(report_id)}, files={"other": ("x", b"DEMO")}, headers=auth)
    assert code(r) == 4200 and "unexpected form fields: other" in description(r)
    r = client.post("/ispws/upload", files={"id": (None, str(report_id)), "note": (None, "x")}, headers=auth)
    assert code(r) == 4200 and "unexpected form fields: note" in description(r)
    r = client.post("/ispws/upload", files={"id": (None, str(report_id))}, headers=auth)
    assert code(r) == 4200 and "the multipart field 'file' (a file part) is missing" in description(r)
    r = client.post("/ispws/upload", data={"id": str(report_id)},
                    files=[("file", ("a.jpg", demo_jpeg(1))), ("file", ("b.jpg", demo_jpeg(2)))], headers=auth)
    assert code(r) == 4200 and "Too many files" in description(r)
    r = client.post("/ispws/upload", content=b"--x\r\n", headers={**auth, "Content-Type": "multipart/form-data"})
    assert code(r) == 4200 and "without a boundary" in description(r)
    r = client.post("/ispws/upload", files={"file": ("a.jpg", demo_jpeg(1))}, headers=auth)
    assert code(r) == 4000 and "the form field 'id' (the report id) is missing" in description(r)
    no_files(balise)


def test_empty_file_is_4200(client, balise, auth):
    report_id = open_report(client, auth)
    r = upload(client, auth, report_id, b"")
    assert r.status_code == 400 and code(r) == 4200 and description(r) == "Malformed file submittal: the file is empty"
    no_files(balise)


def test_file_over_the_limit_and_one_item_too_many_are_1111(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, max_file_bytes=20_000, max_items_per_report=3))
    try:
        _, user, password = make_ispws_provider(app)
        auth = basic(user, password)
        with TestClient(create_app(app)) as c:
            r = upload(c, auth, open_report(c, auth), b"D" * 20_001)
            assert r.status_code == 413 and code(r) == 1111
            assert "the file exceeds the limit of 20000 bytes" in description(r)
            # The rich report has two http(s) URLs: with one file it is at the limit of three items.
            report_id = open_report(c, auth, rich_report())
            upload_ok(c, auth, report_id, demo_jpeg(3))
            r = upload(c, auth, report_id, demo_jpeg(4))
            assert r.status_code == 413 and code(r) == 1111
            assert f"report {report_id} already holds 3 items; the limit is 3" in description(r)
            assert code(finish(c, auth, report_id)) == 0
    finally:
        app.close()
