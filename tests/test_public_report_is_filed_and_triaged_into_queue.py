"""A public report is filed through the normal intake as `public_form` (the URL as a `url`
item, the description in additional_info, no provider fields), gets a readable number, and
triage puts it in the analysts' queue."""

from __future__ import annotations

import re

from sqlalchemy import select

from balise.adapters.db.models import Job
from balise.domain.states import ReportState
from tests.public_support import receipt, stored, submit


def test_filed_as_public_form_and_triaged_into_the_queue(client, balise):
    r = submit(client, "en", url="https://benign.example.test/page/1", description="DEMO: a page I saw.",
               what="pictures")
    assert r.status_code == 200, r.text
    number, secret = receipt(r.text)
    assert re.fullmatch(r"BAL-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", number)
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", secret)

    row, report = stored(balise, number)
    assert str(report.id) not in r.text  # the reporter never sees the internal id
    assert report.source == "public_form" and report.organisation_id is None
    assert report.additional_info == "DEMO: a page I saw."
    assert report.provider_contact is None and report.provider_signature is None
    assert [(i.kind, i.url) for i in report.items] == [("url", "https://benign.example.test/page/1")]
    assert report.state == ReportState.RECEIVED.value
    with balise.db.sessions() as session:
        jobs = session.execute(select(Job).order_by(Job.id)).scalars().all()
        # Triage, the entity index, and the safe fetch of the reported URL (queued with the report).
        assert [(j.kind, j.payload) for j in jobs] == [
            ("report.triage", {"report_id": str(report.id)}), ("entities.extract", {"report_id": str(report.id)}),
            ("url.fetch", {"item_id": str(report.items[0].id)})]

    assert balise.run_jobs() == 3
    _, report = stored(balise, number)
    assert report.state == ReportState.IN_ASSESSMENT.value
    assert report.triaged_at is not None and report.missing_fields is None


def test_queue_shows_and_filters_the_public_report_as_public_form(client, balise):
    from tests.helpers import auth, make_provider, make_user, minimal_report, sign_in

    r = submit(client, "fr", url="https://benign.example.test/queue", description="DEMO")
    number, _ = receipt(r.text)
    _, key = make_provider(balise, "DEMO Platform")
    provider_report = client.post("/api/v1/reports", json=minimal_report(
        signature="DEMO", user_decision="none", reported_elsewhere={"reported": False},
        provider={"contact_point": {"email": "trust@platform.example.test"}}),
                                  headers=auth(key)).json()["id"]
    balise.run_jobs()
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    _, report = stored(balise, number)

    queue = client.get("/ui/queue")
    assert queue.status_code == 200 and str(report.id) in queue.text and provider_report in queue.text
    row = re.search(rf'href="/ui/reports/{report.id}">.*?</tr>', queue.text, re.S).group(0)
    assert '<small class="source" data-source="public_form">public form</small>' in row
    assert '<option value="public_form">public form</option>' in queue.text

    only_public = client.get("/ui/queue", params={"source": "public_form"})
    assert str(report.id) in only_public.text and provider_report not in only_public.text
    assert '<option value="public_form" selected>public form</option>' in only_public.text
    only_providers = client.get("/ui/queue", params={"source": "provider_api"})
    assert str(report.id) not in only_providers.text and provider_report in only_providers.text


def test_description_alone_is_a_report_without_items(client, balise):
    r = submit(client, "de", description="DEMO: jemand hat ein Kind nach Bildern gefragt.", what="contact", danger="yes")
    assert r.status_code == 200, r.text
    number, _ = receipt(r.text)
    _, report = stored(balise, number)
    assert report.items == [] and report.report_type == "solicitation" and report.urgent is True
    balise.run_jobs()
    _, report = stored(balise, number)
    assert report.state == ReportState.IN_ASSESSMENT.value
