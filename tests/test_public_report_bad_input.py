"""Bad input on the public form: missing fields, oversized text, a malformed URL or email.
Each gets a message in the reporter's language, tied to its field, and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import Report
from tests.public_support import field_error, submit

MISSING = {
    "en": "Give the web address, or tell us what happened (or both).",
    "fr": "Donne l’adresse web, ou raconte-nous ce qui s’est passé (ou les deux).",
    "de": "Gib die Internetadresse an oder erzähl uns, was passiert ist (oder beides).",
}
BAD_URL = {
    "en": "This web address does not look right.",
    "fr": "Cette adresse web ne semble pas correcte.",
    "de": "Diese Internetadresse sieht nicht richtig aus.",
}


def _count(balise):
    with balise.db.sessions() as session:
        return session.execute(select(func.count()).select_from(Report)).scalar_one()


@pytest.mark.parametrize("lang", sorted(MISSING))
def test_missing_required_fields_in_the_reporters_language(client, balise, lang):
    r = submit(client, lang, url="  ", description="")
    assert r.status_code == 422 and f'<html lang="{lang}">' in r.text
    assert field_error(r.text, "url") == MISSING[lang]
    assert field_error(r.text, "description") == MISSING[lang]
    assert 'role="alert"' in r.text and 'href="#url"' in r.text
    assert _count(balise) == 0


@pytest.mark.parametrize("lang", sorted(BAD_URL))
@pytest.mark.parametrize("url", ["not a web address", "ftp://example.test/x", "https://", "http://exa mple.test/",
                                 "javascript:alert(1)", "https://localhost:99999/"])
def test_malformed_url_is_explained(client, balise, lang, url):
    r = submit(client, lang, url=url, description="DEMO")
    assert r.status_code == 422
    assert field_error(r.text, "url").startswith(BAD_URL[lang])
    assert _count(balise) == 0


def test_address_without_scheme_is_accepted_as_https(client, balise):
    r = submit(client, "en", url="www.benign.example.test/page")
    assert r.status_code == 200
    assert "https://www.benign.example.test/page" in r.text


def test_oversized_description_is_refused_and_the_limit_said(client, balise):
    r = submit(client, "de", description="x" * 5001)
    assert r.status_code == 422
    message = field_error(r.text, "description")
    assert "5000" in message and "5001" in message and message.startswith("Dieser Text ist zu lang")
    assert "höchstens 5000 Zeichen" in r.text.replace("Höchstens", "höchstens")  # the limit is said up front too
    assert _count(balise) == 0


def test_exactly_the_limit_is_accepted(client, balise):
    assert submit(client, "en", description="y" * 5000).status_code == 200
    assert _count(balise) == 1


def test_oversized_name_and_bad_email(client, balise):
    r = submit(client, "en", url="https://benign.example.test/n", name="n" * 201, email="not-an-email")
    assert r.status_code == 422
    assert "200" in field_error(r.text, "name")
    assert field_error(r.text, "email").startswith("This email address does not look right")
    assert _count(balise) == 0


def test_post_without_csrf_token_is_refused(client, balise):
    r = client.post("/report/en", data={"url": "https://benign.example.test/c"})
    assert r.status_code == 403
    assert _count(balise) == 0
