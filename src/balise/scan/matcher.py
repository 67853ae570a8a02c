"""Matching contents against indicators: local lists, or a Balise server's match API.

Both return, per SHA-256, a list of match dicts ``{source, algorithm, kind, category, series,
distance, indicator, transform}``. Exact hashes match by set lookup; PDQ through :class:`PdqIndex`
within ``threshold`` bits (default 31), never for quality < 50, with the picture's 8 dihedral
hashes (rotations and mirrors) as the provider API does (``detection/matching.py``): one hit per
indicator, at its smallest distance, and ``transform`` names the dihedral variant of the picture
that matched (``rotate270`` for a copy rotated by 90 degrees; ``None`` for the picture as it is);
vPDQ with :mod:`vpdq_match`.
With ``--server`` only hashes are sent (never content), 10,000 per call, retried on transient
errors (connection failures, 429, 5xx) with exponential back-off.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from balise.detection.adapters.media_hash import QUALITY_THRESHOLD
from balise.detection.adapters.pdq import DIHEDRAL_NAMES
from balise.detection.adapters.pdq_index import PdqIndex, hex_to_words, words_to_hex
from balise.scan.indicator_files import IndicatorSet

MAX_PER_CALL = 10_000


class MatchError(RuntimeError):
    pass


class LocalMatcher:
    def __init__(self, iset: IndicatorSet, threshold: int = 31, min_quality: int = QUALITY_THRESHOLD,
                 index: PdqIndex | None = None) -> None:
        self.threshold = threshold
        self.min_quality = min_quality
        self.iset = iset
        self.words, self.pdq_meta = iset.pdq()
        if index is None and self.words.shape[0]:
            index = PdqIndex.build(self.words, np.arange(self.words.shape[0], dtype=np.int64))
        self.index = index

    def __len__(self) -> int:
        return len(self.iset)

    def _hit(self, mid: int, algorithm: str, distance: int, value: str, transform: str | None = None) -> dict[str, Any]:
        source, kind, category, series = self.iset.metas[mid]
        return {"source": source, "algorithm": algorithm, "kind": kind, "category": category, "series": series,
                "distance": distance, "indicator": value, "transform": transform}

    def match(self, contents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for c in contents:
            for algo in ("md5", "sha1", "sha256"):
                got = self.iset.exact[algo].get(c.get(algo) or "")
                if got is None:
                    continue
                for mid in (got,) if isinstance(got, int) else got:
                    out.setdefault(c["sha256"], []).append(self._hit(mid, algo, 0, c[algo]))
        if self.index is not None:
            # One query row per dihedral variant: (content, variant number in DIHEDRAL_NAMES, hex).
            rows: list[tuple[str, int, str]] = []
            for c in contents:
                if c.get("pdq") and (c.get("pdq_quality") or 0) >= self.min_quality:
                    rows.append((c["sha256"], 0, c["pdq"]))
                    rows.extend((c["sha256"], v, h) for v, h in enumerate(c.get("pdq_dihedral") or [], start=1))
            if rows:
                res = self.index.query(hex_to_words([r[2] for r in rows]), self.threshold)
                best: dict[tuple[str, int], tuple[int, int]] = {}  # (content, indicator) -> (distance, variant)
                for qi, iid, d in zip(res.query_index.tolist(), res.ids.tolist(), res.distances.tolist()):
                    sha, variant = rows[qi][0], rows[qi][1]
                    if (sha, iid) not in best or (d, variant) < best[(sha, iid)]:
                        best[(sha, iid)] = (d, variant)
                for (sha, iid), (d, variant) in sorted(best.items()):
                    value = words_to_hex(self.words[iid:iid + 1])[0]
                    out.setdefault(sha, []).append(self._hit(int(self.pdq_meta[iid]), "pdq", int(d), value,
                                                             _transform(variant)))
        if self.iset.videos:
            from balise.detection.adapters.vpdq_match import VpdqFrame, match

            refs = [(ind, [VpdqFrame(int(f[0]), int(f[1]), f[2], float(f[3])) for f in ind.frames or []])
                    for ind in self.iset.videos]
            for c in contents:
                if not c.get("vpdq"):
                    continue
                q = [VpdqFrame(int(f[0]), int(f[1]), f[2], float(f[3])) for f in c["vpdq"]]
                for ind, frames in refs:
                    m = match(q, frames, distance=self.threshold, quality=self.min_quality)
                    if m.is_match:
                        out.setdefault(c["sha256"], []).append(
                            {"source": ind.source, "algorithm": "vpdq", "kind": ind.kind, "category": ind.category,
                             "series": ind.series, "distance": int(round(100 - m.query_pct)), "indicator": ind.value,
                             "transform": None})
        return out


def _transform(variant: int) -> str | None:
    """The name the match API gives a dihedral variant (``detection/matching.py``); None for 0."""
    if not variant:
        return None
    return DIHEDRAL_NAMES[variant] if variant < len(DIHEDRAL_NAMES) else f"variant_{variant}"


class ServerMatcher:
    """POST /api/v1/match on a Balise server with a Bearer key of scope ``match``."""

    def __init__(self, url: str, key: str, threshold: int = 31, retries: int = 5, backoff: float = 0.5,
                 timeout: float = 120.0) -> None:
        import httpx

        self.url = url.rstrip("/") + "/api/v1/match"
        self.threshold = min(threshold, 31)
        self.retries = retries
        self.backoff = backoff
        self.client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=timeout, trust_env=False)
        self.source = url.rstrip("/")
        self.calls = 0

    def _post(self, hashes: list[dict[str, Any]]) -> dict[str, Any]:
        import httpx

        delay = self.backoff
        last = ""
        for attempt in range(self.retries + 1):
            try:
                r = self.client.post(self.url, json={"hashes": hashes, "threshold": self.threshold})
                self.calls += 1
                if r.status_code == 200:
                    return r.json()
                last = f"HTTP {r.status_code}: {r.text[:300]}"
                if r.status_code not in (408, 425, 429, 500, 502, 503, 504):
                    raise MatchError(f"the match API refused the request: {last}")
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise MatchError(f"the match API failed after {self.retries + 1} attempts: {last}")

    def match(self, contents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        queries: list[tuple[str, dict[str, Any]]] = []
        for c in contents:
            for algo in ("md5", "sha1", "sha256"):
                if c.get(algo):
                    queries.append((c["sha256"], {"type": algo, "value": c[algo]}))
            if c.get("pdq"):
                q = {"type": "pdq", "value": c["pdq"], "quality": c.get("pdq_quality")}
                if c.get("pdq_dihedral"):
                    q["dihedral"] = c["pdq_dihedral"]  # the server matches rotated and mirrored copies too
                queries.append((c["sha256"], q))
            if c.get("vpdq"):
                frames = [{"frame_number": int(f[0]), "quality": int(f[1]), "pdq": f[2], "timestamp": float(f[3])}
                          for f in c["vpdq"]][:100_000]
                queries.append((c["sha256"], {"type": "vpdq", "frames": frames}))
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(queries), MAX_PER_CALL):
            part = queries[start:start + MAX_PER_CALL]
            body = self._post([q for _, q in part])
            for entry in body.get("results", []):
                sha = part[int(entry["index"])][0]
                for m in entry.get("matches") or []:
                    cls = m.get("classification") or {}
                    out.setdefault(sha, []).append({
                        "source": self.source, "algorithm": m.get("algorithm") or part[int(entry["index"])][1]["type"],
                        "kind": m.get("kind"), "category": cls.get("ncmec_category") or cls.get("uk_category"),
                        "series": None, "distance": int(m.get("distance", 0)),
                        "indicator": str(m.get("indicator_id")), "transform": m.get("transform"),
                    })
        return out
