"""Victims' requests (CSAR Art. 20 information, Art. 21 removal support): the pure rules.

A request is keyed by the hashes of the victim's material, never by identity: a request
without hashes is refused, and each hash must be well formed (the field is named)."""

from __future__ import annotations

import re
from typing import Any

HASH_TYPES = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
MAX_HASHES = 1000
MAX_REFERENCE = 200
_HEX = re.compile(r"[0-9a-f]+")


class InvalidVictimRequest(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def request_reference(request_id: int) -> str:
    return f"VR-{request_id:06d}"


def parse_request_reference(text: str) -> int:
    value = (text or "").strip().upper()
    found = re.fullmatch(r"VR-(\d{1,12})", value)
    if found:
        return int(found.group(1))
    if value.isdigit() and len(value) <= 12:
        return int(value)
    raise InvalidVictimRequest("reference", f"not a victim request reference (VR-000042): {text[:60]!r}")


def check_hashes(raw: Any) -> list[dict[str, str]]:
    """The request's hashes, normalised (lowercase hex, each once), or InvalidVictimRequest
    naming the field (``hashes``, ``hashes[3].value``...)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidVictimRequest("hashes", "a victim's request is keyed by the hashes of the material: give at least "
                                             "one (md5, sha1, sha256 or pdq); identity alone is never enough")
    if len(raw) > MAX_HASHES:
        raise InvalidVictimRequest("hashes", f"at most {MAX_HASHES} hashes per request")
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) - {"type", "value"}:
            raise InvalidVictimRequest(f"hashes[{i}]", "each hash is an object with a type and a value")
        kind = entry.get("type")
        if kind not in HASH_TYPES:
            raise InvalidVictimRequest(f"hashes[{i}].type", "the type is one of " + ", ".join(HASH_TYPES))
        value = entry.get("value")
        if not isinstance(value, str):
            raise InvalidVictimRequest(f"hashes[{i}].value", "the value is a string of hexadecimal digits")
        value = value.strip().lower()
        if len(value) != HASH_TYPES[kind] or not _HEX.fullmatch(value):
            raise InvalidVictimRequest(f"hashes[{i}].value", f"a {kind} is {HASH_TYPES[kind]} hexadecimal digits")
        if (kind, value) not in seen:
            seen.add((kind, value))
            out.append({"type": kind, "value": value})
    return out


def check_reference(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidVictimRequest(field, "a reference is a short text")
    text = " ".join(value.split())
    if len(text) > MAX_REFERENCE or "\x00" in text:
        raise InvalidVictimRequest(field, f"at most {MAX_REFERENCE} characters")
    if "@" in text:
        raise InvalidVictimRequest(field, "a reference only, never the victim's name or contact details")
    return text or None
