"""When the vault or the database fails, /ispws says so (1100 report not saved, 1110 file not
stored, 1300 details not stored, 1000 server error with the Request-ID) and keeps nothing half
done. The failures are real: a file stands where the vault needs a directory, or the database
port is closed."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsFile, IspwsReport, VaultObject
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    description,
    file_details,
    fileinfo,
    make_ispws_provider,
    minimal_report,
    open_report,
    submit,
    upload,
    upload_ok,
)


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def block_vault_for(balise, content: bytes) -> None:
    """Put a plain file where the vault must create the directory for this content. At the
    second level (<aa>/<bb>/): the first level may already exist for other content (1 chance
    in 256 per stored object), which made this test fail now and then."""
    sha = hashlib.sha256(content).hexdigest()
    parent = balise.settings.vault_path / sha[:2]
    parent.mkdir(parents=True, exist_ok=True)
    (parent / sha[2:4]).write_bytes(b"DEMO: not a directory")


def test_report_the_vault_cannot_store_is_1100_and_not_opened(client, balise, auth):
    document = minimal_report().encode()
    block_vault_for(balise, document)
    r = submit(client, auth, document)
    assert r.status_code == 500 and code(r) == 1100
    assert description(r).startswith("Report save failed: the evidence vault could not store it")
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsReport)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(VaultObject)).scalar_one() == 0


def test_file_the_vault_cannot_store_is_1110_and_the_report_is_unchanged(client, balise, auth):
    report_id = open_report(client, auth)
    with balise.db.sessions() as session:
        before = session.get(IspwsReport, report_id).updated_at
    content = demo_jpeg(11)
    block_vault_for(balise, content)
    r = upload(client, auth, report_id, content)
    assert r.status_code == 500 and code(r) == 1110
    assert description(r).startswith("File upload failed: the evidence vault could not store it")
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsFile)).scalar_one() == 0
        assert session.get(IspwsReport, report_id).updated_at == before


def test_details_the_vault_cannot_store_are_1300(client, balise, auth):
    report_id = open_report(client, auth)
    file_id = upload_ok(client, auth, report_id, demo_jpeg(12))
    document = file_details(report_id, file_id).encode()
    block_vault_for(balise, document)
    r = fileinfo(client, auth, document)
    assert r.status_code == 500 and code(r) == 1300
    with balise.db.sessions() as session:
        assert session.get(IspwsFile, file_id).details_object is None


def test_unreachable_database_is_1000_quoting_the_request_id(tmp_path):
    app = Balise(make_settings(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none"))
    try:
        with TestClient(create_app(app)) as c:
            r = c.get("/ispws/status", headers=basic("ispws-000000000000", "DEMO"))
        assert r.status_code == 500 and code(r) == 1000
        assert description(r) == f"Server error: quote Request-ID {r.headers['request-id']} when reporting it"
    finally:
        app.close()
