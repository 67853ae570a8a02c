"""The public reporting pages' languages: the EU's 24 official languages (a catalogue and an entry
here each), in their own Babel domain.

The catalogues are ``locale/<lang>/LC_MESSAGES/public.po`` (English is the source language),
kept apart from the staff interface's ``messages.po``, and compiled in memory at start like
:mod:`balise.web.ui.i18n` does.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations

from balise.web.ui.i18n import compile_catalogue

DOMAIN = "public"
LOCALES = ("en", "fr", "de", "nl", "es", "it", "pl", "pt", "sv", "cs", "da", "ro",
           "el", "hu", "fi", "bg", "sk", "hr", "sl", "lt", "lv", "et", "ga", "mt")
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "de": "Deutsch",
    "nl": "Nederlands",
    "es": "Español",
    "it": "Italiano",
    "pl": "Polski",
    "pt": "Português",
    "sv": "Svenska",
    "cs": "Čeština",
    "da": "Dansk",
    "ro": "Română",
    "el": "Ελληνικά",
    "hu": "Magyar",
    "fi": "Suomi",
    "bg": "Български",
    "sk": "Slovenčina",
    "hr": "Hrvatski",
    "sl": "Slovenščina",
    "lt": "Lietuvių",
    "lv": "Latviešu",
    "et": "Eesti",
    "ga": "Gaeilge",
    "mt": "Malti",
}
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[NullTranslations] = ContextVar("balise_public_translations", default=NullTranslations())


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return compile_catalogue(catalogue_path(locale), locale, DOMAIN)


def activate(locale: str) -> None:
    _current.set(translations(locale if locale in LOCALES else DEFAULT_LOCALE))


def gettext(message: str) -> str:
    return _current.get().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().ngettext(singular, plural, n)


def negotiate(accept_language: str | None) -> str:
    """The first supported language of Accept-Language, by quality; English otherwise."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()[:2]
        quality = 1.0
        for p in pieces[1:]:
            if p.strip().startswith("q="):
                try:
                    quality = float(p.strip()[2:])
                except ValueError:
                    quality = 0.0
        if tag in LOCALES and quality > 0:
            choices.append((-quality, index, tag))
    return sorted(choices)[0][2] if choices else DEFAULT_LOCALE
