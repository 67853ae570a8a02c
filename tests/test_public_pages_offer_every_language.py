"""Every language the public pages offer (public i18n.LOCALES) is chosen from Accept-Language,
served at /report/<lang> in that language (html lang, a translated heading), and listed by the
visible language switcher of every other language's page."""

from __future__ import annotations

import pytest

from balise.web.public import i18n

HEADINGS = {"en": "Report something you saw online"}


@pytest.mark.parametrize("lang", i18n.LOCALES)
def test_each_language_is_negotiated_served_and_switchable(client, lang):
    chosen = client.get("/report", headers={"Accept-Language": f"{lang};q=0.9, xx;q=1"}, follow_redirects=False)
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/report/{lang}"
    page = client.get(f"/report/{lang}")
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    i18n.activate(lang)
    heading = i18n.gettext("Report something you saw online")
    i18n.activate("en")
    assert heading in page.text and (lang == "en" or heading != HEADINGS["en"])
    for code, name in i18n.LANGUAGE_NAMES.items():
        assert f'hreflang="{code}"' in page.text and name in page.text
