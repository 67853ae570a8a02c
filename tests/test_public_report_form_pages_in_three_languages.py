"""The public form is served in English, French and German with the right `lang`, labels on
every field, the child helpline, no third-party resources and no session cookie."""

from __future__ import annotations

import re

import pytest

PAGES = {
    "en": ("Report something you saw online", "Send report", "free and confidential"),
    "fr": ("Signale ce que tu as vu en ligne", "Envoyer le signalement", "gratuit et confidentiel"),
    "de": ("Melde, was du im Internet gesehen hast", "Meldung senden", "kostenlos und vertraulich"),
}


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_form_page_in_each_language(client, lang):
    r = client.get(f"/report/{lang}")
    assert r.status_code == 200
    html = r.text
    title, button, helpline = PAGES[lang]
    assert f'<html lang="{lang}">' in html
    assert title in html and button in html and helpline in html
    assert 'href="tel:116111"' in html and "116 111" in html and 'href="tel:112"' in html
    # Every control has a label.
    for control in re.findall(r'<(?:input|textarea)[^>]*>', html):
        if 'type="hidden"' in control:
            continue
        ident = re.search(r'id="([^"]+)"', control).group(1)
        assert f'<label for="{ident}">' in html, control
    # No third-party resource, no inline script or style: the one script is the quick exit's,
    # from this origin (the form works without it).
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/report-static/quick-exit.js" defer>']
    assert "style=" not in html and "<style" not in html
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    # Only the CSRF cookie; no session cookie for reporters.
    cookies = r.headers.get_list("set-cookie")
    assert all(c.startswith("csrftoken=") for c in cookies)


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_status_page_in_each_language(client, lang):
    r = client.get(f"/report/{lang}/status")
    assert r.status_code == 200 and f'<html lang="{lang}">' in r.text
    assert '<label for="number">' in r.text and '<label for="secret">' in r.text


@pytest.mark.parametrize(("header", "lang"), [("de-DE,de;q=0.9,en;q=0.5", "de"), ("fr-CH, fr;q=0.9", "fr"),
                                             ("ja-JP", "en"), ("", "en"), ("en;q=0.3,de;q=0.8", "de")])
def test_language_falls_back_to_accept_language(client, header, lang):
    r = client.get("/report", headers={"accept-language": header}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/report/{lang}"
    r = client.get("/report/status", headers={"accept-language": header}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/report/{lang}/status"


def test_unknown_language_is_not_found(client):
    assert client.get("/report/xx").status_code == 404


def test_stylesheet_is_a_static_file(client):
    r = client.get("/report-static/public.css")
    assert r.status_code == 200 and "text/css" in r.headers["content-type"]
