"""Paths of /ispws submit and finish that refuse or fail: a report with more http(s) URLs than a
report may hold items is 4100 and opens nothing; a schema-valid document always maps to Annex III
(checked over every element with boundary values), and a mapping failure would be 4100; a real
failure while filing at finish (the intake's temporary directory cannot be created) is 1300,
the report stays open, and finishing again once the cause is gone files it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsReport, Report, VaultObject
from balise.intake.ncmec_mapping import MappingError, StagedFile, map_report
from tests.conftest import make_settings
from tests.ispws_support import (
    _Generator,
    basic,
    code,
    demo_jpeg,
    description,
    finish,
    make_ispws_provider,
    minimal_report,
    open_report,
    schema,
    submit,
    upload_ok,
)


@pytest.fixture
def settings(tmp_path, db_url):
    return make_settings(tmp_path, db_url, max_items_per_report=2)


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def with_urls(n: int) -> str:
    urls = "".join(f"<url>https://demo.example.test/page/{i}</url>" for i in range(n))
    return minimal_report().replace("</incidentSummary>",
                                    f"</incidentSummary>\n  <internetDetails><webPageIncident>{urls}"
                                    "</webPageIncident></internetDetails>")


def counts(balise) -> tuple[int, int]:
    with balise.db.sessions() as session:
        return (session.execute(select(func.count()).select_from(IspwsReport)).scalar_one(),
                session.execute(select(func.count()).select_from(VaultObject)).scalar_one())


def test_more_urls_than_a_report_may_hold_is_4100_and_opens_nothing(client, balise, auth):
    r = submit(client, auth, with_urls(3))
    assert r.status_code == 422 and code(r) == 4100
    assert description(r) == "Validation failed: the report has 3 URLs; a report may hold at most 2 items"
    assert counts(balise) == (0, 0)
    assert open_report(client, auth, with_urls(2)) > 0  # at the limit is fine


BOUNDARIES = ["", " ", "\u00a0", "x" * 250, "y" * 25_000, "\u200b", "1e400", "-INF", "NaN",
              "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "-1", "2147483647"]


def test_no_schema_valid_document_fails_the_mapping():
    """Each element and attribute of a full report and its file details, in turn, takes each
    boundary value the schema lets through: the mapping must never raise."""
    checker = schema()
    report, details = _Generator().document("report"), _Generator().document("fileDetails")
    tried = 0
    for doc in (report, details):
        targets = [(el, None) for el in doc.iter() if el.text and len(el) == 0]
        targets += [(el, name) for el in doc.iter() for name in el.attrib]
        for el, name in targets:
            original = el.get(name) if name else el.text
            for value in BOUNDARIES:
                if name:
                    el.set(name, value)
                else:
                    el.text = value
                if checker.validate(report) and checker.validate(details):
                    tried += 1
                    staged = [StagedFile("file0", "f" * 32, "demo.jpg", etree.fromstring(etree.tostring(details)))]
                    map_report(etree.fromstring(etree.tostring(report)), staged, datetime.now(timezone.utc))
            if name:
                el.set(name, original)
            else:
                el.text = original
    assert tried > 1000


def test_a_mapping_failure_at_submit_would_be_4100_and_open_nothing(client, balise, auth, monkeypatch):
    # The test above shows no schema-valid document reaches this branch, so the failure is
    # injected: what is checked is only how /ispws answers it.
    import balise.intake.ispws as service

    def refuse(*args, **kwargs):
        raise MappingError("items.0.url: DEMO refusal")

    monkeypatch.setattr(service, "map_report", refuse)
    r = submit(client, auth, minimal_report())
    assert r.status_code == 422 and code(r) == 4100
    assert description(r) == ("Validation failed: the report cannot become an Annex III report: "
                              "items.0.url: DEMO refusal")
    assert counts(balise) == (0, 0)


def test_a_real_failure_while_filing_is_1300_and_the_report_stays_open(client, balise, auth):
    report_id = open_report(client, auth)
    upload_ok(client, auth, report_id, demo_jpeg(110))
    # Finishing reads the staged file back from the vault: its encrypted object moved away makes
    # that fail for real (a disk or storage fault), after the report was read and mapped.
    with balise.db.sessions() as session:
        (staged,) = session.get(IspwsReport, report_id).files
        sha = staged.vault_object
    stored = balise.settings.vault_path / sha[:2] / sha[2:4] / f"{sha}.blv"
    aside = stored.with_suffix(".aside")
    stored.rename(aside)
    r = finish(client, auth, report_id)
    assert r.status_code == 500 and code(r) == 1300
    assert description(r) == "Update failed: the report could not be filed; it stays open, finish it again"
    with balise.db.sessions() as session:
        assert session.get(IspwsReport, report_id).state == "open"
        assert session.execute(select(func.count()).select_from(Report)).scalar_one() == 0
    aside.rename(stored)
    r = finish(client, auth, report_id)
    assert r.status_code == 200 and code(r) == 0, r.text
    with balise.db.sessions() as session:
        assert session.get(IspwsReport, report_id).state == "finished"
        assert session.execute(select(func.count()).select_from(Report)).scalar_one() == 1
