"""French and English for the staff interface, with Babel.

Messages are marked in templates with ``_("…")``; ``make translations`` extracts them and
updates ``locale/<lang>/LC_MESSAGES/messages.po``. The .po catalogues are compiled in memory
at start, so no binary .mo file lives in the repository.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "fr")
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[NullTranslations] = ContextVar("balise_translations", default=NullTranslations())


def compile_catalogue(po: Path, locale: str, domain: str | None = None) -> NullTranslations:
    """A .po catalogue compiled in memory (no .mo file on disk); nothing for a missing file."""
    if not po.exists():
        return NullTranslations()
    with open(po, "rb") as fh:
        catalog = read_po(fh, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return compile_catalogue(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)


def activate(locale: str) -> None:
    _current.set(translations(locale if locale in LOCALES else DEFAULT_LOCALE))


def gettext(message: str) -> str:
    return _current.get().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().ngettext(singular, plural, n)


def negotiate(accept_language: str | None, preferred: str | None) -> str:
    if preferred in LOCALES:
        return preferred  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE
