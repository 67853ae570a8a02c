"""A cache of the loaded indicator lists in ``<out>/indicator-cache/``, so that rerunning the
same command (to resume, or over unchanged files) does not parse and index them again.

Keyed by each indicator file's absolute path, size and mtime_ns: a changed file is reloaded.
Stored as JSON (descriptions, exact values, vPDQ frames, load reports) and ``.npy`` arrays (PDQ
words and their descriptions, and the :class:`PdqIndex` snapshot, opened memory-mapped); no
pickle. Only the newest entry is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from balise.detection.adapters.pdq_index import PdqIndex, SnapshotError
from balise.scan.indicator_files import Indicator, IndicatorSet, LoadReport

CACHE_VERSION = 1


def cache_key(paths: list[Path]) -> str:
    parts = [CACHE_VERSION]
    for p in paths:
        st = os.stat(p)
        parts.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def load(root: Path, key: str) -> tuple[IndicatorSet, list[LoadReport], PdqIndex | None] | None:
    d = root / key
    try:
        meta = json.loads((d / "indicators.json").read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION:
            return None
        iset = IndicatorSet()
        iset.metas = [tuple(m) for m in meta["metas"]]
        iset._meta_ids = {m: i for i, m in enumerate(iset.metas)}
        iset.exact = {a: {v: (m if isinstance(m, int) else tuple(m)) for v, m in d_.items()}
                      for a, d_ in meta["exact"].items()}
        iset.videos = [Indicator(**v) for v in meta["videos"]]
        iset.count = meta["count"]
        words = np.load(d / "pdq_words.npy", mmap_mode="r", allow_pickle=False)
        pmeta = np.load(d / "pdq_meta.npy", allow_pickle=False)
        if words.shape[0]:
            iset._pdq_words, iset._pdq_meta = [np.asarray(words)], [pmeta]
        index = PdqIndex.load(d / "pdq-index") if words.shape[0] else None
        reports = [LoadReport(r["source"], r["format"], r["loaded"], r["removed"], [tuple(e) for e in r["errors"]])
                   for r in meta["reports"]]
        return iset, reports, index
    except (OSError, ValueError, KeyError, TypeError, SnapshotError):
        return None


def save(root: Path, key: str, iset: IndicatorSet, reports: list[LoadReport], index: PdqIndex | None) -> None:
    shutil.rmtree(root, ignore_errors=True)
    d = root / key
    tmp = root / f".{key}.tmp"
    tmp.mkdir(parents=True, mode=0o700)
    words, pmeta = iset.pdq()
    np.save(tmp / "pdq_words.npy", words, allow_pickle=False)
    np.save(tmp / "pdq_meta.npy", pmeta, allow_pickle=False)
    if index is not None:
        index.save(tmp / "pdq-index")
    meta = {
        "version": CACHE_VERSION, "metas": iset.metas, "count": iset.count,
        "exact": {a: {v: (m if isinstance(m, int) else list(m)) for v, m in d_.items()} for a, d_ in iset.exact.items()},
        "videos": [asdict(v) for v in iset.videos],
        "reports": [asdict(r) for r in reports],
    }
    (tmp / "indicators.json").write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, d)
