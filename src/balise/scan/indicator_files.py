"""Indicator lists read from local files, format detected by content.

* CSV with a header naming ``signal_type,signal_value`` (the ``balise indicators export``
  columns), and ThreatExchange lines ``<signal_type> <value>`` (``pdq <hex64>``): parsed by
  :meth:`balise.detection.indicators.Indicators.parse_lines`, without a database.
* Project VIC VICS JSON (OData) and NCMEC hash-sharing v2 XML: read by the shared readers of
  :mod:`balise.detection.formats` (streamed; XML without DTD, entities or network; a gzip or zip
  file expanded through the zip-bomb meter), as ``balise indicators import`` reads them.
* vPDQ frame files (``frame_number,quality,pdq_hex64,timestamp`` lines): one video each.
  ``<deletedImage>`` / ``<deletedVideo>`` entries remove hashes listed before.

Bad entries are reported with their line number and skipped; the rest is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from balise.detection.adapters.pdq_index import hex_to_words
from balise.domain.indicators import IndicatorKind

EXACT = ("md5", "sha1", "sha256")


@dataclass
class Indicator:
    algorithm: str  # md5 | sha1 | sha256 | pdq | vpdq
    value: str
    source: str
    kind: str = "known_csam"
    category: str | None = None
    series: str | None = None
    frames: list[tuple[int, int, str, float]] | None = None


@dataclass
class LoadReport:
    source: str
    format: str
    loaded: int = 0
    removed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class IndicatorSet:
    """Indicators held compactly: exact values in dicts, PDQ as ``(N, 4)`` uint64 words, each
    entry pointing at a shared ``(source, kind, category, series)`` description."""

    def __init__(self) -> None:
        self.metas: list[tuple[str, str, str | None, str | None]] = []
        self._meta_ids: dict[tuple, int] = {}
        self.exact: dict[str, dict[str, Any]] = {"md5": {}, "sha1": {}, "sha256": {}}
        self._pdq_words: list[np.ndarray] = []
        self._pdq_meta: list[np.ndarray] = []
        self._pdq_pending: list[str] = []
        self._pdq_pending_meta: list[int] = []
        self.videos: list[Indicator] = []
        self.count = 0

    def meta(self, source: str, kind: str, category: str | None, series: str | None) -> int:
        key = (source, kind, category, series)
        mid = self._meta_ids.get(key)
        if mid is None:
            mid = self._meta_ids[key] = len(self.metas)
            self.metas.append(key)
        return mid

    def add_exact(self, algorithm: str, value: str, mid: int) -> None:
        d = self.exact[algorithm]
        old = d.get(value)
        if old is None:
            d[value] = mid
        elif isinstance(old, int):
            if old != mid:
                d[value] = (old, mid)
        elif mid not in old:
            d[value] = (*old, mid)
        self.count += 1

    def add_pdq(self, value: str, mid: int) -> None:
        self._pdq_pending.append(value)
        self._pdq_pending_meta.append(mid)
        self.count += 1
        if len(self._pdq_pending) >= 100_000:
            self._flush()

    def _flush(self) -> None:
        if self._pdq_pending:
            self._pdq_words.append(hex_to_words(self._pdq_pending))
            self._pdq_meta.append(np.asarray(self._pdq_pending_meta, dtype=np.int32))
            self._pdq_pending, self._pdq_pending_meta = [], []

    def add(self, ind: Indicator) -> None:
        if ind.algorithm == "vpdq":
            self.videos.append(ind)
            self.count += 1
            return
        mid = self.meta(ind.source, ind.kind, ind.category, ind.series)
        if ind.algorithm == "pdq":
            self.add_pdq(ind.value, mid)
        else:
            self.add_exact(ind.algorithm, ind.value, mid)

    def remove(self, algorithm: str, value: str) -> bool:
        if algorithm in self.exact:
            if self.exact[algorithm].pop(value, None) is not None:
                self.count -= 1
                return True
            return False
        self._flush()
        w = hex_to_words([value])[0]
        hit = False
        for k, words in enumerate(self._pdq_words):
            keep = ~(words == w).all(axis=1)
            if not keep.all():
                hit = True
                self.count -= int((~keep).sum())
                self._pdq_words[k], self._pdq_meta[k] = words[keep], self._pdq_meta[k][keep]
        return hit

    def pdq(self) -> tuple[np.ndarray, np.ndarray]:
        self._flush()
        if not self._pdq_words:
            return np.zeros((0, 4), dtype=np.uint64), np.zeros(0, dtype=np.int32)
        return np.concatenate(self._pdq_words), np.concatenate(self._pdq_meta)

    def __len__(self) -> int:
        return self.count


def detect_format(head: str) -> str:
    s = head.lstrip("\ufeff \t\r\n")
    if s.startswith("{") or s.startswith("["):
        return "vics"
    if s.startswith("<"):
        return "ncmec"
    if re.match(r"\s*\d+\s*,\s*\d+\s*,\s*[0-9a-fA-F]{64}\s*,", s):
        return "vpdq"
    first = next((ln for ln in s.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if "," in first and "signal_type" in first and "signal_value" in first:
        return "csv"
    return "te"


def load_file(path: Path, into: IndicatorSet | None = None) -> tuple[IndicatorSet, LoadReport]:
    """Load one indicator file (format detected by content) into ``into`` (or a new set)."""
    iset = into if into is not None else IndicatorSet()
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    fmt = detect_format(head)
    source = path.name
    report = LoadReport(source=str(path), format=fmt)
    before = len(iset)
    if fmt == "te":
        _load_te(path, source, iset, report)
    elif fmt == "csv":
        for ind in _load_lines(path, fmt, source, report):
            iset.add(ind)
    elif fmt == "vpdq":
        for ind in _load_vpdq(path, source, report):
            iset.add(ind)
    elif fmt == "vics":
        for ind in _load_vics(path, source, report):
            iset.add(ind)
    else:
        for ind in _load_ncmec(path, source, report, iset):
            iset.add(ind)
    report.loaded = len(iset) - before + report.removed
    return iset, report


_TE_FAST = re.compile(r"^(pdq|md5|sha1|sha256|video_md5)[ \t]+([0-9a-fA-F]+)\s*$")
_TE_LEN = {"pdq": 64, "md5": 32, "video_md5": 32, "sha1": 40, "sha256": 64}


def _load_te(path: Path, source: str, iset: IndicatorSet, report: LoadReport) -> None:
    """ThreatExchange lines: well-formed lines take a fast path; every other line is judged by
    the shared parser (Indicators.parse_lines), which names what is wrong."""
    from balise.detection.indicators import ImportReport, Indicators

    parser = Indicators(None, None)  # type: ignore[arg-type] - parse_lines needs neither
    mid = iset.meta(source, "known_csam", None, None)
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            m = _TE_FAST.match(line)
            if m and len(m.group(2)) == _TE_LEN[m.group(1)]:
                algo, value = m.group(1), m.group(2).lower()
                if algo == "pdq":
                    iset.add_pdq(value, mid)
                else:
                    iset.add_exact("md5" if algo == "video_md5" else algo, value, mid)
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            rep = ImportReport()
            for c in parser.parse_lines([line], "te", IndicatorKind.KNOWN_CSAM, rep):
                if c.algorithm.value not in (*EXACT, "pdq", "video_md5"):
                    report.errors.append((number, f"{c.algorithm.value} indicators are not used by the scan"))
                    continue
                algo = "md5" if c.algorithm.value == "video_md5" else c.algorithm.value
                iset.add(Indicator(algo, c.value, source, c.kind.value))
            report.errors.extend((number, msg) for _, msg in rep.errors)


def _load_lines(path: Path, fmt: str, source: str, report: LoadReport) -> list[Indicator]:
    from balise.detection.indicators import ImportAborted, ImportReport, Indicators

    parser = Indicators(None, None)  # type: ignore[arg-type] - parse_lines needs neither
    rep = ImportReport()
    out = []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        try:
            for c in parser.parse_lines(f, fmt, IndicatorKind.KNOWN_CSAM, rep):
                if c.algorithm.value not in (*EXACT, "pdq", "video_md5"):
                    rep.reject(c.line, f"{c.algorithm.value} indicators are not used by the scan")
                    continue
                if c.status.value != "active":
                    continue
                algo = "md5" if c.algorithm.value == "video_md5" else c.algorithm.value
                out.append(Indicator(algo, c.value, source, c.kind.value, c.classification.get("ncmec_category")))
        except ImportAborted as exc:
            report.errors.append((1, str(exc)))
    report.errors.extend(rep.errors)
    return out


def _load_vpdq(path: Path, source: str, report: LoadReport) -> list[Indicator]:
    """A vPDQ frame file (``frame_number,quality,pdq,timestamp`` lines): one video indicator."""
    from balise.detection.adapters.vpdq_match import parse_vpdq_lines

    try:
        frames = parse_vpdq_lines(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        m = re.search(r"line (\d+)", str(exc))
        report.errors.append((int(m.group(1)) if m else 0, str(exc)))
        return []
    if not frames:
        return []
    return [Indicator("vpdq", path.name, source, frames=[(f.frame_number, f.quality, f.pdq_hex, f.timestamp)
                                                           for f in frames])]


def _shared(path: Path, fmt: str, report: LoadReport):  # type: ignore[no-untyped-def]
    """Candidates of a VICS or NCMEC file from the shared reader (balise.detection.formats),
    the reader's complaints moved into ``report``."""
    from balise.detection import formats

    rep = formats.ImportReport()
    try:
        with open(path, "rb") as f:
            yield from formats.read(fmt, formats.open_input(f), IndicatorKind.KNOWN_CSAM, rep)
    except formats.ImportAborted as exc:
        rep.errors.append((0, f"{exc}; rest of the file ignored"))
    finally:
        # JSON entries are named by their place in the file ("value[3].Media[2]"), not a line.
        report.errors.extend((0 if rep.unit == "item" else n, msg) for n, msg in rep.errors)


def _load_vics(path: Path, source: str, report: LoadReport) -> list[Indicator]:
    out: list[Indicator] = []
    for c in _shared(path, "vics", report):
        if c.algorithm.value not in (*EXACT, "pdq", "vpdq"):
            continue
        kind = "known_csam" if c.category not in (None, "0") else "known"
        frames = [tuple(f) for f in c.frames] if c.frames else None
        out.append(Indicator(c.algorithm.value, c.value, source, kind, c.category, c.series, frames))  # type: ignore[arg-type]
    return out


def _load_ncmec(path: Path, source: str, report: LoadReport, iset: IndicatorSet | None = None) -> list[Indicator]:
    entries: dict[tuple[str, str], Indicator] = {}
    for c in _shared(path, "ncmec", report):
        algo = c.algorithm.value
        if algo not in (*EXACT, "pdq", "vpdq"):
            continue
        if c.status.value == "deleted":
            if entries.pop((algo, c.value), None) is not None or (
                    iset is not None and algo != "vpdq" and iset.remove(algo, c.value)):
                report.removed += 1
        else:
            frames = [tuple(f) for f in c.frames] if c.frames else None
            entries[(algo, c.value)] = Indicator(algo, c.value, source, "known_csam", c.category, None, frames)  # type: ignore[arg-type]
    return list(entries.values())
