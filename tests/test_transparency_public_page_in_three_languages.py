"""The public page /transparency, served by a real `balise serve` on loopback, shows the year's
figures in English, French and German (words, not codes), with small counts withheld in
words; the language comes from the address or Accept-Language; a year without figures is a
page that says so; DEMO figures carry a banner."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from balise.container import Balise
from tests import transparency_support as data
from tests.real_server_support import served

WORDS = {
    "en": ("Transparency report 2026", "Reports received", "fewer than 10", "Known abuse material",
           "Not measured in this period.", "France (FR)"),
    "fr": ("Rapport de transparence 2026", "Signalements reçus", "moins de 10", "Matériel d’abus connu",
           "Non mesuré pour cette période.", "France (FR)"),
    "de": ("Transparenzbericht 2026", "Eingegangene Meldungen", "weniger als 10", "Bekanntes Missbrauchsmaterial",
           "In diesem Zeitraum nicht gemessen.", "Frankreich (FR)"),
}
EUROPOL_ONLY = {"en": "Europol only", "fr": "Europol seulement", "de": "Nur Europol"}
CODES = ("known_csam", "provider_api", "europol_only", "host_notice", "not_known", "None", "error_rates_not_measured")


@pytest.fixture
def server(settings, tmp_path):  # type: ignore[no-untyped-def]
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    data.seed(app, clock)
    app.close()
    with served(tmp_path, settings.database_url) as (host, port):
        yield f"http://{host}:{port}"


def test_the_page_in_three_languages(server):
    with httpx.Client(base_url=server, timeout=60) as http:
        for lang, words in WORDS.items():
            r = http.get(f"/transparency/{lang}")
            assert r.status_code == 200, r.text[:500]
            assert r.headers["content-language"] == lang
            html = r.text
            assert f'<html lang="{lang}">' in html
            for word in words:
                assert word in html, (lang, word)
            shown = re.sub(r"<[^>]+>", " ", re.sub(r'(src|href|id|class|alt)="[^"]*"', "", html))
            for code in CODES:
                assert not re.search(rf"\b{re.escape(code)}\b", shown), (lang, code)
            assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
            assert "DEMO" not in html
            # The charts are pictures inside the page, in the page's language (each page is
            # requested right after one in another language).
            charts = [base64.b64decode(c).decode("utf-8")
                      for c in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
            assert any(EUROPOL_ONLY[lang] in chart for chart in charts), lang
            assert not any(EUROPOL_ONLY[other] in chart for chart in charts for other in EUROPOL_ONLY if other != lang)


def test_the_language_comes_from_accept_language_and_a_bad_year_says_so(server):
    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.get("/transparency", headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
        assert r.status_code == 303 and r.headers["location"] == "/transparency/de"
        r = http.get("/transparency/2026", headers={"accept-language": "fr"})
        assert r.status_code == 303 and r.headers["location"] == "/transparency/fr/2026"
        r = http.get("/transparency/fr/2031")
        assert r.status_code == 404 and "Pas de rapport de transparence pour 2031" in r.text
        r = http.get("/transparency/de/2024")
        assert r.status_code == 404 and "Kein Transparenzbericht für 2024" in r.text
        assert http.get("/transparency/ja/2026").status_code == 404
        assert http.get("/transparency/en/20x6").status_code == 404


def test_demo_figures_carry_a_banner(settings, client):
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    data.seed(app, clock, demo=True)
    app.close()
    html = client.get("/transparency/fr/2026").text
    assert "Données de DÉMONSTRATION" in html and "ne décrivent aucun cas réel" in html
