"""Each incidentType of NCMEC's schema becomes an Annex III type (docs/ncmec-api.md, "Type"):

* about material — child pornography, a misleading domain name, misleading words or digital
  images: the files decide (known CSAM when every file matches a known-CSAM indicator, new CSAM
  otherwise); URLs alone are material not matched yet (new CSAM);
* about an adult's sexual approach to a child online — online enticement, unsolicited obscene
  material sent to a child: solicitation, whatever comes with it;
* about abuse offline or its organisation — child sex trafficking, child sex tourism, child
  sexual molestation: the files decide if there are any;
* otherwise the report annotations ``sextortion`` or ``csamSolicitation`` say solicitation,
  and without them the type stays missing: triage asks the provider, who completes it by PATCH.

The documents are written from the schema (tests/ispws_support.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from lxml import etree
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IspwsReport, Report
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.intake.ncmec_mapping import StagedFile, map_report
from tests.helpers import auth as bearer
from tests.ispws_support import (
    INCIDENT_TYPES,
    basic,
    code,
    demo_jpeg,
    every_element,
    finish,
    open_report,
    upload_ok,
)

ABOUT_MATERIAL = {"Child Pornography (possession, manufacture, and distribution)", "Misleading Domain Name",
                  "Misleading Words or Digital Images on the Internet"}
ABOUT_SOLICITATION = {"Online Enticement of Children for Sexual Acts", "Unsolicited Obscene Material Sent to a Child"}
ABOUT_CONDUCT = {"Child Sex Trafficking", "Child Sex Tourism", "Child Sexual Molestation"}
MATERIAL = ("nothing", "urls", "files", "files and urls")
SIGNALS = (None, "sextortion", "csamSolicitation")


def test_every_incident_type_of_the_schema_is_decided_here():
    assert ABOUT_MATERIAL | ABOUT_SOLICITATION | ABOUT_CONDUCT == set(INCIDENT_TYPES)


def expected(incident: str, material: str, signal: str | None) -> tuple[str | None, bool]:
    """(type before matching, whether the files' matches decide it)."""
    files, urls = "files" in material, "urls" in material
    if incident in ABOUT_SOLICITATION:
        return "solicitation", False
    if files:
        return "new_csam", True
    if urls and incident in ABOUT_MATERIAL:
        return "new_csam", False
    if signal:
        return "solicitation", False
    return None, False


def document(incident: str, material: str, signal: str | None = None) -> bytes:
    omit = {"reportAnnotations"} if signal is None else set()
    options = {"values": {"incidentType": incident}, "omit": omit}
    if "urls" in material:
        options["choose"] = {"internetDetails": "webPageIncident"}  # generated URLs are http(s)
    else:
        omit.add("internetDetails")
    doc = every_element("report", **options)
    if signal is not None:
        annotations = doc.find("incidentSummary/reportAnnotations")
        for tag in [c.tag for c in annotations]:
            if tag != signal:
                annotations.remove(annotations.find(tag))
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("material", MATERIAL)
@pytest.mark.parametrize("incident", INCIDENT_TYPES)
def test_incident_type_with_and_without_urls_and_files(incident, material, signal):
    from balise.intake.ncmec import parse_document

    doc = parse_document(document(incident, material, signal), "report")
    files = [StagedFile(part="file0", file_id="f" * 32, filename="demo.jpg")] if "files" in material else []
    mapped = map_report(doc, files, datetime(2026, 11, 23, tzinfo=timezone.utc))
    wanted, by_matching = expected(incident, material, signal)
    got = None if mapped.type_missing else mapped.report.type.value
    assert (got, mapped.type_by_matching) == (wanted, by_matching)
    assert mapped.incident_type == incident
    assert (mapped.url_items > 0) == ("urls" in material)
    assert f"Incident type: {incident}" in mapped.report.additional_info


@pytest.fixture
def provider(client, balise):
    from tests.helpers import make_provider

    _, key = make_provider(balise, "DEMO Platform")
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, "DEMO Platform")
        issued = balise.ispws.issue_credential(session, Actor.system("test"), org)
    return basic(issued.username, issued.password), key


def file_report(client, balise, auth, body: bytes, images: list[bytes]) -> Report:
    report_id = open_report(client, auth, body)
    for n, image in enumerate(images):
        upload_ok(client, auth, report_id, image, f"image{n}.jpg")
    assert code(finish(client, auth, report_id)) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        return session.get(Report, session.get(IspwsReport, report_id).report_id)


@pytest.mark.parametrize("incident", INCIDENT_TYPES)
def test_filed_with_an_unmatched_file(client, balise, provider, incident):
    report = file_report(client, balise, provider[0], document(incident, "files"), [demo_jpeg(81)])
    assert report.report_type == ("solicitation" if incident in ABOUT_SOLICITATION else "new_csam")
    assert "type" not in (report.missing_fields or [])


def test_offline_abuse_with_files_that_all_match_is_known_csam(client, balise, provider):
    images = [demo_jpeg(82), demo_jpeg(83)]
    with balise.db.transaction() as session:
        for image in images:
            balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.MD5,
                                  value=hashlib.md5(image).hexdigest(), kind=IndicatorKind.KNOWN_CSAM,
                                  provenance={"source": "test", "reason": "DEMO indicator"})
    report = file_report(client, balise, provider[0], document("Child Sexual Molestation", "files"), images)
    assert report.report_type == "known_csam"


def test_a_missing_type_is_requested_and_the_provider_completes_it(client, balise, provider):
    auth, key = provider
    report = file_report(client, balise, auth, document("Child Sex Tourism", "nothing"), [])
    assert report.report_type is None
    assert report.state == "information_requested" and "type" in report.missing_fields
    assert "type" in report.information_request
    bad = client.patch(f"/api/v1/reports/{report.id}", json={"type": "grooming"}, headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "type"
    patch = {"type": "solicitation", "signature": "DEMO signature", "awareness": {"source": "user_flag"},
             "content_removed": False, "reported_elsewhere": {"reported": False}}
    r = client.patch(f"/api/v1/reports/{report.id}", json=patch, headers=bearer(key))
    assert r.status_code == 200, r.text
    balise.run_jobs()
    with balise.db.sessions() as session:
        report = session.execute(select(Report).where(Report.id == report.id)).scalar_one()
        assert report.report_type == "solicitation" and report.missing_fields is None
        assert report.state == "in_assessment"
