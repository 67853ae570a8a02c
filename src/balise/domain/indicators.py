"""Indicators (CSAR Art. 44, DOMAIN.md §3, §5, §6): what they are and how values are written."""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class IndicatorKind(StrEnum):
    KNOWN_CSAM = "known_csam"
    NEW_CSAM = "new_csam"
    SOLICITATION = "solicitation"
    URL = "url"


class IndicatorStatus(StrEnum):
    # Assessed illegal by one analyst; matches nothing until a second, senior analyst confirms.
    CANDIDATE = "candidate"
    # Confirmed by four eyes at the centre; matches nothing until a coordinating authority
    # confirms it by a submission (CSAR Art. 36(3): 1 month, extendable to 2).
    AWAITING_AUTHORITY = "candidate_awaiting_authority"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Algorithm(StrEnum):
    """Signal types, named as ThreatExchange names them where it has a name."""

    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    VIDEO_MD5 = "video_md5"
    PDQ = "pdq"
    VPDQ = "vpdq"
    PHOTODNA = "photodna"
    URL = "url"


EXACT_ALGORITHMS = frozenset({Algorithm.MD5, Algorithm.SHA1, Algorithm.SHA256, Algorithm.VIDEO_MD5})
HEX_LENGTH = {Algorithm.MD5: 32, Algorithm.VIDEO_MD5: 32, Algorithm.SHA1: 40, Algorithm.SHA256: 64, Algorithm.PDQ: 64}
_HEX = re.compile(r"[0-9a-f]+")
MEDIA_TYPE = {
    Algorithm.MD5: "image", Algorithm.SHA1: "image", Algorithm.SHA256: "image", Algorithm.PDQ: "image",
    Algorithm.PHOTODNA: "image", Algorithm.VIDEO_MD5: "video", Algorithm.VPDQ: "video", Algorithm.URL: "url",
}
MAX_URL_INDICATOR = 2000
PDQ_MATCH_THRESHOLD = 31
PDQ_MIN_QUALITY = 50

NCMEC_CATEGORIES = ("A1", "A2", "B1", "B2")
UK_CATEGORIES = ("A", "B", "C")
DIRECTIVE_ELEMENTS = ("2c_i", "2c_ii", "2c_iii", "2c_iv", "2e")
AGE_BANDS = ("0-2", "3-6", "7-12", "13-15", "16-17", "unknown")
FLAGS = ("generative_ai", "drawing_cgi", "deepfake", "self_generated")
NATIONAL_VALUES = ("illegal", "legal", "unknown")


class InvalidIndicator(ValueError):
    pass


def normalise_value(algorithm: Algorithm, value: str) -> str:
    """The canonical form of an indicator value, or InvalidIndicator saying what is wrong."""
    value = value.strip()
    if algorithm in HEX_LENGTH:
        length = HEX_LENGTH[algorithm]
        lowered = value.lower()
        if len(lowered) != length:
            raise InvalidIndicator(f"{algorithm.value} must be {length} hex characters, got {len(lowered)}")
        if not _HEX.fullmatch(lowered):
            raise InvalidIndicator(f"{algorithm.value} value is not hexadecimal")
        return lowered
    if algorithm is Algorithm.URL:
        return normalise_url(value)
    if algorithm is Algorithm.PHOTODNA:
        if not value or len(value) > 1000:
            raise InvalidIndicator("photodna value must be 1-1000 characters")
        return value
    if algorithm is Algorithm.VPDQ:
        raise InvalidIndicator("vpdq indicators are imported from vPDQ frame files, not as one value")
    raise InvalidIndicator(f"unsupported algorithm {algorithm}")


def normalise_url(value: str) -> str:
    if len(value) > MAX_URL_INDICATOR:
        raise InvalidIndicator(f"URL longer than {MAX_URL_INDICATOR} characters")
    if any(ord(c) < 0x21 for c in value):
        raise InvalidIndicator("URL contains spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise InvalidIndicator(f"malformed URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidIndicator("URL must be http(s) with a host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidIndicator(f"URL host is not a valid domain name: {exc}") from exc
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def validate_classification(data: Any) -> dict[str, Any]:
    """A classification under the schemes of DOMAIN.md §5, checked field by field."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidIndicator("classification must be an object")
    allowed = {"interpol_baseline", "national", "directive_2011_93", "uk_category", "ncmec_category",
               "youngest_age_band", "flags"}
    unknown = set(data) - allowed
    if unknown:
        raise InvalidIndicator(f"unknown classification fields: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "interpol_baseline" in data:
        if not isinstance(data["interpol_baseline"], bool):
            raise InvalidIndicator("interpol_baseline must be true or false")
        out["interpol_baseline"] = data["interpol_baseline"]
    if "national" in data:
        national = data["national"]
        if not isinstance(national, dict) or not all(
            isinstance(k, str) and re.fullmatch(r"[A-Z]{2}", k) and v in NATIONAL_VALUES for k, v in national.items()
        ):
            raise InvalidIndicator("national must map ISO country codes to illegal, legal or unknown")
        out["national"] = dict(sorted(national.items()))
    for key, choices in (("uk_category", UK_CATEGORIES), ("ncmec_category", NCMEC_CATEGORIES),
                         ("youngest_age_band", AGE_BANDS)):
        if key in data:
            if data[key] not in choices:
                raise InvalidIndicator(f"{key} must be one of {', '.join(choices)}")
            out[key] = data[key]
    for key, choices in (("directive_2011_93", DIRECTIVE_ELEMENTS), ("flags", FLAGS)):
        if key in data:
            values = data[key]
            if not isinstance(values, list) or any(v not in choices for v in values):
                raise InvalidIndicator(f"{key} must be a list drawn from {', '.join(choices)}")
            out[key] = sorted(set(values))
    return out


# -- vPDQ values ---------------------------------------------------------------------------------

#: The most frames one vPDQ indicator may hold (a two-hour video hashed at one frame a second is 7,200).
MAX_VPDQ_FRAMES = 100_000


def clean_frames(frames: Any) -> list[list[Any]]:
    """vPDQ frames ``[frame_number, quality, pdq, timestamp]`` checked and written canonically,
    or InvalidIndicator naming the frame that is wrong."""
    if not isinstance(frames, (list, tuple)) or not frames:
        raise InvalidIndicator("a vPDQ indicator needs at least one frame")
    if len(frames) > MAX_VPDQ_FRAMES:
        raise InvalidIndicator(f"a vPDQ indicator holds at most {MAX_VPDQ_FRAMES} frames, got {len(frames)}")
    clean = []
    for n, frame in enumerate(frames):
        try:
            number, quality, pdq, timestamp = frame
            number, quality, timestamp = int(number), int(quality), float(timestamp)
        except (TypeError, ValueError):
            raise InvalidIndicator(f"frame {n}: expected [frame_number, quality, pdq, timestamp]") from None
        if not 0 <= quality <= 100 or number < 0 or not timestamp >= 0:
            raise InvalidIndicator(f"frame {n}: frame number, quality or timestamp out of range")
        if not isinstance(pdq, str):
            raise InvalidIndicator(f"frame {n}: the PDQ hash must be text")
        try:
            pdq = normalise_value(Algorithm.PDQ, pdq)
        except InvalidIndicator as exc:
            raise InvalidIndicator(f"frame {n}: {exc}") from None
        clean.append([number, quality, pdq, round(timestamp, 3)])
    return clean


def vpdq_fingerprint(clean: list[list[Any]]) -> str:
    """The value a vPDQ indicator is stored under: the SHA-256 of its frames' canonical text."""
    text = "\n".join(f"{f[0]},{f[1]},{f[2]},{f[3]:.3f}" for f in clean)
    return hashlib.sha256(text.encode()).hexdigest()


def vpdq_compact(clean: list[list[Any]]) -> str:
    """The frames as python-threatexchange writes a vPDQ signal: a JSON list of
    ``"pdq,quality,timestamp"`` strings. It has no frame numbers."""
    return json.dumps([f"{f[2]},{f[1]},{f[3]:.3f}" for f in clean], separators=(",", ":"))


def parse_vpdq_compact(text: str) -> list[list[Any]]:
    """python-threatexchange's vPDQ text back to frames, numbered by position (the format has
    no frame numbers)."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidIndicator(f"vpdq value is not a JSON list: {exc.msg}") from None
    if not isinstance(items, list):
        raise InvalidIndicator("vpdq value must be a JSON list of \"pdq,quality,timestamp\" strings")
    frames = []
    for n, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise InvalidIndicator(f"frame {n}: expected \"pdq,quality,timestamp\"")
        frames.append([n, parts[1], parts[0], parts[2]])
    return clean_frames(frames)
