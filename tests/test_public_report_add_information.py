"""From the status page the reporter can add information; it reaches the report's additional
information (what analysts read), marked as added by the reporter, and is audited."""

from __future__ import annotations

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord
from tests.public_support import add_token, field_error, lookup, receipt, stored, submit, token


def _add(client, page_html, text, lang="en", forged=None):
    return client.post(f"/report/{lang}/status/add", data={
        "csrftoken": token(page_html), "token": forged or add_token(page_html), "text": text})


def test_adding_information_via_the_status_page(client, balise):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/add",
                                    description="DEMO: first words.").text)
    page = lookup(client, number, secret)
    r = _add(client, page.text, "DEMO: the account name was <b>demo_user</b>.")
    assert r.status_code == 200
    assert "We added your information to the report." in r.text
    assert "<b>demo_user</b>" not in r.text
    _, report = stored(balise, number)
    assert report.additional_info.startswith("DEMO: first words.\n\n--- Added by the reporter on ")
    assert report.additional_info.endswith("DEMO: the account name was <b>demo_user</b>.")
    with balise.db.sessions() as session:
        events = [a.event_type for a in session.execute(select(AuditRecord)).scalars()]
    assert "report:public_addition" in events and "report:public_status" in events


def test_empty_or_too_long_addition_is_refused_with_a_message(client, balise):
    number, secret = receipt(submit(client, "fr", url="https://benign.example.test/add2").text)
    page = lookup(client, number, secret, lang="fr")
    r = _add(client, page.text, "   ", lang="fr")
    assert r.status_code == 422 and field_error(r.text, "text") == "Écris ce que tu veux ajouter."
    r = _add(client, page.text, "x" * 2001, lang="fr")
    assert r.status_code == 422 and "2000" in field_error(r.text, "text")
    _, report = stored(balise, number)
    assert report.additional_info is None


def test_forged_or_missing_token_cannot_add(client, balise):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/add3").text)
    page = lookup(client, number, secret)
    r = _add(client, page.text, "DEMO", forged="eyJuIjoiQkFMLVhYWFgtWFhYWCJ9.bad.sig")
    assert r.status_code == 403 and "expired" in r.text
    _, report = stored(balise, number)
    assert report.additional_info is None
