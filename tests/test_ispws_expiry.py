"""Unfinished /ispws reports are deleted at max(24 h after opening, 1 h after the last change)
by the durable job queue, with their XML and files; finished reports and content another
record still uses are kept. Time is Balise's injected clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, IspwsFile, IspwsReport, Job, MediaDerivative, VaultObject
from balise.container import Balise
from balise.web.app import create_app
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
    rich_report,
    upload,
    upload_ok,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, **delta: float) -> None:
        self.now = T0 + timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(settings, clock) -> Iterator[tuple[Balise, TestClient, dict[str, str]]]:
    app = Balise(settings, clock=clock)
    _, user, password = make_ispws_provider(app)
    with TestClient(create_app(app)) as c:
        yield app, c, basic(user, password)
    app.close()


def state(app: Balise, report_id: int) -> str:
    with app.db.sessions() as session:
        return session.get(IspwsReport, report_id).state


def vault_objects(app: Balise) -> set[str]:
    with app.db.sessions() as session:
        rows = set(session.execute(select(VaultObject.sha256)).scalars())
    on_disk = {p.stem for p in app.settings.vault_path.rglob("*.blv")}
    assert rows == on_disk, "vault records and encrypted files disagree"
    return rows


def test_deleted_24_hours_after_opening_with_its_xml_and_files(timed, clock):
    app, c, auth = timed
    report_id = open_report(c, auth, rich_report())
    file_id = upload_ok(c, auth, report_id, demo_jpeg(31))
    assert code(fileinfo(c, auth, file_details(report_id, file_id))) == 0
    assert len(vault_objects(app)) == 3

    clock.at(hours=23, minutes=59)
    app.run_jobs()
    assert state(app, report_id) == "open"

    clock.at(hours=24)
    app.run_jobs()
    assert state(app, report_id) == "expired"
    assert vault_objects(app) == set()
    with app.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsFile)).scalar_one() == 0
        row = session.get(IspwsReport, report_id)
        assert row.document_object is None and row.closed_at == T0 + timedelta(hours=24)
        events = [e for e, in session.execute(select(AuditRecord.event_type).order_by(AuditRecord.seq))]
        assert events.count("media:delete") == 3 and events[-1] == "ispws:report_expire"

    r = finish(c, auth, report_id)
    assert r.status_code == 404 and code(r) == 5001
    assert "was deleted unfinished at its deadline" in description(r)


def test_a_late_change_moves_the_deadline_to_one_hour_after_it(timed, clock):
    app, c, auth = timed
    report_id = open_report(c, auth)
    clock.at(hours=23, minutes=30)
    upload_ok(c, auth, report_id, demo_jpeg(32))

    clock.at(hours=24)
    app.run_jobs()
    assert state(app, report_id) == "open"
    with app.db.sessions() as session:
        pending = session.execute(select(Job).where(Job.kind == "ispws.expire", Job.status == "pending")).scalar_one()
        assert pending.run_at == T0 + timedelta(hours=24, minutes=30)

    clock.at(hours=24, minutes=29)
    app.run_jobs()
    assert state(app, report_id) == "open"
    clock.at(hours=24, minutes=30)
    app.run_jobs()
    assert state(app, report_id) == "expired"


def test_after_the_deadline_requests_are_5001_even_before_the_job_ran(timed, clock):
    app, c, auth = timed
    report_id = open_report(c, auth)
    clock.at(hours=24, seconds=1)
    r = upload(c, auth, report_id, demo_jpeg(33))
    assert r.status_code == 404 and code(r) == 5001
    assert description(r) == f"Report does not exist: report {report_id} passed its deadline unfinished and is being deleted"
    app.run_jobs()
    assert state(app, report_id) == "expired"


def test_finished_reports_are_never_deleted(timed, clock):
    app, c, auth = timed
    report_id = open_report(c, auth)
    upload_ok(c, auth, report_id, demo_jpeg(34))
    clock.at(hours=1)
    assert code(finish(c, auth, report_id)) == 0
    # Hashing keeps the blurred view's small source beside the picture; both stay.
    app.run_jobs()
    kept = vault_objects(app)
    assert len(kept) == 3
    clock.at(hours=72)
    app.run_jobs()
    assert state(app, report_id) == "finished"
    assert vault_objects(app) == kept


def test_content_a_finished_report_also_holds_stays_in_the_vault(timed, clock):
    app, c, auth = timed
    image = demo_jpeg(35)
    finished = open_report(c, auth)
    upload_ok(c, auth, finished, image)
    assert code(finish(c, auth, finished)) == 0
    # The same XML document and the same picture, in a report that is never finished.
    abandoned = open_report(c, auth)
    file_id = upload_ok(c, auth, abandoned, image)
    details = file_details(abandoned, file_id)
    assert code(fileinfo(c, auth, details)) == 0
    clock.at(hours=25)
    app.run_jobs()
    assert state(app, abandoned) == "expired"
    remaining = vault_objects(app)
    assert hashlib.sha256(image).hexdigest() in remaining
    assert hashlib.sha256(details.encode()).hexdigest() not in remaining
    # The shared XML document, the shared picture and the blurred view's source kept at hashing.
    with app.db.sessions() as session:
        sources = set(session.execute(select(MediaDerivative.derivative)).scalars())
    assert len(sources) == 1 and sources <= remaining
    assert len(remaining - sources) == 2
