"""The evidence package format (docs/evidence-packages.md): names, encoding, key ids.

A package is one zip: ``report.json``, ``custody.json``, optionally ``media/<sha256>.<ext>``,
for a report filed through /ispws the original CyberTipline documents under ``ncmec/``,
``manifest.json`` listing every other file with its size and SHA-256, and ``manifest.sig``,
the base64 Ed25519 signature over the exact bytes of ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

FORMAT_NAME = "balise-evidence-package"
FORMAT_VERSION = 1
SIGNATURE_ALGORITHM = "Ed25519"

REPORT_FILE = "report.json"
CUSTODY_FILE = "custody.json"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
MEDIA_DIR = "media"
NCMEC_DIR = "ncmec"

# Member names the format can produce: plain ASCII path segments, nothing else.
MEMBER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MEDIA_NAME_RE = re.compile(r"media/([0-9a-f]{64})\.([a-z0-9]{1,8})")
# The original CyberTipline <report> and each <fileDetails> (named by its fileId), as received.
NCMEC_NAME_RE = re.compile(r"ncmec/(report|file-details-[0-9a-f]{32})\.xml")

# File extension of a media file in the package, from the type sniffed from its content.
MEDIA_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/x-msvideo": "avi",
}


def media_extension(content_type: str | None) -> str:
    return MEDIA_EXTENSIONS.get((content_type or "").lower(), "bin")


def media_member(sha256: str, content_type: str | None) -> str:
    return f"{MEDIA_DIR}/{sha256}.{media_extension(content_type)}"


def ncmec_member(key: str) -> str:
    """The member of an original CyberTipline document: ``report``, or a fileId."""
    return f"{NCMEC_DIR}/report.xml" if key == "report" else f"{NCMEC_DIR}/file-details-{key}.xml"


def key_id_of(raw_public_key: bytes) -> str:
    """A key's id: the first 16 hex characters of the SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def fingerprint_of(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def canonical_json(document: Any) -> bytes:
    """Deterministic JSON: sorted keys, UTF-8, two-space indent, one final newline. The same
    document always gives the same bytes, so a package can be rebuilt and compared."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def iso_utc(value: datetime | None) -> str | None:
    """UTC, microseconds, with a Z: one spelling for every time in a package."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in an evidence package")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
