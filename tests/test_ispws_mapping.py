"""How a CyberTipline report becomes an Annex III report (docs/ncmec-api.md, "Mapping"):
incident type, urgency, internet details, persons with typed identifiers, victims, file
details, the provider's classification suggestion, earlier CyberTipline reports kept on the
persons they are about — and the original XML kept byte for byte."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from lxml import etree
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, IspwsFile, IspwsReport, Report
from balise.domain.indicators import Algorithm, IndicatorKind
from tests.helpers import auth as bearer
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    every_element,
    file_details,
    fileinfo,
    finish,
    make_ispws_provider,
    minimal_report,
    open_report,
    rich_report,
    submit,
    upload_ok,
)
from tests.media_hash_support import known_copy


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def filed(client, balise, auth, document: str, images: list[bytes], details: bool = True) -> tuple[int, Report]:
    report_id = open_report(client, auth, document)
    for n, image in enumerate(images):
        file_id = upload_ok(client, auth, report_id, image, f"image{n}.jpg")
        if details and n == 0:
            assert code(fileinfo(client, auth, file_details(report_id, file_id))) == 0
    assert code(finish(client, auth, report_id)) == 0
    with balise.db.sessions() as session:
        report = session.get(Report, session.get(IspwsReport, report_id).report_id)
        report.items, report.persons  # noqa: B018 - load before the session closes
        for person in report.persons:
            person.identifiers  # noqa: B018
        return report_id, report


def identifiers(person) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(i.type, i.value, i.observed_at, i.port, i.event) for i in person.identifiers]


def test_rich_report_fields(client, balise, auth):
    _, report = filed(client, balise, auth, rich_report(), [demo_jpeg(51), demo_jpeg(52)])
    assert report.report_type == "new_csam"  # no indicator matched the files
    assert report.urgent and report.imminent_threat
    assert report.service_type == "hosting"  # the first internetDetails is a web page
    assert report.provider_reported_at is not None and report.provider_signature is None
    assert report.provider_contact == {"contact_point": {"name": "Tess Safety", "email": "trust-safety@platform.example.test",
                                                         "phone": "+33 1 00 00 00 00"}}
    assert report.user_decision == "terminate"
    # priorCTReports are earlier CyberTipline reports about the user, not a reference of this
    # incident at NCMEC: the schema has no way to say this incident was reported there too.
    assert (report.reported_elsewhere, report.reported_elsewhere_body, report.reported_elsewhere_reference) == (
        None, None, None)
    assert report.awareness_source is None and report.content_removed is None
    assert report.victims == [{"age_band": "7-12", "location": "Lyon, FR"}, {"age_band": "0-2"}]
    assert report.geolocation == {"latitude": 48.8566, "longitude": 2.3522}
    for line in ("Incident type: Child Pornography (possession, manufacture, and distribution)",
                 "Platform: DEMO Photos", "Report annotations: sextortion, csamSolicitation",
                 "Escalated to high priority: DEMO: the uploader says he is meeting the child tonight",
                 "URLs that are not http(s) (kept here, not as items): photos.example.test/no-scheme",
                 "Internet details: chatImIncident — chatClient: DEMO Chat; chatRoomName: demo-room",
                 "Additional information: DEMO: everything in this report is made up for tests."):
        assert line in report.additional_info, line


def test_persons_and_their_typed_identifiers(client, balise, auth):
    _, report = filed(client, balise, auth, rich_report(), [])
    roles = [(p.role, p.display_name, (p.details or {}).get("ncmec_role")) for p in report.persons]
    assert roles == [
        ("reported_user", "Demo U.", "personOrUserReported"),
        ("other", "Billing account", "associatedAccount"),
        ("other", "demo_recipient", "intendedRecipient"),
        ("victim", "demo_child", "victim"),
        ("victim", None, "victim"),
        ("other", "peer2peerIncident (internetDetails 3)", "internetDetails"),
        ("other", "cellPhoneIncident (internetDetails 4)", "internetDetails"),
    ]
    reported, account, recipient, child, _, p2p, phone = report.persons
    utc = timezone.utc
    assert identifiers(reported) == [
        ("email", "uploader@example.test", None, None, None),
        ("other", "email: not-an-email-address", None, None, None),
        ("phone", "+33 6 00 00 00 02", None, None, None),
        ("user_id", "user-0042", None, None, None),
        ("username", "demo_uploader", None, None, None),
        ("profile_url", "https://photos.example.test/u/demo_uploader", None, None, None),
        ("ip", "192.0.2.10", datetime(2026, 11, 20, 5, 55, tzinfo=utc), 51515, "login"),
        ("ip", "2001:db8::7", datetime(2026, 11, 20, 7, 0, tzinfo=utc), None, "upload"),
        ("other", "ip: not-an-ip", None, None, None),  # no time zone given: the time stays in details
        ("other", "IMEI: DEMO-000000000000001", None, None, "login"),
    ]
    assert [i.observed_tz for i in reported.identifiers if i.type == "ip"] == ["+01:00", "+00:00"]
    assert reported.details["ncmec"]["ipCaptureEvent"][2] == {"ipAddress": "not-an-ip", "dateTime": "2026-11-20T07:00:00"}
    assert reported.details["ncmec"]["accountPermanentlyDisabled"]["@userNotified"] == "false"
    assert identifiers(account) == [("email", "billing@example.test", None, None, None),
                                    ("user_id", "pay-77", None, None, None)]
    assert account.details["associated_with_person"] == 0
    assert reported.details["prior_ct_reports"] == ["123456789", "123456790"]
    assert account.details["prior_ct_reports"] == ["123456791"]
    assert "prior_ct_reports" not in recipient.details and "prior_ct_reports" not in child.details
    assert identifiers(recipient) == [("email", "recipient@example.test", None, None, None),
                                      ("username", "demo_recipient", None, None, None)]
    assert child.details["ncmec"]["schoolName"] == "DEMO School"
    assert identifiers(p2p) == [("ip", "198.51.100.23", datetime(2026, 11, 20, 7, 0, tzinfo=utc), 6881, "upload")]
    assert identifiers(phone) == [("phone", "+33 6 00 00 00 01", None, None, None)]


def test_file_details_become_item_metadata_and_a_classification_suggestion(client, balise, auth):
    _, report = filed(client, balise, auth, rich_report(), [demo_jpeg(53), demo_jpeg(54)])
    first, second, *urls = report.items
    assert [u.url for u in urls] == ["https://photos.example.test/album/42", "https://photos.example.test/album/43"]
    assert first.filename == "DEMO_original.jpg" and first.url == "https://photos.example.test/p/1.jpg"
    meta = first.media_metadata
    assert meta["uploaded_at"] == "2026-11-20T07:00:00Z"
    assert meta["exif"] == {"Make": "DEMO Camera", "DateTimeOriginal": "2026:11:20 07:59:00"}
    assert meta["classification_suggestion"] == {"source": "provider (NCMEC fileDetails)", "ncmec_category": "A2",
                                                 "flags": ["generative_ai"], "youngest_age_band": "0-2"}
    ncmec = meta["ncmec"]
    assert ncmec["relevance"] == "Reported" and ncmec["annotations"] == ["generativeAi", "infant"]
    assert ncmec["original_file_hashes"] == [{"type": "MD5", "value": "0123456789abcdef0123456789abcdef"}]
    assert ncmec["file_details"]["ipCaptureEvent"]["ipAddress"] == "192.0.2.55"
    assert first.classification is None and first.outcome is None  # a suggestion, not an assessment
    assert second.filename == "image1.jpg" and set(second.media_metadata) == {"ncmec"}


def test_known_csam_when_every_file_matches_a_known_indicator(client, balise, auth):
    images = [demo_jpeg(55), demo_jpeg(56)]
    with balise.db.transaction() as session:
        for image in images:
            balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.MD5,
                                  value=hashlib.md5(image).hexdigest(), kind=IndicatorKind.KNOWN_CSAM,
                                  provenance={"source": "test", "reason": "DEMO indicator"})
    _, known = filed(client, balise, auth, minimal_report(), images, details=False)
    assert known.report_type == "known_csam"
    _, mixed = filed(client, balise, auth, minimal_report(), [images[0], demo_jpeg(57)], details=False)
    assert mixed.report_type == "new_csam"


def test_known_csam_once_a_file_known_only_by_its_picture_is_hashed(client, balise, auth):
    # A re-encoded copy: its bytes match nothing, its picture matches a known-CSAM indicator.
    report_id, report = filed(client, balise, auth, minimal_report(), [known_copy(balise, 61)], details=False)
    assert report.report_type == "new_csam" and report.items[0].hash_status == "pending"
    balise.run_jobs()
    with balise.db.sessions() as session:
        report = session.get(Report, report.id)
        assert report.items[0].matched and report.report_type == "known_csam"
        (retyped,) = session.execute(select(AuditRecord).where(AuditRecord.event_type == "ispws:report_retype")
                                     ).scalars().all()
    assert retyped.subject_id == str(report_id)
    assert retyped.details == {"report": str(report.id), "from": "new_csam", "to": "known_csam"}


def test_the_original_xml_is_kept_exactly_encrypted(client, balise, auth):
    document = rich_report().replace("<report>", "<report>\n  <!-- DEMO comment, kept as sent -->", 1).encode()
    report_id = open_report(client, auth, document)
    file_id = upload_ok(client, auth, report_id, demo_jpeg(59))
    details = file_details(report_id, file_id).encode()
    assert code(fileinfo(client, auth, details)) == 0
    assert code(finish(client, auth, report_id)) == 0
    with balise.db.transaction() as session:
        row = session.get(IspwsReport, report_id)
        staged = session.execute(select(IspwsFile)).scalar_one()
        read = Actor.system("test")
        assert balise.evidence.read_all(session, row.document_object, read, "test") == document
        assert balise.evidence.read_all(session, staged.details_object, read, "test") == details
    assert row.document_object == hashlib.sha256(document).hexdigest()
    on_disk = balise.settings.vault_path / row.document_object[:2] / row.document_object[2:4] / f"{row.document_object}.blv"
    assert b"DEMO comment" not in on_disk.read_bytes()


def test_a_document_with_every_element_of_the_schema_is_filed(client, balise, auth):
    r = submit(client, auth, etree.tostring(every_element("report"), xml_declaration=True, encoding="UTF-8"))
    assert code(r) == 0, r.text
    report_id = int(etree.fromstring(r.content).findtext("reportId"))
    file_id = upload_ok(client, auth, report_id, demo_jpeg(60))
    details = every_element("fileDetails")
    details.find("reportId").text, details.find("fileId").text = str(report_id), file_id
    assert code(fileinfo(client, auth, etree.tostring(details))) == 0
    assert code(finish(client, auth, report_id)) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        report = session.get(Report, session.get(IspwsReport, report_id).report_id)
        assert report.triaged_at is not None
        assert len(report.persons) >= 8 and len(report.victims) == 1


def test_provider_completes_the_missing_fields_through_the_json_api(client, balise):
    from tests.helpers import make_provider

    org_id, key = make_provider(balise, "DEMO Platform")
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, "DEMO Platform")
        issued = balise.ispws.issue_credential(session, Actor.system("test"), org)
    _, report = filed(client, balise, basic(issued.username, issued.password), rich_report(), [demo_jpeg(61)])
    balise.run_jobs()
    patch = {"signature": "DEMO signature", "awareness": {"source": "user_flag"}, "content_removed": True,
             "reported_elsewhere": {"reported": True, "body": "NCMEC CyberTipline", "reference": "DEMO-CT-1"}}
    r = client.patch(f"/api/v1/reports/{report.id}", json=patch, headers=bearer(key))
    assert r.status_code == 200, r.text
    balise.run_jobs()
    state = client.get(f"/api/v1/reports/{report.id}", headers=bearer(key)).json()
    assert state["state"] == "in_assessment" and state["missing_fields"] == []
