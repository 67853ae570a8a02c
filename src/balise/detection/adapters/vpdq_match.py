"""vPDQ video matching, following the reference algorithm.

A vPDQ video hash is a list of frames ``(frame_number, quality, pdq_hex, timestamp)``. To
compare a query video with another ("compared") video:

1. keep the frames of quality >= ``quality`` (default 50), and of those one per distinct PDQ
   hash ("unique good frames");
2. the query's match percentage is the share of its unique good frames that have at least one
   unique good frame of the compared video within ``distance`` bits (default 31); the compared
   video's percentage is the same the other way round;
3. the videos match when query_pct >= ``query_match_pct`` (default 80) and
   compared_pct >= ``compared_match_pct`` (default 0).

The frame comparison is one vectorised all-pairs popcount (or, for long videos, a PdqIndex).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from balise.detection.adapters.pdq_index import PdqIndex, hex_to_words

DEFAULT_DISTANCE = 31
DEFAULT_QUALITY = 50
DEFAULT_QUERY_MATCH_PCT = 80.0
DEFAULT_COMPARED_MATCH_PCT = 0.0
# Above this many frame pairs, match through a PdqIndex instead of all pairs.
_PAIRWISE_LIMIT = 4_000_000


@dataclass(frozen=True)
class VpdqFrame:
    frame_number: int
    quality: int
    pdq_hex: str
    timestamp: float


@dataclass(frozen=True)
class VpdqMatch:
    query_unique_frames: int
    compared_unique_frames: int
    query_pct: float
    compared_pct: float
    is_match: bool


def parse_vpdq_lines(text: str) -> list[VpdqFrame]:
    """Parse ``frame_number,quality,pdq_hex64,timestamp_seconds`` lines (no header).

    Blank lines are skipped; any other malformed line raises ``ValueError`` naming its line
    number (1-based)."""
    frames = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            raise ValueError(f"vPDQ line {lineno}: expected 4 comma-separated fields, got {len(parts)}")
        try:
            frame_number = int(parts[0])
            quality = int(parts[1])
            timestamp = float(parts[3])
        except ValueError:
            raise ValueError(f"vPDQ line {lineno}: bad number in {line!r}") from None
        pdq = parts[2].lower()
        if len(pdq) != 64 or any(c not in "0123456789abcdef" for c in pdq):
            raise ValueError(f"vPDQ line {lineno}: PDQ hash is not 64 hex characters: {parts[2]!r}")
        if not 0 <= quality <= 100 or frame_number < 0:
            raise ValueError(f"vPDQ line {lineno}: quality or frame number out of range in {line!r}")
        frames.append(VpdqFrame(frame_number, quality, pdq, timestamp))
    return frames


def unique_good_frames(frames: Iterable[VpdqFrame], quality: int = DEFAULT_QUALITY) -> list[str]:
    """PDQ hashes of the frames with quality >= ``quality``, one per distinct hash, in order."""
    seen: dict[str, None] = {}
    for f in frames:
        if f.quality >= quality:
            seen.setdefault(f.pdq_hex.lower(), None)
    return list(seen)


def _matched(a: np.ndarray, b: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays: which rows of ``a`` have some row of ``b`` within ``distance``, and
    the same for ``b``."""
    na, nb = a.shape[0], b.shape[0]
    if na == 0 or nb == 0:
        return np.zeros(na, dtype=bool), np.zeros(nb, dtype=bool)
    if na * nb <= _PAIRWISE_LIMIT:
        ok = np.zeros((na, nb), dtype=bool)
        step = max(1, _PAIRWISE_LIMIT // (4 * nb))
        for i in range(0, na, step):
            d = np.bitwise_count(a[i : i + step, None, :] ^ b[None, :, :]).sum(axis=2, dtype=np.int16)
            ok[i : i + step] = d <= distance
        return ok.any(axis=1), ok.any(axis=0)
    index = PdqIndex.build(b, np.arange(nb, dtype=np.int64))
    r = index.query(a, distance)
    ma = np.zeros(na, dtype=bool)
    mb = np.zeros(nb, dtype=bool)
    ma[r.query_index] = True
    mb[r.ids] = True
    return ma, mb


def match(
    query_frames: Sequence[VpdqFrame],
    compared_frames: Sequence[VpdqFrame],
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
    query_match_pct: float = DEFAULT_QUERY_MATCH_PCT,
    compared_match_pct: float = DEFAULT_COMPARED_MATCH_PCT,
) -> VpdqMatch:
    """Full comparison: unique good frame counts, both percentages, and the verdict."""
    if not 0 <= distance <= 256:
        raise ValueError(f"distance must be between 0 and 256, got {distance}")
    qh = unique_good_frames(query_frames, quality)
    ch = unique_good_frames(compared_frames, quality)
    qm, cm = _matched(hex_to_words(qh), hex_to_words(ch), distance)
    q_pct = 100.0 * int(qm.sum()) / len(qh) if qh else 0.0
    c_pct = 100.0 * int(cm.sum()) / len(ch) if ch else 0.0
    verdict = bool(qh) and bool(ch) and q_pct >= query_match_pct and c_pct >= compared_match_pct
    return VpdqMatch(len(qh), len(ch), q_pct, c_pct, verdict)


def match_pct(
    query_frames: Sequence[VpdqFrame],
    compared_frames: Sequence[VpdqFrame],
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
) -> tuple[float, float]:
    """(query_pct, compared_pct): % of each side's unique good frames matched by the other."""
    m = match(query_frames, compared_frames, distance, quality)
    return m.query_pct, m.compared_pct


def is_match(
    query_frames: Sequence[VpdqFrame],
    compared_frames: Sequence[VpdqFrame],
    distance: int = DEFAULT_DISTANCE,
    quality: int = DEFAULT_QUALITY,
    query_match_pct: float = DEFAULT_QUERY_MATCH_PCT,
    compared_match_pct: float = DEFAULT_COMPARED_MATCH_PCT,
) -> bool:
    return match(query_frames, compared_frames, distance, quality, query_match_pct, compared_match_pct).is_match


__all__ = [
    "VpdqFrame",
    "VpdqMatch",
    "is_match",
    "match",
    "match_pct",
    "parse_vpdq_lines",
    "unique_good_frames",
]
