"""Documents written from NCMEC's schema (tests/ispws_support.py: every optional element and
attribute, each free value distinct) reach Balise whole: every element and attribute of a full
<report> and its <fileDetails> ends up in a typed field, a person's details, an item's
media_metadata or the additional information — nothing is silently dropped. The alternatives
the schema offers are each exercised: every internetDetails kind, both fileDetails choices,
every industry classification, a reporter with and without a contact person."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from lxml import etree

from balise.adapters.db.models import IspwsReport, Report
from balise.intake.ncmec import parse_document
from balise.intake.ncmec_mapping import StagedFile, map_report
from tests.ispws_support import (
    CLASSIFICATIONS,
    _Generator,
    basic,
    choice_alternatives,
    code,
    demo_jpeg,
    fileinfo,
    finish,
    make_ispws_provider,
    open_report,
    upload_ok,
)

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
SERVICE = {"webPageIncident": "hosting", "newsgroupIncident": "hosting", "peer2peerIncident": "hosting",
           "emailIncident": "interpersonal_communication", "chatImIncident": "interpersonal_communication",
           "cellPhoneIncident": "interpersonal_communication", "onlineGamingIncident": "interpersonal_communication",
           "nonInternetIncident": "other"}


def unreached(leaves: list[tuple[str, str, str, bool]], output: str) -> list[tuple[str, str]]:
    """The leaves of a generated document that are nowhere in the output. A distinct value must
    appear itself; an enumerated value too; a boolean (always "true") by its element name."""
    missing = []
    for path, name, value, distinct in leaves:
        if distinct or value != "true":
            if value not in output:
                missing.append((path, value))
        elif f'"{name}"' not in output and not re.search(rf"\b{re.escape(name.lstrip('@'))}\b", output):
            missing.append((path, name))
    return missing


def mapped_output(report_doc: bytes, details: list[bytes] = ()) -> tuple[object, str]:
    files = [StagedFile(part=f"file{n}", file_id=f"{n:032x}", filename=f"demo{n}.jpg",
                        details=parse_document(d, "fileDetails")) for n, d in enumerate(details)]
    mapped = map_report(parse_document(report_doc, "report"), files, NOW)
    return mapped, json.dumps(mapped.report.model_dump(mode="json")) + json.dumps(mapped.media_extras, default=str)


def write(generator: _Generator, root: str) -> bytes:
    return etree.tostring(generator.document(root), xml_declaration=True, encoding="UTF-8")


def stored_output(report: Report) -> str:
    """Everything Balise recorded of a filed report that an analyst or a package can read."""
    columns = {c: getattr(report, c) for c in (
        "report_type", "service_type", "service_url", "urgent", "imminent_threat", "user_decision", "provider_contact",
        "victims", "geolocation", "additional_info", "reported_elsewhere")}
    persons = [{"role": p.role, "display_name": p.display_name, "details": p.details,
                "identifiers": [[i.type, i.value, i.observed_at, i.port, i.event] for i in p.identifiers]}
               for p in report.persons]
    items = [{"filename": i.filename, "url": i.url, "metadata": i.media_metadata} for i in report.items]
    return json.dumps({"report": columns, "persons": persons, "items": items}, default=str, ensure_ascii=False)


def test_nothing_of_a_full_report_and_its_file_details_is_dropped(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_gen = _Generator()
    report_id = open_report(client, auth, write(report_gen, "report"))
    leaves = list(report_gen.leaves)
    for n, alternative in enumerate(choice_alternatives()["fileDetails"]):
        file_id = upload_ok(client, auth, report_id, demo_jpeg(90 + n))
        details_gen = _Generator(choose={"fileDetails": alternative})
        details_gen.counter = 1000 * (n + 1)  # distinct from the report's values and each other's
        details = details_gen.document("fileDetails")
        details.find("reportId").text, details.find("fileId").text = str(report_id), file_id
        assert code(fileinfo(client, auth, etree.tostring(details))) == 0
        leaves += [leaf for leaf in details_gen.leaves if leaf[1] not in ("reportId", "fileId")]
    assert code(finish(client, auth, report_id)) == 0
    with balise.db.sessions() as session:
        report = session.get(Report, session.get(IspwsReport, report_id).report_id)
        output = stored_output(report)
    assert len(leaves) > 400
    assert unreached(leaves, output) == []


@pytest.mark.parametrize("incident", choice_alternatives()["internetDetails"])
def test_each_kind_of_internet_details_is_kept_whole(incident):
    generator = _Generator(choose={"internetDetails": incident})
    mapped, output = mapped_output(write(generator, "report"))
    assert mapped.report.service.type.value == SERVICE[incident]
    ours = [leaf for leaf in generator.leaves if leaf[0].startswith(f"report/internetDetails/{incident}")]
    assert ours and unreached(ours, output) == []


@pytest.mark.parametrize("alternative", choice_alternatives()["fileDetails"])
def test_each_file_details_choice_reaches_the_item(alternative):
    details = _Generator(choose={"fileDetails": alternative})
    details.counter = 5000
    details_doc = details.document("fileDetails")
    mapped, output = mapped_output(write(_Generator(), "report"), [etree.tostring(details_doc)])
    ncmec = mapped.media_extras[0]["ncmec"]
    if alternative == "potentialMeme":
        assert ncmec["annotations"] == ["potentialMeme"]
        assert "flags" not in mapped.media_extras[0]["classification_suggestion"]
    else:
        assert ncmec["annotations"] == [c.tag for c in details_doc.find("fileAnnotations")]
        assert mapped.media_extras[0]["classification_suggestion"]["flags"] == ["drawing_cgi", "generative_ai",
                                                                                "self_generated"]
        assert mapped.media_extras[0]["classification_suggestion"]["youngest_age_band"] == "0-2"
    ours = [leaf for leaf in details.leaves if leaf[1] not in ("reportId", "fileId")]
    assert unreached(ours, output) == []


@pytest.mark.parametrize("classification", CLASSIFICATIONS)
def test_every_industry_classification_becomes_the_suggestion(classification):
    details = _Generator(values={"industryClassification": classification})
    mapped, _ = mapped_output(write(_Generator(), "report"), [write(details, "fileDetails")])
    suggestion = mapped.media_extras[0]["classification_suggestion"]
    assert suggestion["ncmec_category"] == classification
    assert suggestion["source"] == "provider (NCMEC fileDetails)"
    assert mapped.media_extras[0]["ncmec"]["industry_classification"] == classification


@pytest.mark.parametrize("with_contact_person", [True, False])
def test_the_contact_point_is_the_contact_person_else_the_reporting_person(with_contact_person):
    generator = _Generator(omit=set() if with_contact_person else {"contactPerson"})
    doc = generator.document("report")
    mapped, output = mapped_output(etree.tostring(doc))
    person = doc.find("reporter/contactPerson" if with_contact_person else "reporter/reportingPerson")
    point = mapped.report.provider.contact_point
    assert point.name == f"{person.findtext('firstName')} {person.findtext('lastName')}"
    assert point.email == person.findtext("email")
    assert point.phone == f"+33 {person.findtext('phone')}"
    reporter = [leaf for leaf in generator.leaves if leaf[0].startswith("report/reporter")]
    assert unreached(reporter, output) == []
