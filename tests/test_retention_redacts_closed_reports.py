"""A closed report whose retention has passed is redacted: its persons, texts, URLs, file names,
vault content, notice texts, local notice copies, evidence package files and NCMEC documents
are deleted, and the row stays as a statistical skeleton that the staff page, the provider API
and the transparency figures still read. Each redaction is audited without the data, and the
audit chain still verifies."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    AuditRecord,
    EvidencePackage,
    IspwsReport,
    Item,
    Jurisdiction,
    Notice,
    Organisation,
    Person,
    PersonIdentifier,
    Report,
    ReportEvent,
    Takedown,
    UrlHosting,
    VaultObject,
)
from balise.domain.model import Scope
from balise.takedown.takedowns import ntd_stats
from balise.web.app import create_app
from tests.helpers import auth, make_provider, sign_in
from tests.ispws_support import basic, demo_jpeg, finish, make_ispws_provider, open_report, rich_report, upload_ok
from tests.retention_support import (
    PERSONAL,
    analyst,
    app_on_clock,
    cli,
    close_unfounded,
    file_media_report,
    picture,
    vault_file,
)
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)


def _redacted(result, rule: str) -> list[str]:
    return next(ids for r, ids in result.redacted.items() if r.value == rule)


def _audit(app, event_type: str) -> list[AuditRecord]:
    with app.db.sessions() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == event_type)
                              .order_by(AuditRecord.seq)).scalars())


def test_a_report_closed_manifestly_unfounded_is_redacted_to_a_skeleton_after_its_retention(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(11))
    app.run_jobs()  # triage: complete, into the queue
    close_unfounded(app, report_id)
    app.run_jobs()  # the provider's feedback notice goes to the outbox
    with app.db.sessions() as s:
        report = s.get(Report, report_id)
        [item] = report.items
        sha, md5, pdq = item.vault_object, item.md5, (item.hashes or {}).get("pdq")
        [notice] = s.execute(select(Notice).where(Notice.report_id == report_id)).scalars().all()
        reference = notice.reference
    outbox = app.settings.data_dir / "outbox" / f"{reference}.eml"
    assert sha and vault_file(app, sha).exists() and outbox.exists() and pdq

    # One hour before the 90 days have passed, nothing is touched.
    clock.advance(days=89, hours=23)
    result = app.retention.run()
    assert result.redacted == {r: [] for r in result.redacted}
    with app.db.sessions() as s:
        assert s.get(Report, report_id).redacted_at is None
        assert s.execute(select(func.count()).select_from(Person)).scalar() == 1

    clock.advance(hours=2)
    result = app.retention.run()
    assert [r.value for r, ids in result.redacted.items() if ids] == ["unfounded"]
    assert _redacted(result, "unfounded") == [str(report_id)]

    with app.db.sessions() as s:
        report = s.get(Report, report_id)
        # The skeleton: what CSAR Art. 83 figures count.
        assert report.redacted_at == clock.now
        assert (report.source, report.state, report.outcome, report.report_type, report.service_type,
                report.urgent) == ("provider_api", "manifestly_unfounded", "manifestly_unfounded", "known_csam", "hosting", False)
        assert [r["code"] for r in report.outcome_reasons] == ["adult_content", "other"]
        assert report.organisation_id is not None and report.decided_at is not None
        # Personal data and free text: gone.
        assert (report.victims, report.geolocation, report.provider_contact, report.additional_info,
                report.outcome_text, report.service_url, report.provider_signature) == (None,) * 7
        assert s.execute(select(func.count()).select_from(Person)).scalar() == 0
        assert s.execute(select(func.count()).select_from(PersonIdentifier)).scalar() == 0
        # The item keeps its hashes (duplicate statistics), loses its name, metadata and content.
        [item] = report.items
        assert (item.md5, (item.hashes or {}).get("pdq"), item.times_reported) == (md5, pdq, 1)
        assert (item.filename, item.media_metadata, item.vault_object, item.url) == (None, None, None, None)
        # Transitions stay with their times; their free-text reasons do not.
        events = s.execute(select(ReportEvent).where(ReportEvent.report_id == report_id)
                           .order_by(ReportEvent.id)).scalars().all()
        assert [e.to_state for e in events][-1] == "manifestly_unfounded"
        assert all(e.reason is None for e in events)
        notice = s.execute(select(Notice).where(Notice.report_id == report_id)).scalar_one()
        marker = f"[redacted by retention on {clock.now:%Y-%m-%d}]"
        assert (notice.subject, notice.body, notice.recipient) == (marker, marker, None)
        assert (notice.reference, notice.kind, notice.status) == (reference, "provider_feedback", "sent")
        assert notice.sent_at is not None
        assert s.get(VaultObject, sha) is None
    # Content gone from the disk, and the outbox copy of the notice too.
    assert not vault_file(app, sha).exists()
    assert not outbox.exists()

    [redact] = _audit(app, "report:redact")
    assert redact.subject_id == str(report_id) and redact.details["rule"] == "unfounded"
    assert redact.details["retention_days"] == 90
    assert redact.details["removed"]["persons"] == 1 and redact.details["removed"]["person_identifiers"] == 2
    assert redact.details["removed"]["vault_objects"] == 1 and redact.details["removed"]["notice_files"] == 1
    assert redact.details["removed"]["victims"] == 1
    # The trail names what was removed, never the data itself.
    trail = json.dumps([{"purpose": r.purpose, "details": r.details} for r in _audit(app, "report:redact")
                        + _audit(app, "retention:run") + _audit(app, "media:delete")])
    assert not [value for value in PERSONAL if value in trail]
    # The original and the blurred source kept for it at hashing (docs/workbench.md) go together.
    deleted = [r.subject_id for r in _audit(app, "media:delete")]
    assert sha in deleted and len(deleted) == 2
    runs = _audit(app, "retention:run")
    assert len(runs) == 2 and runs[-1].details["reports_redacted"]["unfounded"] == 1

    # `balise audit verify` still finds the chain intact (redaction never edits the trail).
    verified = cli(app, "audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout + verified.stderr

    with TestClient(create_app(app)) as client:
        # The provider still reads the status and the outcome.
        status = client.get(f"/api/v1/reports/{report_id}", headers=auth(key)).json()
        assert (status["state"], status["outcome"], status["redacted_at"]) == \
            ("manifestly_unfounded", "manifestly_unfounded", clock.now.isoformat())
        assert status["outcome_text"] is None and status["items"][0]["md5"] == md5
        # Staff see that the report was redacted, not a page of empty fields.
        analyst(app, "ana")
        sign_in(client, app, "ana")
        page = client.get(f"/ui/reports/{report_id}").text
        assert f"Redacted by retention on {clock.now:%Y-%m-%d}" in page
        assert f"redacted by retention on {clock.now:%Y-%m-%d}" in page
        assert not [value for value in PERSONAL if value in page]


def _forwarded_and_removed(tmp_path, db_url, clock, box, site):
    """A URL report forwarded to police (signed packages on the export channel) and a host
    notice by e-mail; the host removes the picture and the removal check sees it."""
    app = routing_app(tmp_path, db_url, clock, box.port)
    with app.db.transaction() as s:
        app.partners.seed(s, Actor.system("test"))
    url = site.serve("/gallery/9.jpg", reencoded(known_picture(app)))
    report_id = file_url_report(app, url)
    app.run_jobs()
    forward(app, report_id)
    app.run_jobs()
    site.take_down("/gallery/9.jpg")
    clock.advance(hours=1, minutes=1)
    app.run_jobs()
    return app, report_id, url


def test_a_forwarded_report_keeps_its_package_records_and_figures_but_not_the_files(tmp_path, db_url):
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app, report_id, url = _forwarded_and_removed(tmp_path, db_url, clock, box, site)
        with app.db.sessions() as s:
            packages = s.execute(select(EvidencePackage).where(EvidencePackage.report_id == report_id)).scalars().all()
            paths = [Path(p.path) for p in packages]
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            takedown = s.get(Takedown, item.id)
            assert takedown.status == "removed"
            legs = (takedown.received_at, takedown.host_notified_at, takedown.removed_at)
            figures = ntd_stats(s).as_dict()
            jurisdiction = s.get(Jurisdiction, report_id)
            countries = (jurisdiction.member_state, jurisdiction.hosted_countries, jurisdiction.uploaded_countries)
        exports = app.settings.exports_path / "notices"
        exported = sorted(p for p in exports.rglob("*") if p.is_file())
        assert len(paths) == 2 and all(p.exists() for p in paths) and exported

        clock.advance(days=729)
        assert _redacted(app.retention.run(), "forwarded") == []
        clock.advance(days=2)
        assert _redacted(app.retention.run(), "forwarded") == [str(report_id)]

        with app.db.sessions() as s:
            packages = s.execute(select(EvidencePackage).where(EvidencePackage.report_id == report_id)).scalars().all()
            # The record of each package and its custody log stay; the log says the file went.
            assert len(packages) == 2 and all(p.file_deleted_at == clock.now for p in packages)
            assert all(p.events[-1].kind == "deleted" and p.events[0].kind == "built" for p in packages)
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            takedown = s.get(Takedown, item.id)
            assert takedown.url == f"[redacted by retention on {clock.now:%Y-%m-%d}]"
            assert (takedown.received_at, takedown.host_notified_at, takedown.removed_at) == legs
            hosting = s.get(UrlHosting, item.id)
            assert (hosting.host, hosting.final_url, hosting.address, hosting.abuse_email) == (None,) * 4
            assert hosting.hosted_country == "NL"
            jurisdiction = s.get(Jurisdiction, report_id)
            assert (jurisdiction.member_state, jurisdiction.hosted_countries, jurisdiction.uploaded_countries) == countries
            # The notice-and-takedown figures read the same before and after.
            assert ntd_stats(s).as_dict() == figures
            assert item.url is None
            assert all(url not in (n.body + n.subject) for n in s.execute(select(Notice)).scalars())
        assert not [p for p in paths if p.exists()]
        # The exported copies of the police notices and their packages are gone as well.
        assert not [p for p in exports.rglob("*") if p.is_file()]
        deleted = _audit(app, "package:delete")
        assert sorted(e.subject_id for e in deleted) == sorted(str(p.id) for p in packages)
        with TestClient(create_app(app)) as client:
            sign_in(client, app, "demo-ana")
            page = client.get(f"/ui/reports/{report_id}").text
        # The routing panel keeps the countries and the legs, and marks the URL as redacted.
        assert url not in page and "abuse@demo-hosting.example" not in page
        assert f"<td class=\"text\">redacted by retention on {clock.now:%Y-%m-%d}</td>" in page and "NL" in page
        app.close()


def test_a_report_filed_through_the_ncmec_api_loses_its_original_xml_and_staged_files(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    org_id, username, password = make_ispws_provider(app)
    credentials = basic(username, password)
    with TestClient(create_app(app)) as client:
        staged_id = open_report(client, credentials, rich_report())
        upload_ok(client, credentials, staged_id, demo_jpeg(7))
        assert finish(client, credentials, staged_id).status_code == 200
    app.run_jobs()
    with app.db.sessions() as s:
        staged = s.get(IspwsReport, staged_id)
        report_id = staged.report_id
        objects = [staged.document_object] + [f.vault_object for f in staged.files]
        assert all(objects) and all(vault_file(app, o).exists() for o in objects)
        state = s.get(Report, report_id).state
    # A CyberTipline report lacks Annex III fields: the provider completes it through the API.
    assert state == "information_requested"
    with app.db.transaction() as s:
        org = s.get(Organisation, org_id)
        key = app.organisations.issue_key(s, Actor.system("test"), org, (Scope.REPORTS_WRITE,)).plaintext
    with TestClient(create_app(app)) as client:
        r = client.patch(f"/api/v1/reports/{report_id}", headers=auth(key), json={
            "signature": "DEMO-SIGNATURE", "awareness": {"source": "own_motion"}, "content_removed": True,
            "reported_elsewhere": {"reported": False}})
        assert r.status_code == 200, r.text
    app.run_jobs()
    close_unfounded(app, report_id)
    app.run_jobs()  # the provider's feedback notice is delivered (a pending one would keep the report)
    clock.advance(days=91)
    result = app.retention.run()
    assert _redacted(result, "unfounded") == [str(report_id)], {k.value: v for k, v in result.exempt.items()}
    with app.db.sessions() as s:
        staged = s.get(IspwsReport, staged_id)
        # The tombstone stays (its id is the provider's reportId), without document or files.
        assert (staged.state, staged.document_object, staged.files) == ("finished", None, [])
        assert s.get(Report, report_id).redacted_at == clock.now
        assert s.execute(select(func.count()).select_from(Person).where(Person.report_id == report_id)).scalar() == 0
    assert not [o for o in objects if vault_file(app, o).exists()]
    [redact] = _audit(app, "report:redact")
    assert redact.details["removed"]["ncmec_documents"] == 1 and redact.details["removed"]["ncmec_staged_files"] == 1
    app.close()
