"""What a staff page must never show a reader: Python reprs, True/False/None, raw codes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

REPRS = ("object at 0x", "<built-in", "{'", "['", "<bound method")


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<option\b[^>]*>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def check_words(page: str, where: str, codes: Iterable[str]) -> str:
    """The page's visible text, after failing on any repr, boolean, None or one of ``codes``."""
    for repr_ in REPRS:
        assert repr_ not in page, f"{where}: {repr_!r}"
    text = visible_text(page)
    for word in ("True", "False", "None"):
        assert not re.search(rf"\b{word}\b", text), f"{where}: {word}"
    for code in codes:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), f"{where}: {code}"
    return text
