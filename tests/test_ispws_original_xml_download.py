"""On the staff report page of a report filed through /ispws, analysts and law-enforcement
liaisons can download the original CyberTipline <report> and each <fileDetails>, byte for byte
as the provider sent them: only with a stated purpose, audited as media:read with it, as an
attachment that is never cached or sniffed. Other roles and other reports get nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, IspwsFile, IspwsReport
from balise.web.app import create_app
from tests.helpers import auth as bearer
from tests.helpers import csrf_token, make_provider, make_user, minimal_report, sign_in
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    file_details,
    fileinfo,
    finish,
    make_ispws_provider,
    rich_report,
    upload_ok,
)


@pytest.fixture
def filed(client, balise):
    """(Balise report id, CyberTipline report id, file id, the report bytes, the details bytes)."""
    _, user, password = make_ispws_provider(balise)
    ispws = basic(user, password)
    # Latin-1, as an older client may send it: the download must give these very bytes back.
    document = rich_report().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
        "DEMO: reported user", "DEMO: utilisateur signalé").encode("latin-1")
    r = client.post("/ispws/submit", content=document, headers={**ispws, "Content-Type": "text/xml"})
    assert code(r) == 0, r.text
    ct_id = int(r.text.split("<reportId>")[1].split("<")[0])
    file_id = upload_ok(client, ispws, ct_id, demo_jpeg(95))
    details = file_details(ct_id, file_id).encode()
    assert code(fileinfo(client, ispws, details)) == 0
    assert code(finish(client, ispws, ct_id)) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        report_id = session.get(IspwsReport, ct_id).report_id
    return report_id, ct_id, file_id, document, details


def reads(balise, sha256: str) -> list[AuditRecord]:
    with balise.db.sessions() as session:
        return list(session.execute(select(AuditRecord).where(
            AuditRecord.event_type == "media:read", AuditRecord.subject_id == sha256,
            AuditRecord.actor_type == "staff")).scalars())


def test_the_analyst_downloads_the_report_and_file_details_as_sent(client, balise, filed):
    report_id, ct_id, file_id, document, details = filed
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    page = client.get(f"/ui/reports/{report_id}")
    assert "Original CyberTipline XML" in page.text and f"CyberTipline report {ct_id}" in page.text
    token = csrf_token(page.text)
    r = client.post(f"/ui/reports/{report_id}/ncmec-xml",
                    data={"csrftoken": token, "document": "report", "purpose": "DEMO: check the uploader's details"})
    assert r.status_code == 200 and r.content == document
    assert r.headers["content-type"] == "application/xml"
    assert r.headers["content-disposition"] == f'attachment; filename="cybertipline-report-{ct_id}.xml"'
    assert r.headers["cache-control"] == "no-store, private" and r.headers["x-content-type-options"] == "nosniff"
    r = client.post(f"/ui/reports/{report_id}/ncmec-xml",
                    data={"csrftoken": token, "document": file_id, "purpose": "DEMO: EXIF as sent"})
    assert r.status_code == 200 and r.content == details
    assert f'file-details-{file_id}.xml"' in r.headers["content-disposition"]

    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, ct_id)
        details_object = session.get(IspwsFile, file_id).details_object
    [read] = reads(balise, staged.document_object)
    assert read.purpose == "DEMO: check the uploader's details"
    assert read.details == {"report": str(report_id), "ispws_report": ct_id, "document": "cybertipline_report"}
    [read] = reads(balise, details_object)
    assert read.purpose == "DEMO: EXIF as sent" and read.details["file_id"] == file_id


def test_no_purpose_no_download_and_nothing_logged(client, balise, filed):
    report_id, ct_id, *_ = filed
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    token = csrf_token(client.get(f"/ui/reports/{report_id}").text)
    r = client.post(f"/ui/reports/{report_id}/ncmec-xml", data={"csrftoken": token, "purpose": "   "},
                    follow_redirects=False)
    assert r.status_code == 303 and "Say+why" in r.headers["location"]
    with balise.db.sessions() as session:
        document_object = session.get(IspwsReport, ct_id).document_object
    assert reads(balise, document_object) == []


def test_an_unknown_document_or_a_report_from_another_channel_is_404(client, balise, filed):
    report_id, *_ = filed
    _, key = make_provider(balise, "DEMO JSON provider")
    other = client.post("/api/v1/reports", json=minimal_report(), headers=bearer(key)).json()["id"]
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    page = client.get(f"/ui/reports/{other}")
    assert page.status_code == 200 and "Original CyberTipline XML" not in page.text
    token = csrf_token(page.text)
    for target, document in ((other, "report"), (report_id, "0" * 32)):
        r = client.post(f"/ui/reports/{target}/ncmec-xml", data={"csrftoken": token, "document": document,
                                                                  "purpose": "DEMO"})
        assert r.status_code == 404 and "no such original CyberTipline document" in r.text


def test_without_the_csrf_token_nothing_is_served(client, balise, filed):
    report_id, *_ = filed
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    r = client.post(f"/ui/reports/{report_id}/ncmec-xml", data={"document": "report", "purpose": "DEMO"})
    assert r.status_code == 403 and b"<report>" not in r.content


@pytest.mark.parametrize(("role", "allowed"), [("analyst", True), ("senior-analyst", True), ("le-liaison", True),
                                               ("admin", False), ("auditor", False)])
def test_analysts_and_liaisons_may_download_others_may_not(balise, filed, role, allowed):
    report_id, _, _, document, _ = filed
    make_user(balise, "someone", role)
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "someone")
        token = csrf_token(c.get("/ui/").text)
        r = c.post(f"/ui/reports/{report_id}/ncmec-xml",
                   data={"csrftoken": token, "document": "report", "purpose": "DEMO: role check"})
    assert r.status_code == (200 if allowed else 403)
    assert (r.content == document) is allowed
