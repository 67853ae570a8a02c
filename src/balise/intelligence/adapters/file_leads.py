"""Leads from the files themselves (docs/intelligence.md#leads-from-the-files): EXIF camera
make, model and serial, lens, GPS position, capture time and software; the XMP/IPTC digital
source type; a C2PA manifest (signer, claim generator, actions, AI-generation source types)
read and validated by c2pa-python.

Hostile files are expected: everything here runs in a child process limited in wall time and
address space (like the hasher), reads at most ``max_bytes`` of the file, refuses an XMP packet
over ``max_xmp_bytes`` without parsing it, and parses XML without entities or network. A
corrupt EXIF block, a huge XMP packet, a C2PA manifest whose signature or chain does not
validate: each is recorded in ``problems`` (and the C2PA validation codes kept), never raised.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
SOURCE_TYPE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: IPTC digital source types that say a model generated (all or part of) the picture.
GENERATIVE_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia",
                                     "algorithmicMedia", "compositeSynthetic"})
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_XMP = 256 * 1024
MAX_TEXT = 200


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = " ".join(str(value).replace("\x00", " ").split())
    return text[:MAX_TEXT] or None


def _ratio(value: Any) -> float:
    return float(value)


def _gps(gps: Any) -> dict[str, float] | None:
    try:
        lat, lon = gps.get(2), gps.get(4)
        if not lat or not lon:
            return None
        latitude = _ratio(lat[0]) + _ratio(lat[1]) / 60 + _ratio(lat[2]) / 3600
        longitude = _ratio(lon[0]) + _ratio(lon[1]) / 60 + _ratio(lon[2]) / 3600
        if str(gps.get(1, "N")).upper().startswith("S"):
            latitude = -latitude
        if str(gps.get(3, "E")).upper().startswith("W"):
            longitude = -longitude
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        raise ValueError("GPS") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("GPS out of range")
    return {"latitude": round(latitude, 6), "longitude": round(longitude, 6)}


def read_exif(data: bytes, problems: list[str]) -> dict[str, Any]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            sub = exif.get_ifd(0x8769)
            gps_ifd = exif.get_ifd(0x8825)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError, KeyError, IndexError,
            __import__("struct").error):
        problems.append("exif_corrupt")
        return {}
    if not exif and b"Exif\x00\x00" in data[:131072]:
        # An EXIF segment that the parser could not read (Pillow drops a broken one silently).
        problems.append("exif_corrupt")
        return {}
    found: dict[str, Any] = {
        "make": _text(exif.get(0x010F)), "model": _text(exif.get(0x0110)), "software": _text(exif.get(0x0131)),
        "serial": _text(sub.get(0xA431)), "lens": _text(sub.get(0xA434)) or _text(sub.get(0xA433)),
        "captured_at": _text(sub.get(0x9003) or exif.get(0x0132)),
    }
    if gps_ifd:
        try:
            found["gps"] = _gps(gps_ifd)
        except ValueError:
            problems.append("gps_corrupt")
    return {k: v for k, v in found.items() if v}


_XMP_START = re.compile(rb"<x:xmpmeta[\s>]")
_XMP_END = b"</x:xmpmeta>"


def read_xmp(data: bytes, max_xmp: int, problems: list[str]) -> dict[str, Any]:
    start = _XMP_START.search(data)
    if start is None:
        return {}
    end = data.find(_XMP_END, start.start())
    if end < 0:
        problems.append("xmp_too_large" if len(data) - start.start() > max_xmp else "xmp_corrupt")
        return {}
    packet = data[start.start(): end + len(_XMP_END)]
    if len(packet) > max_xmp:
        problems.append("xmp_too_large")
        return {}
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(packet, parser)
    except etree.XMLSyntaxError:
        problems.append("xmp_corrupt")
        return {}
    values = [v for v in root.xpath("//@*[local-name()='DigitalSourceType'] | //*[local-name()='DigitalSourceType']"
                                    "/text() | //*[local-name()='DigitalSourceType']/@*[local-name()='resource']")]
    types = sorted({str(v).strip().rsplit("/", 1)[-1] for v in values if str(v).strip()})[:10]
    return {"digital_source_type": types} if types else {}


def read_c2pa(data: bytes, mime: str, problems: list[str]) -> dict[str, Any]:
    try:
        import c2pa
    except ImportError:  # pragma: no cover - a pinned dependency
        problems.append("c2pa_unavailable")
        return {}
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - the library's error types vary by release
        if "ManifestNotFound" in type(exc).__name__ or "ManifestNotFound" in str(exc):
            return {}
        problems.append("c2pa_unreadable")
        return {"state": "unreadable", "error": _text(f"{type(exc).__name__}: {exc}")}
    try:
        store = json.loads(reader.json())
        state = str(reader.get_validation_state())
    finally:
        reader.close()
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest") or "", {})
    signature = manifest.get("signature_info") or {}
    generators = [g.get("name") for g in manifest.get("claim_generator_info") or [] if isinstance(g, dict)]
    actions, source_types = [], set()
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions") or []:
                actions.append(_text(action.get("action")))
                if action.get("digitalSourceType"):
                    source_types.add(str(action["digitalSourceType"]).rsplit("/", 1)[-1])
    failures = sorted({str(s.get("code")) for s in store.get("validation_status") or [] if s.get("code")})
    # A signing certificate outside the trust list is expected here (no trust list is
    # configured); a signature or hash that does not validate is not.
    broken = [f for f in failures if f != "signingCredential.untrusted"]
    if broken:
        problems.append("c2pa_invalid")
    return {"state": "invalid" if broken else "valid", "validation": failures[:20],
            "signer": _text(signature.get("common_name")), "issuer": _text(signature.get("issuer")),
            "claim_generator": _text(", ".join(g for g in generators if g) or manifest.get("claim_generator")),
            "actions": [a for a in actions if a][:20], "digital_source_type": sorted(source_types)[:10]}


def read_leads(path: str, mime: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_xmp_bytes: int = DEFAULT_MAX_XMP) -> dict[str, Any]:
    """Everything found, with ``problems``; ``generative`` when XMP or C2PA name a model."""
    problems: list[str] = []
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        data = f.read(max_bytes)
    if size > max_bytes:
        problems.append("file_truncated_for_metadata")
    mime = mime or ("image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg")
    leads: dict[str, Any] = {"exif": read_exif(data, problems), "xmp": read_xmp(data, max_xmp_bytes, problems),
                             "c2pa": read_c2pa(data, mime, problems)}
    sources = set(leads["xmp"].get("digital_source_type", [])) | set(leads["c2pa"].get("digital_source_type", []))
    leads["generative"] = bool(sources & GENERATIVE_SOURCE_TYPES)
    leads["problems"] = problems
    return leads


def _child(conn: Any, path: str, mime: str | None, memory: int | None, limits: dict[str, int]) -> None:
    if memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        conn.send(read_leads(path, mime, **limits))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a problem
        conn.send({"problems": [f"metadata_error: {type(exc).__name__}"[:100]], "generative": False})
    finally:
        conn.close()


def read_leads_isolated(path: str, mime: str | None = None, *, timeout_s: float = 10.0,
                        memory_bytes: int | None = 1 << 30, max_bytes: int = DEFAULT_MAX_BYTES,
                        max_xmp_bytes: int = DEFAULT_MAX_XMP) -> dict[str, Any]:
    """:func:`read_leads` in a child process bounded in time and memory; a timeout or a crash
    is a result with a problem, never an exception."""
    from balise.detection.adapters.media_hash import _main_module_hidden, _mp_context

    ctx = _mp_context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, path, mime, memory_bytes,
                                            {"max_bytes": max_bytes, "max_xmp_bytes": max_xmp_bytes}), daemon=True)
    with _main_module_hidden():
        proc.start()
    child.close()
    result = None
    timed_out = False
    try:
        if not parent.poll(timeout_s):
            timed_out = True
        else:
            try:
                result = parent.recv()
            except (EOFError, OSError):
                result = None
        proc.join(timeout=5)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
    if result is None:
        reason = "metadata_timeout" if timed_out else "metadata_crash"
        return {"problems": [reason], "generative": False}
    return result
