"""The CyberTipline flow through /ispws — submit, upload, fileinfo, finish — with a rich and a
minimal report, and with documents written from the schema for each kind of incident: every
answer has the schema's shape and a Request-ID, the files go to the encrypted vault, and the
finished report joins Balise's normal intake and triage."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IspwsFile, IspwsReport, Job, Report
from balise.domain.states import ReportState
from tests.ispws_support import (
    answer,
    basic,
    choice_alternatives,
    code,
    demo_jpeg,
    description,
    file_details,
    fileinfo,
    finish,
    generated,
    generated_details,
    make_ispws_provider,
    minimal_report,
    open_report,
    rich_report,
    submit,
    upload,
    upload_ok,
)


def test_status_echoes_the_remote_user_and_address(client, balise):
    _, user, password = make_ispws_provider(balise)
    r = client.get("/ispws/status", headers=basic(user, password))
    assert r.status_code == 200 and code(r) == 0
    assert description(r) == f"Remote User : {user}, Remote Ip : testclient"


def test_xsd_is_the_published_schema(client, balise):
    from balise.intake.ncmec import SCHEMA_PATH

    _, user, password = make_ispws_provider(balise)
    r = client.get("/ispws/xsd", headers=basic(user, password))
    assert r.status_code == 200 and r.headers["request-id"]
    assert r.content == SCHEMA_PATH.read_bytes()
    assert b'<xs:element name="reportDoneResponse">' in r.content


def test_rich_report_with_two_files_is_filed_and_triaged(client, balise):
    org_id, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    r = submit(client, auth, rich_report())
    assert r.status_code == 200 and code(r) == 0, r.text
    report_id = int(answer(r).findtext("reportId"))

    first, second = demo_jpeg(1), demo_jpeg(2)
    r = upload(client, auth, report_id, first, "first.jpg")
    assert r.status_code == 200 and code(r) == 0, r.text
    root = answer(r)
    assert root.findtext("reportId") == str(report_id)
    assert root.findtext("hash") == hashlib.md5(first).hexdigest()
    first_id = root.findtext("fileId")
    second_id = upload_ok(client, auth, report_id, second, "second.jpg")

    r = fileinfo(client, auth, file_details(report_id, first_id))
    assert r.status_code == 200 and code(r) == 0, r.text
    assert answer(r).findtext("fileId") == first_id

    with balise.db.sessions() as session:
        assert session.execute(select(Report)).first() is None  # staged: nothing in triage before finish

    r = finish(client, auth, report_id)
    assert r.status_code == 200, r.text
    done = answer(r)
    assert done.tag == "reportDoneResponse" and done.findtext("responseCode") == "0"
    assert done.findtext("reportId") == str(report_id)
    assert [f.text for f in done.find("files")] == [first_id, second_id]

    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, report_id)
        assert staged.state == "finished" and staged.closed_at is not None
        report = session.get(Report, staged.report_id)
        assert report.source == "ncmec_xml" and report.organisation_id == org_id
        media = [i for i in report.items if i.kind == "media"]
        assert [i.md5 for i in media] == [hashlib.md5(first).hexdigest(), hashlib.md5(second).hexdigest()]
        assert all(i.vault_object == i.sha256 for i in media)
        assert [i.url for i in report.items if i.kind == "url"] == ["https://photos.example.test/album/42",
                                                                    "https://photos.example.test/album/43"]
        files = session.execute(select(IspwsFile).order_by(IspwsFile.position)).scalars().all()
        assert [f.item_id for f in files] == [i.id for i in media]
        # The two pictures are hashed by jobs queued with the report; its triage waits for them.
        assert [i.hash_status for i in media] == ["pending", "pending"]
        hash_jobs = session.execute(select(Job).where(Job.kind == "media.hash").order_by(Job.id)).scalars().all()
        assert [j.payload for j in hash_jobs] == [{"report_id": str(report.id), "item_id": str(i.id)} for i in media]
        assert session.execute(select(Job).where(Job.kind == "report.triage")).first() is None

    balise.run_jobs()
    with balise.db.sessions() as session:
        report = session.get(Report, staged.report_id)
        assert session.execute(select(Job).where(Job.kind == "report.triage")).scalar_one().payload == {
            "report_id": str(report.id)}
        assert [i.hash_status for i in report.items if i.kind == "media"] == ["ok", "ok"]
        assert report.triaged_at is not None
        assert report.state == ReportState.INFORMATION_REQUESTED.value
        # The provider's signature, awareness and removal are not in the CyberTipline format,
        # nor whether this incident was also reported to NCMEC.
        assert report.missing_fields == ["signature", "reported_elsewhere", "awareness", "content_removed"]
        assert report.urgent and report.priority >= 100_000


def test_files_are_encrypted_in_the_vault_never_plain_on_disk(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth)
    content = demo_jpeg(3)
    upload_ok(client, auth, report_id, content)
    marker = content[200:264]
    files = [p for p in balise.settings.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".blv" for p in files)
    for path in files:
        assert marker not in path.read_bytes(), f"plaintext of the upload found in {path}"
    with balise.db.transaction() as session:
        stored = balise.evidence.read_all(session, hashlib.sha256(content).hexdigest(), Actor.system("test"), "test")
    assert stored == content


def test_minimal_report_without_files_is_filed_with_no_items(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth, minimal_report("Online Enticement of Children for Sexual Acts"))
    r = finish(client, auth, report_id)
    assert r.status_code == 200 and answer(r).find("files") is not None and len(answer(r).find("files")) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, report_id)
        report = session.get(Report, staged.report_id)
        assert report.items == [] and report.report_type == "solicitation"
        assert report.missing_fields == ["signature", "provider.contact_point", "user_decision", "reported_elsewhere",
                                         "awareness", "content_removed"]


def test_finish_accepts_the_id_as_multipart_too(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth)
    r = client.post("/ispws/finish", files={"id": (None, str(report_id))}, headers=auth)
    assert r.status_code == 200 and answer(r).findtext("reportId") == str(report_id)


def test_report_ids_are_integers_that_grow(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    first, second = open_report(client, auth), open_report(client, auth)
    assert second > first > 0


def test_the_analyst_opens_the_filed_report_in_the_workbench(client, balise):
    from tests.helpers import csrf_token, make_user, sign_in

    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth, rich_report())
    upload_ok(client, auth, report_id, demo_jpeg(9))
    assert code(finish(client, auth, report_id)) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        report_uuid = session.get(IspwsReport, report_id).report_id
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    queue = client.get("/ui/queue", params={"state": "information_requested", "source": "ncmec_xml"})
    assert str(report_uuid) in queue.text
    assert client.get(f"/ui/reports/{report_uuid}").status_code == 200
    # Not the claimant: the persons are shown once the analyst says why.
    page = client.post(f"/ui/reports/{report_uuid}/persons", data={"purpose": "check the reported accounts",
                                                                   "csrftoken": csrf_token(queue.text)})
    assert page.status_code == 200
    assert "uploader@example.test" in page.text and "192.0.2.10" in page.text
    # Earlier CyberTipline reports about the user and the associated account, on their persons.
    assert "Earlier CyberTipline reports: 123456789, 123456790" in page.text
    assert "Earlier CyberTipline reports: 123456791" in page.text


@pytest.mark.parametrize("incident", choice_alternatives()["internetDetails"])
def test_a_generated_report_of_each_incident_kind_is_filed_and_triaged(client, balise, incident):
    """The whole flow with documents written from the schema: one kind of internetDetails,
    every other element present, and both fileDetails alternatives on two files."""
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    r = submit(client, auth, generated(choose={"internetDetails": incident}))
    assert r.status_code == 200 and code(r) == 0, r.text
    report_id = int(answer(r).findtext("reportId"))
    file_ids = []
    for n, alternative in enumerate(choice_alternatives()["fileDetails"]):
        file_id = upload_ok(client, auth, report_id, demo_jpeg(20 + n), f"file{n}.jpg")
        r = fileinfo(client, auth, generated_details(report_id, file_id, choose={"fileDetails": alternative}))
        assert r.status_code == 200 and code(r) == 0, r.text
        file_ids.append(file_id)
    r = finish(client, auth, report_id)
    assert r.status_code == 200 and [f.text for f in answer(r).find("files")] == file_ids
    balise.run_jobs()
    with balise.db.sessions() as session:
        report = session.get(Report, session.get(IspwsReport, report_id).report_id)
        assert report.source == "ncmec_xml" and report.triaged_at is not None
        assert report.state == ReportState.INFORMATION_REQUESTED.value
        assert report.missing_fields == ["signature", "reported_elsewhere", "awareness", "content_removed"]
        assert report.report_type == "new_csam" and report.user_decision == "terminate"
        media = [i for i in report.items if i.kind == "media"]
        assert [i.media_metadata["ncmec"]["file_id"] for i in media] == file_ids
        assert all(i.media_metadata["classification_suggestion"]["ncmec_category"] == "A1" for i in media)
