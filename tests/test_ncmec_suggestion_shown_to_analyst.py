"""The industry classification a provider sent in NCMEC fileDetails reaches the analyst as a
suggestion on the item, never as an assessment."""

from __future__ import annotations

from sqlalchemy import select

from balise.adapters.db.models import IspwsReport, Item
from tests.helpers import csrf_token, make_user, sign_in
from tests.ispws_support import (
    answer,
    basic,
    demo_jpeg,
    file_details,
    fileinfo,
    finish,
    make_ispws_provider,
    minimal_report,
    open_report,
    upload_ok,
)


def test_the_providers_ncmec_classification_is_shown_as_a_suggestion(client, balise) -> None:
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth, minimal_report())
    file_id = upload_ok(client, auth, report_id, demo_jpeg(7))
    assert answer(fileinfo(client, auth, file_details(report_id, file_id, classification="A1"))).findtext(
        "responseCode") == "0"
    assert answer(finish(client, auth, report_id)).findtext("responseCode") == "0"
    balise.run_jobs()
    with balise.db.sessions() as s:
        rid = s.execute(select(IspwsReport.report_id).where(IspwsReport.id == report_id)).scalar_one()
        item = s.execute(select(Item).where(Item.report_id == rid)).scalar_one()
        assert item.outcome is None  # a suggestion, not an assessment
    make_user(balise, "ana", "analyst")
    sign_in(client, balise, "ana")
    page = client.get(f"/ui/reports/{rid}").text
    csrf_token(page)
    assert "Provider&#39;s classification suggestion" in page or "Provider's classification suggestion" in page
    assert "NCMEC: A1: prepubescent child, sex act" in page and "provider (NCMEC fileDetails)" in page
