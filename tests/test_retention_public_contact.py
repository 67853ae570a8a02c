"""A public reporter's optional name, email and IP address: shown to analysts only through an
audited action that states its purpose, deleted 30 days after the report is closed (and at the
latest a year after filing, even if the report is still open), and afterwards shown as deleted
with the date. The reporter's number and secret keep working for the status."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, PublicReport, Report
from balise.domain.retention import Rule
from balise.intake.public_reports import PublicReports
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in
from tests.public_support import lookup, receipt, status_text, stored, submit
from tests.retention_support import app_on_clock, close_unfounded
from tests.takedown_support import Clock

NAME, EMAIL = "DEMO Reporter Name", "demo-reporter@example.test"


def _file(app) -> tuple[uuid.UUID, str, str]:
    with TestClient(create_app(app)) as client:
        r = submit(client, "en", url="https://benign.example.test/r", keep_ip="yes", name=NAME, email=EMAIL)
        number, secret = receipt(r.text)
    row, report = stored(app, number)
    assert (row.reporter_name, row.reporter_email, row.reporter_ip) == (NAME, EMAIL, "testclient")
    app.run_jobs()
    return report.id, number, secret


def _contact(app, report_id):
    with app.db.sessions() as s:
        row = s.get(PublicReport, report_id)
        return row.reporter_name, row.reporter_email, row.reporter_ip, row.contact_deleted_at


def _events(app, event_type):
    with app.db.sessions() as s:
        return s.execute(select(AuditRecord).where(AuditRecord.event_type == event_type)).scalars().all()


def test_the_contact_is_deleted_30_days_after_the_report_is_closed(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    report_id, _, _ = _file(app)
    close_unfounded(app, report_id)
    app.run_jobs()
    clock.advance(days=29, hours=23)
    app.retention.run()
    assert _contact(app, report_id)[:3] == (NAME, EMAIL, "testclient")
    clock.advance(hours=2)
    result = app.retention.run()
    assert result.contacts[Rule.PUBLIC_CONTACT] == [str(report_id)]
    assert _contact(app, report_id) == (None, None, None, clock.now)
    [event] = _events(app, "reporter:contact_delete")
    assert (event.subject_id, event.details["rule"], event.details["fields"]) == \
        (str(report_id), "public_contact", ["name", "email", "ip"])
    assert NAME not in str(event.details) and EMAIL not in str(event.details)
    # The report itself is kept whole until its own retention (90 days for unfounded).
    assert not [ids for ids in result.redacted.values() if ids]
    app.close()


def test_an_open_report_loses_the_contact_a_year_after_filing(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    report_id, _, _ = _file(app)
    clock.advance(days=364)
    app.retention.run()
    assert _contact(app, report_id)[0] == NAME
    [ceiling] = [r for r in app.retention.status().rules if r.rule is Rule.PUBLIC_CONTACT_MAX]
    assert ceiling.due_now == 0 and ceiling.next_due is not None
    clock.advance(days=1, seconds=1)
    assert [r for r in app.retention.status().rules if r.rule is Rule.PUBLIC_CONTACT_MAX][0].due_now == 1
    result = app.retention.run()
    assert result.contacts[Rule.PUBLIC_CONTACT_MAX] == [str(report_id)]
    assert _contact(app, report_id) == (None, None, None, clock.now)
    app.close()


def test_analysts_see_the_contact_only_by_an_audited_action_with_a_purpose(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    report_id, _, _ = _file(app)
    make_user(app, "ana", "analyst")
    with TestClient(create_app(app)) as client:
        sign_in(client, app, "ana")
        page = client.get(f"/ui/reports/{report_id}").text
        # The report page says a contact exists; it does not show it.
        assert "Show reporter contact" in page and NAME not in page and EMAIL not in page
        token = csrf_token(page)
        refused = client.post(f"/ui/reports/{report_id}/reporter-contact", data={"csrftoken": token, "purpose": " "},
                              follow_redirects=False)
        assert refused.status_code == 303 and "Say+why" in refused.headers["location"]
        assert _events(app, "reporter:contact_read") == []
        shown = client.post(f"/ui/reports/{report_id}/reporter-contact",
                            data={"csrftoken": token, "purpose": "DEMO: call back the reporter for the URL"})
        assert shown.status_code == 200 and shown.headers["cache-control"].startswith("no-store")
        assert NAME in shown.text and EMAIL in shown.text and "testclient" in shown.text
        [event] = _events(app, "reporter:contact_read")
        assert (event.subject_id, event.purpose, event.details) == \
            (str(report_id), "DEMO: call back the reporter for the URL", {"fields": ["name", "email", "ip"]})
        assert event.actor_type == "staff"

        close_unfounded(app, report_id)
        app.run_jobs()
        clock.advance(days=31)
        app.retention.run()
        sign_in(client, app, "ana")  # the session ran out while the clock moved
        page = client.get(f"/ui/reports/{report_id}").text
        assert f"were deleted by retention on {clock.now:%Y-%m-%d}" in page and "Show reporter contact" not in page
        after = client.post(f"/ui/reports/{report_id}/reporter-contact",
                            data={"csrftoken": csrf_token(page), "purpose": "DEMO: look again"})
        assert f"were deleted by retention on {clock.now:%Y-%m-%d}" in after.text and NAME not in after.text
        assert len(_events(app, "reporter:contact_read")) == 1  # nothing was shown, nothing to record
    app.close()


@pytest.mark.parametrize("role", ["admin", "auditor", "le-liaison"])
def test_other_roles_cannot_see_the_contact(tmp_path, db_url, role):
    app = app_on_clock(tmp_path, db_url, Clock())
    report_id, _, _ = _file(app)
    make_user(app, "other", role)
    with TestClient(create_app(app)) as client:
        sign_in(client, app, "other")
        token = csrf_token(client.get("/ui/settings").text)
        r = client.post(f"/ui/reports/{report_id}/reporter-contact", data={"csrftoken": token, "purpose": "DEMO look"})
        assert r.status_code == 403 and NAME not in r.text
    assert _events(app, "reporter:contact_read") == []
    app.close()


def test_after_redaction_the_reporter_still_sees_the_status_but_adds_nothing(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    report_id, number, secret = _file(app)
    close_unfounded(app, report_id)
    app.run_jobs()
    with TestClient(create_app(app)) as client:
        assert 'name="token"' in lookup(client, number, secret).text  # closed, but text can still be added
    clock.advance(days=91)
    app.retention.run()
    with app.db.sessions() as s:
        assert s.get(PublicReport, report_id).contact_deleted_at is not None
    with TestClient(create_app(app)) as client:
        page = lookup(client, number, secret)
        assert status_text(page.text) == "Closed" and 'name="token"' not in page.text  # no add-information form
    # Even a signed token from before the redaction adds nothing to the skeleton.
    service = PublicReports(app.intake, app.audit, app.db.sessions, app.clock, app.settings.secret_key.get_secret_value())
    found, added = service.add_information_by_number(number, "DEMO late addition")
    assert (found.additions_left, added) == (0, False)
    with app.db.sessions() as s:
        assert s.get(Report, report_id).additional_info is None
    app.close()
