"""Every message of the public pages (templates and Python) is translated in every language the
pages offer (public i18n.LOCALES besides English), with the same placeholders, in the public
pages' own Babel domain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from balise.web.public import i18n

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "src" / "balise" / "web" / "public"


def _messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/*.html", "jinja2")]
    options = {"templates/*.html": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(PUBLIC), method_map, options, keywords={"_": None, "tr": None, "P_": None}):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_extraction_finds_the_messages():
    messages = _messages()
    assert "Send report" in messages and "Passed to the police" in messages
    assert len(messages) > 60


TRANSLATED = [lang for lang in i18n.LOCALES if lang != i18n.DEFAULT_LOCALE]


def test_every_offered_language_has_a_name_and_a_catalogue():
    assert set(i18n.LANGUAGE_NAMES) == set(i18n.LOCALES)
    assert all(i18n.catalogue_path(lang).is_file() for lang in TRANSLATED)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated(lang):
    with open(i18n.catalogue_path(lang), "rb") as fh:
        catalogue = read_po(fh, locale=lang, domain=i18n.DOMAIN)
    missing, placeholders = [], []
    for message in sorted(_messages()):
        entry = catalogue.get(message)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(message)
        elif sorted(re.findall(r"%\(\w+\)s", message)) != sorted(re.findall(r"%\(\w+\)s", entry.string)):
            placeholders.append(message)
    assert missing == [] and placeholders == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_compiles_in_memory(lang):
    i18n.translations.cache_clear()
    i18n.activate(lang)
    assert i18n.gettext("Send report") != "Send report"
    i18n.activate("en")
    assert i18n.gettext("Send report") == "Send report"


def test_staff_catalogue_is_not_used_for_public_pages():
    assert i18n.catalogue_path("fr").name == "public.po"
    assert "ui" not in i18n.catalogue_path("fr").parts
