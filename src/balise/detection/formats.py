"""Indicator files in and out, as streams: CSV, ThreatExchange lines, Project VIC VICS JSON (1.3
and 2.0), NCMEC hash-sharing v2 XML and STIX 2.1 indicators (docs/exchange.md).

One implementation for ``balise indicators import|export``, the exchange feed and ``balise scan``'s
indicator files. Readers yield :class:`Candidate` values and put every bad entry in an
:class:`ImportReport` with its line (text and XML) or item number (JSON); a problem with the file
as a whole raises :class:`ImportAborted`. Nothing is read whole: lines are bounded, JSON is read
item by item (ijson), XML element by element (lxml, no DTD, no entities, no network), and a
compressed file (gzip, or a zip holding one file) is expanded through a meter that stops a zip
bomb. Writers take indicator rows in version order and yield text.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from balise.domain.indicators import (
    MEDIA_TYPE,
    NCMEC_CATEGORIES,
    Algorithm,
    IndicatorKind,
    IndicatorStatus,
    InvalidIndicator,
    clean_frames,
    normalise_value,
    parse_vpdq_compact,
    validate_classification,
    vpdq_compact,
    vpdq_fingerprint,
)

FORMATS = ("csv", "te", "vics", "ncmec", "stix")
FORMAT_NAMES = {"csv": "CSV", "te": "ThreatExchange lines", "vics": "Project VIC VICS JSON",
                "ncmec": "NCMEC hash-sharing XML", "stix": "STIX 2.1"}
MAX_ERRORS_KEPT = 1000
CSV_COLUMNS = ("signal_type", "signal_value", "kind", "media_type", "status", "quality", "language",
               "ncmec_category", "classification", "version", "frames")
#: A line longer than this is reported and skipped (a vPDQ line of 100,000 frames fits).
MAX_LINE_CHARS = 8 * 1024 * 1024
#: A compressed file may expand this many times its compressed size once past RATIO_FLOOR bytes.
MAX_RATIO = 100.0
RATIO_FLOOR = 16 * 1024 * 1024
#: Expanded bytes read from one compressed file at most.
MAX_EXPANDED = 64 * 1024 ** 3

csv.field_size_limit(MAX_LINE_CHARS)


class ImportAborted(RuntimeError):
    """A fatal problem with the whole file: nothing was imported."""


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    first_version: int | None = None
    last_version: int | None = None
    #: What the numbers of ``errors`` count: lines (CSV, TE, XML) or items (JSON).
    unit: str = "line"

    def reject(self, line: int, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((line, message))


# Not frozen: a frozen dataclass sets each of its 13 fields through object.__setattr__, 1.3 µs a
# candidate against 0.2 µs (a second of a million-line import). Nothing changes one once read.
@dataclass(slots=True)
class Candidate:
    line: int
    algorithm: Algorithm
    value: str
    kind: IndicatorKind
    media_type: str
    status: IndicatorStatus
    quality: int | None
    language: str | None
    classification: dict[str, Any]
    frames: list[list[Any]] | None = None
    #: As the file wrote them: VICS ``Category`` / NCMEC ``classification``, VICS ``Series``.
    category: str | None = None
    series: str | None = None
    #: The entry carries Balise's own fields (kind, status, classification), so no policy of
    #: the foreign format applies.
    balise: bool = False


def parse_algorithm(name: str) -> Algorithm:
    try:
        return Algorithm(name.strip().lower())
    except ValueError as exc:
        raise InvalidIndicator(f"unknown signal type {name.strip()!r}") from exc


def make_candidate(number: int, algorithm: Algorithm, value: str, default_kind: IndicatorKind,
                   row: dict[str, Any], frames: Any = None, **extra: Any) -> Candidate:
    """One entry checked field by field; InvalidIndicator names the field that is wrong."""
    clean = None
    if algorithm is Algorithm.VPDQ:
        if frames is None:
            raise InvalidIndicator("a vpdq indicator needs its frames")
        clean = clean_frames(frames)
        fingerprint = vpdq_fingerprint(clean)
        if value and value.strip().lower() != fingerprint:
            raise InvalidIndicator("the vpdq value is not the SHA-256 of its frames")
        value = fingerprint
    else:
        value = normalise_value(algorithm, value)
    try:
        kind = IndicatorKind(row.get("kind") or default_kind)
    except ValueError as exc:
        raise InvalidIndicator(f"unknown kind {row.get('kind')!r}") from exc
    if algorithm is Algorithm.URL and kind is not IndicatorKind.URL:
        kind = IndicatorKind.URL
    try:
        status = IndicatorStatus(row.get("status") or IndicatorStatus.ACTIVE)
    except ValueError as exc:
        raise InvalidIndicator(f"unknown status {row.get('status')!r}") from exc
    quality = None
    if row.get("quality") not in (None, ""):
        try:
            quality = int(row["quality"])
        except (TypeError, ValueError) as exc:
            raise InvalidIndicator("quality must be an integer 0-100") from exc
        if not 0 <= quality <= 100:
            raise InvalidIndicator("quality must be an integer 0-100")
    classification: Any = row.get("classification") or {}
    if isinstance(classification, str):
        try:
            classification = json.loads(classification)
        except json.JSONDecodeError as exc:
            raise InvalidIndicator(f"classification is not JSON: {exc.msg}") from exc
    if row.get("ncmec_category"):
        if not isinstance(classification, dict):
            raise InvalidIndicator("classification must be an object")
        classification = {**classification, "ncmec_category": str(row["ncmec_category"]).strip().upper()}
    classification = validate_classification(classification)
    media_type = row.get("media_type") or MEDIA_TYPE[algorithm]
    if media_type not in ("image", "video", "other", "text", "url"):
        raise InvalidIndicator(f"unknown media_type {media_type!r}")
    language = row.get("language") or None
    if language is not None and (not isinstance(language, str) or len(language) > 16):
        raise InvalidIndicator("language must be a language tag of at most 16 characters")
    return Candidate(number, algorithm, value, kind, media_type, status, quality, language, classification,
                     clean, **extra)


# -- input: compressed files and bounded lines -------------------------------------------------


class _Metered(io.RawIOBase):
    """Expanded bytes of a compressed stream, stopped when they grow past the limits."""

    def __init__(self, inner: IO[bytes], compressed: Callable[[], int], what: str,
                 max_ratio: float, ratio_floor: int, max_expanded: int) -> None:
        self._inner, self._compressed, self._what = inner, compressed, what
        self._ratio, self._floor, self._max = max_ratio, ratio_floor, max_expanded
        self.expanded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.expanded += n
        if self.expanded > self._max:
            raise ImportAborted(f"{self._what} expands beyond {self._max} bytes: refused as a zip bomb")
        if self.expanded > self._floor and self.expanded > self._ratio * max(1, self._compressed()):
            raise ImportAborted(f"{self._what} expands more than {self._ratio:g} times its compressed size: "
                                "refused as a zip bomb")
        return n


def open_input(stream: BinaryIO, *, max_ratio: float = MAX_RATIO, ratio_floor: int = RATIO_FLOOR,
               max_expanded: int = MAX_EXPANDED) -> BinaryIO:
    """The bytes of an indicator file: as given, or expanded from gzip or from a zip archive
    holding one file, through a meter that refuses a zip bomb (ImportAborted)."""
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    head = buffered.peek(4)[:4]  # type: ignore[union-attr]
    if head[:2] == b"\x1f\x8b":
        gz = gzip.GzipFile(fileobj=buffered, mode="rb")

        def consumed() -> int:
            try:
                return buffered.tell()
            except OSError:
                return 0
        return io.BufferedReader(_Metered(gz, consumed, "the gzip file", max_ratio, ratio_floor, max_expanded))  # type: ignore[return-value]
    if head == b"PK\x03\x04":
        if not buffered.seekable():
            raise ImportAborted("a zip archive must be given as a file, not on standard input")
        try:
            archive = zipfile.ZipFile(buffered)
        except zipfile.BadZipFile as exc:
            raise ImportAborted(f"not a readable zip archive: {exc}") from None
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise ImportAborted(f"the zip archive holds {len(members)} files; give it exactly one")
        member = members[0]
        if member.file_size > max_expanded or (
                member.file_size > ratio_floor and member.file_size > max_ratio * max(1, member.compress_size)):
            raise ImportAborted(f"{member.filename} in the zip archive declares {member.file_size} bytes from "
                                f"{member.compress_size}: refused as a zip bomb")
        inner = archive.open(member)
        size = member.compress_size
        return io.BufferedReader(_Metered(inner, lambda: size, f"{member.filename} in the zip archive",  # type: ignore[return-value]
                                          max_ratio, ratio_floor, max_expanded))
    return buffered  # type: ignore[return-value]


def text_lines(binary: BinaryIO, report: ImportReport, max_bytes: int = MAX_LINE_CHARS) -> Iterator[str]:
    """UTF-8 lines (a BOM dropped), each at most ``max_bytes``: a longer line is reported and
    stands as an empty line, so that the numbers of the following lines stay right. A line that
    is not UTF-8 aborts the file, naming the line."""
    number = 0
    while True:
        raw = binary.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            while (rest := binary.readline(max_bytes)) and not rest.endswith(b"\n"):
                pass
            report.reject(number, f"line longer than {max_bytes} bytes")
            yield "\n"
            continue
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportAborted(f"line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


# -- readers ------------------------------------------------------------------------------------


def read(fmt: str, binary: BinaryIO, default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """Candidates of a file in format ``fmt`` (already expanded: see :func:`open_input`)."""
    if fmt == "csv":
        return read_csv(text_lines(binary, report), default_kind, report)
    if fmt == "te":
        return read_te(text_lines(binary, report), default_kind, report)
    if fmt == "vics":
        return read_vics(binary, default_kind, report)
    if fmt == "ncmec":
        return read_ncmec(binary, default_kind, report)
    if fmt == "stix":
        return read_stix(binary, default_kind, report)
    raise ImportAborted(f"unknown format {fmt!r} ({', '.join(FORMATS)})")


_TE_FAST = re.compile(r"(md5|sha1|sha256|pdq|video_md5)[ \t]+([0-9a-f]+)[ \t]*\r?\n?")
_TE_LENGTH = {"md5": 32, "video_md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_ALGORITHM = {a.value: a for a in Algorithm}  # a dictionary lookup: Algorithm(name) is slower


def read_te(lines: Iterable[str], default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """``<signal_type> <value>`` lines; a vPDQ value is python-threatexchange's JSON list. A
    well-formed hash line in lower case takes a fast path; every other line is judged field by
    field (make_candidate), which names what is wrong."""
    active = IndicatorStatus.ACTIVE
    for number, raw in enumerate(lines, start=1):
        fast = _TE_FAST.fullmatch(raw)
        if fast is not None:
            name, value = fast.groups()
            if len(value) == _TE_LENGTH[name]:
                report.read += 1
                algorithm = _ALGORITHM[name]
                yield Candidate(number, algorithm, value, default_kind, MEDIA_TYPE[algorithm], active, None, None, {})
                continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        report.read += 1
        parts = line.split(None, 1)
        if len(parts) != 2:
            report.reject(number, "expected '<signal_type> <value>'")
            continue
        try:
            algorithm = parse_algorithm(parts[0])
            if algorithm is Algorithm.VPDQ:
                yield make_candidate(number, algorithm, "", default_kind, {}, parse_vpdq_compact(parts[1]))
            else:
                yield make_candidate(number, algorithm, parts[1], default_kind, {})
        except InvalidIndicator as exc:
            report.reject(number, str(exc))


def read_csv(lines: Iterable[str], default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """The columns of CSV_COLUMNS with a header naming at least signal_type and signal_value."""
    reader = csv.DictReader(lines)
    header = reader.fieldnames
    if not header or "signal_type" not in header or "signal_value" not in header:
        raise ImportAborted("the CSV header must name at least signal_type and signal_value")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImportAborted(f"unknown CSV columns: {', '.join(unknown)}")
    for row in reader:
        number = reader.line_num
        report.read += 1
        if None in row:
            report.reject(number, "more fields than the header names")
            continue
        try:
            algorithm = parse_algorithm(row["signal_type"] or "")
            frames = None
            if algorithm is Algorithm.VPDQ:
                if not row.get("frames"):
                    raise InvalidIndicator("a vpdq line needs the frames column")
                try:
                    frames = json.loads(row["frames"])
                except json.JSONDecodeError as exc:
                    raise InvalidIndicator(f"frames is not JSON: {exc.msg}") from None
            yield make_candidate(number, algorithm, row["signal_value"] or "", default_kind, row, frames,
                                 balise=True)
        except InvalidIndicator as exc:
            report.reject(number, str(exc))


# Project VIC VICS: the hash names of AlternativeHashes that Balise reads.
_VICS_HASHES = {"md5": Algorithm.MD5, "sha1": Algorithm.SHA1, "sha-1": Algorithm.SHA1, "sha256": Algorithm.SHA256,
                "sha-256": Algorithm.SHA256, "pdq": Algorithm.PDQ, "vpdq": Algorithm.VPDQ}


def _vics_media(binary: BinaryIO) -> Iterator[tuple[str, Any]]:
    """(where, Media) of a VICS file: ``value`` holding Media, or Cases holding ``Media``, or a
    top-level array of either. A Case is read Media by Media and its own fields are dropped, so
    one Case of millions of Media stays small in memory."""
    import ijson

    try:
        events = ijson.parse(binary, use_float=True)
        first = next(events, None)
        if first is None:
            raise ImportAborted("the file is empty")
        if first[1] == "start_array":
            root = "item"
        elif first[1] == "start_map":
            root = "value.item"
        else:
            raise ImportAborted("VICS JSON must be an object holding a 'value' array")
        case_media, media_prefix = f"{root}.Media.item", f"{root}.Media"
        index = media_index = -1
        item: Any = None
        media: Any = None
        has_media = skipping_key = False
        for prefix, event, value in events:
            if media is not None:
                media.event(event, value)
                if prefix == case_media and event == "end_map":
                    yield f"value[{index}].Media[{media_index}]", media.value
                    media = None
                continue
            if prefix == root:
                if event == "start_map":
                    index, media_index, has_media = index + 1, -1, False
                    item = ijson.ObjectBuilder()
                    item.event(event, value)
                elif event == "end_map":
                    if item is not None:
                        item.event(event, value)
                        if not has_media:
                            yield f"value[{index}]", item.value
                    item = None
                elif event == "map_key":
                    skipping_key = value == "Media"
                    if not skipping_key and item is not None:
                        item.event(event, value)
                elif item is None:
                    index += 1
                    yield f"value[{index}]", value
                elif not skipping_key:
                    item.event(event, value)
                continue
            if prefix == case_media and event == "start_map":
                media_index += 1
                media = ijson.ObjectBuilder()
                media.event(event, value)
                continue
            if prefix == media_prefix or prefix.startswith(media_prefix + "."):
                has_media = has_media or (prefix == media_prefix and event == "start_array")
                continue
            if item is not None:
                item.event(event, value)
        if index < 0 and first[1] == "start_map":
            raise ImportAborted("VICS JSON must hold a 'value' array")
    except ijson.JSONError as exc:
        raise ImportAborted(f"not valid JSON: {exc}") from None


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def read_vics(binary: BinaryIO, default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """Each hash of each Media (``MD5``, ``SHA1``, ``AlternativeHashes``) as a candidate with the
    Media's ``Category`` and ``Series``. A Media needs MD5 (VICS requires it) or an alternative
    hash. Balise's own exports carry the indicator's fields in ``BaliseIndicator``."""
    report.unit = "item"
    number = 0
    for where, m in _vics_media(binary):
        number += 1
        report.read += 1
        if not isinstance(m, dict):
            report.reject(number, f"{where}: a Media must be an object")
            continue
        alternatives = m.get("AlternativeHashes") or []
        if not m.get("MD5") and not alternatives:
            report.reject(number, f"{where}: Media without MD5 (nor an alternative hash)")
            continue
        own = m.get("BaliseIndicator") if isinstance(m.get("BaliseIndicator"), dict) else None
        category = None if m.get("Category") in (None, "") else str(m["Category"])
        series = None if m.get("Series") in (None, "") else str(m["Series"])
        hashes: list[tuple[Algorithm, Any, Any]] = []
        if m.get("MD5"):
            hashes.append((Algorithm.MD5, m["MD5"], None))
        if m.get("SHA1"):
            hashes.append((Algorithm.SHA1, m["SHA1"], None))
        if not isinstance(alternatives, list):
            report.reject(number, f"{where}: AlternativeHashes must be a list")
            continue
        for alt in alternatives:
            name = str(alt.get("HashName", "")).lower() if isinstance(alt, dict) else ""
            if name in _VICS_HASHES and alt.get("HashValue"):
                hashes.append((_VICS_HASHES[name], alt["HashValue"], alt.get("Frames")))
        row = dict(own or {})
        for algorithm, value, frames in hashes:
            try:
                if algorithm is Algorithm.VPDQ:
                    frames = frames if frames is not None else parse_vpdq_compact(_hex(value))
                    value = ""
                yield make_candidate(number, algorithm, _hex(value), default_kind, row, frames, category=category,
                                     series=series, balise=own is not None)
            except InvalidIndicator as exc:
                report.reject(number, f"{where}: {algorithm.value}: {exc}")


_LOCAL = re.compile(r"^\{[^}]*\}")
# NCMEC fingerprint element names (and Balise's additions sha256 and vpdq) to signal types.
_NCMEC_HASHES = {"md5": Algorithm.MD5, "sha1": Algorithm.SHA1, "sha256": Algorithm.SHA256, "pdq": Algorithm.PDQ,
                 "pdna": Algorithm.PHOTODNA, "vpdq": Algorithm.VPDQ}


def _local(tag: Any) -> str:
    return _LOCAL.sub("", tag).lower() if isinstance(tag, str) else ""


def read_ncmec(binary: BinaryIO, default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """``<image>`` / ``<video>`` entries (and ``<deletedImage>`` / ``<deletedVideo>``, yielded
    with status deleted), each fingerprint a candidate with the entry's classification. lxml
    without DTD loading, entity resolution or network; each entry is dropped once read."""
    from lxml import etree

    try:
        for _, el in etree.iterparse(binary, events=("end",), resolve_entities=False, no_network=True,
                                     load_dtd=False, huge_tree=False, remove_comments=True):
            tag = _local(el.tag)
            if tag not in ("image", "video", "deletedimage", "deletedvideo"):
                continue
            line = el.sourceline or 0
            report.read += 1
            hashes: list[tuple[str, str]] = []
            category = None
            for sub in el.iter():
                st = _local(sub.tag)
                text = (sub.text or "").strip()
                if st in _NCMEC_HASHES and text:
                    hashes.append((st, text))
                elif st == "fingerprint" and text and str(sub.get("type", "")).lower() in _NCMEC_HASHES:
                    hashes.append((str(sub.get("type")).lower(), text))
                elif st == "classification" and text:
                    category = text.upper()
            deleted = tag.startswith("deleted")
            media_type = "video" if tag.endswith("video") else "image"
            if not hashes:
                report.reject(line, f"<{_local(el.tag)}> entry without a usable fingerprint")
            row: dict[str, Any] = {"status": IndicatorStatus.DELETED.value if deleted else None,
                                   "media_type": media_type}
            if category and not deleted:
                if category not in NCMEC_CATEGORIES:
                    report.reject(line, f"classification {category!r} is not one of {', '.join(NCMEC_CATEGORIES)}")
                    hashes = []
                row["ncmec_category"] = category
            for name, value in hashes:
                algorithm = _NCMEC_HASHES[name]
                try:
                    if algorithm is Algorithm.VPDQ:
                        yield make_candidate(line, algorithm, "", default_kind, row, parse_vpdq_compact(value),
                                             category=category)
                    else:
                        yield make_candidate(line, algorithm, value, default_kind, row, category=category)
                except InvalidIndicator as exc:
                    report.reject(line, f"{name}: {exc}")
            el.clear()
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise ImportAborted(f"line {exc.lineno or 0}: XML error: {exc.msg}") from None


# STIX 2.1: the hash names Balise writes and reads in file:hashes patterns.
_STIX_HASH_NAMES = {Algorithm.MD5: "MD5", Algorithm.SHA1: "SHA-1", Algorithm.SHA256: "SHA-256",
                    Algorithm.PDQ: "x_pdq", Algorithm.VPDQ: "x_vpdq", Algorithm.VIDEO_MD5: "x_video_md5",
                    Algorithm.PHOTODNA: "x_photodna"}
_STIX_HASHES = {name.lower(): algorithm for algorithm, name in _STIX_HASH_NAMES.items()}
_STIX_HASHES.update({"sha1": Algorithm.SHA1, "sha256": Algorithm.SHA256, "pdq": Algorithm.PDQ, "vpdq": Algorithm.VPDQ})
_STIX_PATTERN = re.compile(
    r"^\[\s*(?:file:hashes\.(?:'(?P<quoted>[^']+)'|(?P<bare>[A-Za-z0-9_-]+))|(?P<url>url:value))\s*=\s*"
    r"'(?P<value>(?:[^'\\]|\\.)*)'\s*\]$")
_STIX_NAMESPACE = uuid.UUID("6b8f0b38-0d3d-4a63-9d0b-7b1f3c2e5a10")


def _stix_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _stix_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def read_stix(binary: BinaryIO, default_kind: IndicatorKind, report: ImportReport) -> Iterator[Candidate]:
    """The ``indicator`` objects of a STIX 2.1 bundle whose pattern is one comparison of a file
    hash or a URL; a revoked indicator is a deletion. Other objects are skipped."""
    import ijson

    report.unit = "item"
    number = -1
    try:
        for number, obj in enumerate(ijson.items(binary, "objects.item", use_float=True)):
            if not isinstance(obj, dict) or obj.get("type") != "indicator":
                continue
            report.read += 1
            where = f"objects[{number}]"
            if obj.get("pattern_type", "stix") != "stix":
                report.reject(number, f"{where}: pattern_type {obj.get('pattern_type')!r} is not stix")
                continue
            m = _STIX_PATTERN.match(str(obj.get("pattern", "")).strip())
            if not m:
                report.reject(number, f"{where}: the pattern is not one file hash or URL comparison")
                continue
            if m.group("url"):
                algorithm: Algorithm | None = Algorithm.URL
            else:
                algorithm = _STIX_HASHES.get((m.group("quoted") or m.group("bare")).lower())
            if algorithm is None:
                report.reject(number, f"{where}: hash {m.group('quoted') or m.group('bare')!r} is not one Balise reads")
                continue
            value = _stix_unescape(m.group("value"))
            row = {"kind": obj.get("x_balise_kind"), "status": obj.get("x_balise_status"),
                   "classification": obj.get("x_balise_classification"), "quality": obj.get("x_balise_quality"),
                   "media_type": obj.get("x_balise_media_type"), "language": obj.get("x_balise_language")}
            if obj.get("revoked") is True:
                row["status"] = IndicatorStatus.DELETED.value
            try:
                frames = None
                if algorithm is Algorithm.VPDQ:
                    frames = obj.get("x_balise_frames")
                    if frames is None:
                        raise InvalidIndicator("a vPDQ indicator needs x_balise_frames")
                yield make_candidate(number, algorithm, value, default_kind, row, frames,
                                     balise="x_balise_kind" in obj)
            except InvalidIndicator as exc:
                report.reject(number, f"{where}: {exc}")
    except ijson.JSONError as exc:
        raise ImportAborted(f"not valid JSON after item {number}: {exc}") from None
    if number < 0:
        raise ImportAborted("not a STIX bundle: no 'objects' array with any object")


# -- writers ------------------------------------------------------------------------------------


class Row:
    """What a writer reads of an indicator (an ORM row has these attributes)."""

    id: int
    algorithm: str
    value: str
    kind: str
    media_type: str
    status: str
    quality: int | None
    language: str | None
    classification: dict[str, Any] | None
    frames: list[list[Any]] | None
    version: int
    created_at: datetime
    updated_at: datetime


#: Rows of the given media types (None: all), in version order.
RowSource = Callable[[tuple[str, ...] | None], Iterable[Any]]


@dataclass
class ExportReport:
    written: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


MEDIA_ALGORITHMS = frozenset({"md5", "sha1", "sha256", "pdq", "vpdq", "video_md5"})


def write(fmt: str, rows: RowSource, report: ExportReport | None = None, *, vics_version: str = "2.0",
          member: str = "Balise") -> Iterator[str]:
    """The text of an export in ``fmt``, streamed, from ``rows`` in version order."""
    report = report if report is not None else ExportReport()
    if fmt == "csv":
        return _write_csv(rows(None), report)
    if fmt == "te":
        return _write_te(rows(None), report)
    if fmt == "vics":
        if vics_version not in ("1.3", "2.0"):
            raise ImportAborted("the VICS version is 1.3 or 2.0")
        return _write_vics(rows(None), report, vics_version)
    if fmt == "ncmec":
        return _write_ncmec(rows, report, member)
    if fmt == "stix":
        return _write_stix(rows(None), report)
    raise ImportAborted(f"unknown format {fmt!r} ({', '.join(FORMATS)})")


def _write_csv(rows: Iterable[Any], report: ExportReport) -> Iterator[str]:
    yield _csv_line(["signal_type", "signal_value", "kind", "media_type", "status", "quality", "language",
                     "classification", "version", "frames"])
    for ind in rows:
        report.written += 1
        yield _csv_line([ind.algorithm, ind.value, ind.kind, ind.media_type, ind.status,
                         "" if ind.quality is None else str(ind.quality), ind.language or "",
                         json.dumps(ind.classification, sort_keys=True) if ind.classification else "",
                         str(ind.version),
                         json.dumps(ind.frames, separators=(",", ":")) if ind.frames else ""])


def _te_value(ind: Any) -> str:
    return vpdq_compact(ind.frames) if ind.algorithm == "vpdq" else ind.value


def _write_te(rows: Iterable[Any], report: ExportReport) -> Iterator[str]:
    for ind in rows:
        report.written += 1
        yield f"{ind.algorithm} {_te_value(ind)}\n"


def _own_fields(ind: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": ind.kind, "status": ind.status, "media_type": ind.media_type}
    if ind.classification:
        out["classification"] = ind.classification
    if ind.quality is not None:
        out["quality"] = ind.quality
    if ind.language:
        out["language"] = ind.language
    return out


_VICS_ALT_NAMES = {"sha1": "SHA1", "sha256": "SHA256", "pdq": "PDQ", "vpdq": "VPDQ"}


def _write_vics(rows: Iterable[Any], report: ExportReport, version: str) -> Iterator[str]:
    if version == "1.3":
        yield '{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media","value":['
    else:
        yield '{"@odata.context":"http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/US_2.0#Media","value":['
    n = 0
    for ind in rows:
        if ind.algorithm not in ("md5", "sha1", "sha256", "pdq", "vpdq"):
            report.skip(f"{ind.algorithm}: VICS holds media hashes only")
            continue
        if ind.status != IndicatorStatus.ACTIVE.value:
            report.skip("VICS cannot mark an indicator suspended or deleted")
            continue
        media: dict[str, Any] = {"MediaID": ind.id, "Category": 1, "IsPrecategorized": True,
                                 "MediaType": "Video" if ind.media_type == "video" else "Image"}
        if ind.algorithm == "md5":
            media["MD5"] = ind.value.upper()
        else:
            alt: dict[str, Any] = {"HashName": _VICS_ALT_NAMES[ind.algorithm], "HashValue": _te_value(ind)}
            if ind.algorithm == "vpdq":
                alt["Frames"] = ind.frames
            if ind.algorithm == "pdq" and ind.quality is not None:
                alt["Quality"] = ind.quality
            media["AlternativeHashes"] = [alt]
        media["BaliseIndicator"] = _own_fields(ind)
        report.written += 1
        yield ("\n" if n == 0 else ",\n") + json.dumps(media, ensure_ascii=False, separators=(",", ":"))
        n += 1
    yield "\n]}\n"


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_ncmec(rows: RowSource, report: ExportReport, member: str) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">\n'
    for section, entry, media_types in (("images", "image", ("image", "other", "text")), ("videos", "video", ("video",))):
        yield f"<{section}>\n"
        for ind in rows(media_types):
            if ind.algorithm not in _NCMEC_HASHES:
                report.skip(f"{ind.algorithm}: NCMEC hash sharing holds media fingerprints only")
                continue
            name = "pdna" if ind.algorithm == "photodna" else ind.algorithm
            tag = entry if ind.status == IndicatorStatus.ACTIVE.value else "deleted" + entry.capitalize()
            category = (ind.classification or {}).get("ncmec_category")
            parts = [f"<{tag}><id>balise-{ind.id}</id><member id=\"0\">{_xml_text(member)}</member>",
                     f"<timestamp>{_iso(ind.updated_at)}</timestamp>"]
            if category and tag == entry:
                parts.append(f"<classification>{category}</classification>")
            parts.append(f"<fingerprints><{name}>{_xml_text(_te_value(ind))}</{name}></fingerprints></{tag}>\n")
            report.written += 1
            yield "".join(parts)
        yield f"</{section}>\n"
    yield "</queryResult>\n"


def stix_id(algorithm: str, value: str) -> str:
    """An indicator's STIX id: the same for the same hash in every export."""
    return f"indicator--{uuid.uuid5(_STIX_NAMESPACE, f'{algorithm}:{value}')}"


def _write_stix(rows: Iterable[Any], report: ExportReport) -> Iterator[str]:
    yield json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}"})[:-1] + ', "objects": ['
    n = 0
    for ind in rows:
        algorithm = Algorithm(ind.algorithm)
        if algorithm is Algorithm.URL:
            pattern = f"[url:value = '{_stix_escape(ind.value)}']"
        else:
            pattern = f"[file:hashes.'{_STIX_HASH_NAMES[algorithm]}' = '{_stix_escape(ind.value)}']"
        obj: dict[str, Any] = {
            "type": "indicator", "spec_version": "2.1", "id": stix_id(ind.algorithm, ind.value),
            "created": _iso(ind.created_at), "modified": _iso(ind.updated_at),
            "name": f"{ind.algorithm} {ind.kind}", "indicator_types": ["malicious-activity"],
            "pattern": pattern, "pattern_type": "stix", "valid_from": _iso(ind.created_at),
            "revoked": ind.status == IndicatorStatus.DELETED.value,
            "x_balise_kind": ind.kind, "x_balise_status": ind.status, "x_balise_media_type": ind.media_type,
        }
        if ind.classification:
            obj["x_balise_classification"] = ind.classification
        if ind.quality is not None:
            obj["x_balise_quality"] = ind.quality
        if ind.language:
            obj["x_balise_language"] = ind.language
        if ind.frames:
            obj["x_balise_frames"] = ind.frames
        report.written += 1
        yield ("\n" if n == 0 else ",\n") + json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        n += 1
    yield "\n]}\n"
