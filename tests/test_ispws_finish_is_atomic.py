"""Finishing files the report and closes the staged report in one transaction: a file that
arrives, or a retraction that happens, while the report is being filed leaves no filed report
behind. The interleaving is made deterministic by running the other request, for real, between
the mapping and the filing."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsReport, Report
from balise.domain.ispws import IspwsError
from balise.intake.ispws import IspwsService
from tests.ispws_support import basic, demo_jpeg, make_ispws_provider, open_report, upload_ok


class Interleaved:
    """Balise's intake, with another request run just before the files are prepared."""

    def __init__(self, intake, before: Callable[[], None]) -> None:  # type: ignore[no-untyped-def]
        self._intake = intake
        self._before = before

    def prepare_files(self, report, files):  # type: ignore[no-untyped-def]
        self._before()
        return self._intake.prepare_files(report, files)

    def file(self, **kwargs):  # type: ignore[no-untyped-def]
        return self._intake.file(**kwargs)


def service_with(balise, before: Callable[[], None]) -> IspwsService:
    return IspwsService(audit=balise.audit, evidence=balise.evidence, intake=Interleaved(balise.intake, before),
                        jobs=balise.jobs, new_session=balise.db.sessions, read_epoch=balise.credential_epoch,
                        clock=balise.clock,
                        max_items=balise.settings.max_items_per_report, max_file_bytes=balise.settings.max_file_bytes)


def filed_reports(balise) -> int:
    with balise.db.sessions() as session:
        return session.execute(select(func.count()).select_from(Report)).scalar_one()


@pytest.fixture
def opened(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth)
    upload_ok(client, auth, report_id, demo_jpeg(21))
    return balise.ispws.authenticate(user, password), report_id


def test_a_file_arriving_during_finish_files_nothing_and_finish_can_be_repeated(balise, opened):
    principal, report_id = opened
    service = service_with(balise, lambda: balise.ispws.upload(principal, report_id, io.BytesIO(demo_jpeg(22)),
                                                               "late.jpg", "image/jpeg"))
    with pytest.raises(IspwsError) as refused:
        service.finish(principal, report_id)
    assert refused.value.code == 1300 and refused.value.http_status == 409
    assert "changed while it was being finished" in refused.value.detail
    assert filed_reports(balise) == 0
    _, file_ids = balise.ispws.finish(principal, report_id)
    assert len(file_ids) == 2 and filed_reports(balise) == 1


def test_a_retraction_during_finish_wins_and_nothing_is_filed(balise, opened):
    principal, report_id = opened
    service = service_with(balise, lambda: balise.ispws.retract(principal, report_id))
    with pytest.raises(IspwsError) as refused:
        service.finish(principal, report_id)
    assert refused.value.code == 5101
    assert filed_reports(balise) == 0
    with balise.db.sessions() as session:
        assert session.get(IspwsReport, report_id).state == "retracted"


def test_a_report_intake_refuses_at_finish_stays_open_with_1300(client, balise, settings, opened):
    from balise.container import Balise

    principal, report_id = opened
    # The operator lowered the file size limit after the upload: intake now refuses the file.
    stricter = Balise(settings.model_copy(update={"max_file_bytes": 100}))
    try:
        with pytest.raises(IspwsError) as refused:
            stricter.ispws.finish(principal, report_id)
    finally:
        stricter.close()
    assert refused.value.code == 1300 and refused.value.http_status == 422
    assert "file part 'file0' has" in refused.value.detail and "the limit is 100; it stays open" in refused.value.detail
    assert filed_reports(balise) == 0
    with balise.db.sessions() as session:
        assert session.get(IspwsReport, report_id).state == "open"
    assert balise.ispws.finish(principal, report_id)[0] == report_id
