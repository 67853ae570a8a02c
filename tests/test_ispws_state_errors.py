"""Requests that do not fit the report's state: unknown report (5001) or file (5002), a report
already retracted (5101) or finished (5102), details sent twice. Each leaves things as they were. The reports and file details are
documents written from NCMEC's schema with every element present."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsFile, IspwsReport, Report
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    description,
    generated,
    generated_details,
    fileinfo,
    finish,
    make_ispws_provider,
    open_report,
    retract,
    upload,
    upload_ok,
)


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def counts(balise) -> tuple[int, int]:
    with balise.db.sessions() as session:
        return (session.execute(select(func.count()).select_from(IspwsFile)).scalar_one(),
                session.execute(select(func.count()).select_from(Report)).scalar_one())


def test_upload_before_any_submit_is_5001(client, balise, auth):
    r = upload(client, auth, 4242, demo_jpeg(1))
    assert r.status_code == 404 and code(r) == 5001
    assert description(r) == "Report does not exist: there is no report 4242"
    assert counts(balise) == (0, 0)
    assert not list(balise.settings.vault_path.rglob("*.blv"))


def test_finish_and_retract_of_an_unknown_report_are_5001(client, auth):
    assert code(finish(client, auth, 77)) == 5001
    assert code(retract(client, auth, 77)) == 5001


def test_finishing_twice_is_5102_and_files_nothing_more(client, balise, auth):
    report_id = open_report(client, auth, generated())
    upload_ok(client, auth, report_id, demo_jpeg(2))
    assert code(finish(client, auth, report_id)) == 0
    again = finish(client, auth, report_id)
    assert again.status_code == 409 and code(again) == 5102
    assert description(again) == f"Report already finished: report {report_id} is already finished"
    assert counts(balise) == (1, 1)


def test_a_finished_report_takes_no_upload_details_or_retraction(client, balise, auth):
    report_id = open_report(client, auth, generated())
    file_id = upload_ok(client, auth, report_id, demo_jpeg(3))
    assert code(finish(client, auth, report_id)) == 0
    assert code(upload(client, auth, report_id, demo_jpeg(4))) == 5102
    assert code(fileinfo(client, auth, generated_details(report_id, file_id))) == 5102
    assert code(retract(client, auth, report_id)) == 5102
    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, report_id)
        assert staged.state == "finished" and len(staged.files) == 1 and staged.files[0].details_object is None


def test_a_retracted_report_takes_nothing_more(client, balise, auth):
    report_id = open_report(client, auth, generated())
    file_id = upload_ok(client, auth, report_id, demo_jpeg(5))
    assert code(retract(client, auth, report_id)) == 0
    for r in (upload(client, auth, report_id, demo_jpeg(6)), fileinfo(client, auth, generated_details(report_id, file_id)),
              finish(client, auth, report_id), retract(client, auth, report_id)):
        assert r.status_code == 409 and code(r) == 5101, r.text
        assert description(r) == f"Report already retracted: report {report_id} was retracted"
    assert counts(balise) == (0, 0)


def test_details_for_an_unknown_file_are_5002(client, balise, auth):
    report_id = open_report(client, auth, generated())
    r = fileinfo(client, auth, generated_details(report_id, "0123456789abcdef0123456789abcdef"))
    assert r.status_code == 404 and code(r) == 5002
    assert description(r) == "File does not exist: there is no file 0123456789abcdef0123456789abcdef"


def test_details_naming_a_file_of_another_of_my_reports_are_5002(client, auth):
    first = open_report(client, auth, generated())
    file_id = upload_ok(client, auth, first, demo_jpeg(7))
    second = open_report(client, auth, generated())
    r = fileinfo(client, auth, generated_details(second, file_id))
    assert code(r) == 5002 and f"file {file_id} is not part of report {second}" in description(r)


def test_details_sent_twice_are_refused_and_the_first_kept(client, balise, auth):
    report_id = open_report(client, auth, generated())
    file_id = upload_ok(client, auth, report_id, demo_jpeg(8))
    assert code(fileinfo(client, auth, generated_details(report_id, file_id, values={"industryClassification": "A1"}))) == 0
    with balise.db.sessions() as session:
        kept = session.get(IspwsFile, file_id).details_object
    r = fileinfo(client, auth, generated_details(report_id, file_id, values={"industryClassification": "B2"}))
    assert r.status_code == 409 and code(r) == 4000
    assert f"the details of file {file_id} were already sent" in description(r)
    with balise.db.sessions() as session:
        assert session.get(IspwsFile, file_id).details_object == kept
