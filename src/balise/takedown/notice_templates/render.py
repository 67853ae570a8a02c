"""Render a notice from its Jinja2 text template in the recipient's language.

Templates are ``templates/<language>/<kind>.txt``; each sets ``subject`` and ``body``, and
imports the wording of codes (legal bases, reasons, timeline events) from
``templates/<language>/_labels.txt``. Undefined names are errors (StrictUndefined), so a
template can never silently print an empty value. Autoescaping is off because the output is
plain text; the templates contain no HTML, and mail clients show the body as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from balise.takedown.notice_templates.context import NoticeError, validate_context

LANGUAGES = ("en", "fr", "de")
DEFAULT_LANGUAGE = "en"
TEMPLATE_DIR = Path(__file__).parent / "templates"
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*\Z")


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str
    language_used: str
    requested_language: str
    fallback: bool  # True when the requested language has no templates and English was used


def _when(value: datetime) -> str:
    return f"{value.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def _day(value: date) -> str:
    return f"{value:%Y-%m-%d}"


def _country(code: str, language: str) -> str:
    """The country's name in the notice's language, with its code: "Pays-Bas (NL)"."""
    from babel import Locale

    return f"{Locale.parse(language).territories.get(code, code)} ({code})"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["country"] = _country
    return env


def choose_language(language: str) -> tuple[str, bool]:
    """The template language for a requested BCP 47 tag (``fr-BE`` → ``fr``) and whether it
    is a fallback to English."""
    if not isinstance(language, str) or not _TAG.match(language):
        raise NoticeError(f"language must be a language tag such as 'en', 'fr' or 'de-AT', not {language!r}")
    primary = language.replace("_", "-").split("-")[0].lower()
    if primary in LANGUAGES:
        return primary, False
    return DEFAULT_LANGUAGE, True


def _tidy_body(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def render_notice(kind: str, language: str, context: Mapping[str, Any]) -> RenderedNotice:
    """Subject and plain-text body of a notice. Raises UnknownNoticeKind, NoticeContextError
    (naming each missing, unexpected or malformed field) or NoticeError (bad language tag)."""
    used, fallback = choose_language(language)
    values = validate_context(kind, context)
    module = _environment().get_template(f"{used}/{kind}.txt").make_module(values)
    subject = " ".join(str(module.subject).split())  # type: ignore[attr-defined]
    body = _tidy_body(str(module.body))  # type: ignore[attr-defined]
    return RenderedNotice(subject=subject, body=body, language_used=used, requested_language=language,
                          fallback=fallback)
