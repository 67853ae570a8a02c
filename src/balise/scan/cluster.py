"""Series of near-duplicate unknown images, and the review order.

Clustering: the unknown images (no match) whose PDQ quality is >= 50 are linked when their PDQ
hashes are within ``threshold`` bits (default 31), found with a :class:`PdqIndex` self-query;
connected components (union-find) are the series. Each distinct content is one node; copies of
a content (same SHA-256) are counted, not clustered.

Review rank (1 = look first), over unknown images and videos of good quality only:
1. larger series first (number of distinct contents in the series; a video is a series of 1);
2. then more copies of the series on the media (a picture kept many times matters more);
3. then videos before images of the same rank (more content per item);
4. then higher PDQ quality, then SHA-256 (a stable order).
Low-quality media (quality < 50: nearly uniform pictures), corrupt media, known material and
non-media files get no rank. Cluster ids are given in review order (series 1 is reviewed first).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from balise.detection.adapters.pdq_index import PdqIndex, hex_to_words


class _UF:
    def __init__(self, n: int) -> None:
        self.p = list(range(n))

    def find(self, a: int) -> int:
        p = self.p
        while p[a] != a:
            p[a] = p[p[a]]
            a = p[a]
        return a

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.p[rb] = ra
            else:
                self.p[ra] = rb


def compute(conn: sqlite3.Connection, threshold: int = 31, min_quality: int = 50) -> dict[str, Any]:
    """Fill the ``clusters`` table; returns counts."""
    rows = conn.execute(
        "SELECT c.sha256, c.media_type, c.pdq, COALESCE(c.pdq_quality, 0), "
        "  (SELECT COUNT(*) FROM files f WHERE f.sha256 = c.sha256), c.vpdq IS NOT NULL "
        "FROM contents c WHERE c.media_type IN ('image', 'video') AND c.status = 'ok' "
        "AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.sha256 = c.sha256) ORDER BY c.sha256").fetchall()
    images = [r for r in rows if r[1] == "image" and r[2] and r[3] >= min_quality]
    videos = [r for r in rows if r[1] == "video"]
    uf = _UF(len(images))
    if images:
        words = hex_to_words([r[2] for r in images])
        index = PdqIndex.build(words, np.arange(len(images), dtype=np.int64))
        for start in range(0, len(images), 10_000):
            res = index.query(words[start:start + 10_000], threshold)
            for qi, iid in zip(res.query_index.tolist(), res.ids.tolist()):
                if start + qi != iid:
                    uf.union(start + qi, iid)
    groups: dict[int, list[int]] = {}
    for i in range(len(images)):
        groups.setdefault(uf.find(i), []).append(i)
    series: list[tuple[tuple, list[tuple[str, int, int, int]]]] = []  # (key, members)
    for members in groups.values():
        items = [(images[i][0], images[i][3], images[i][4], 0) for i in members]
        copies = sum(x[2] for x in items)
        best_q = max(x[1] for x in items)
        key = (-len(items), -copies, 1, -best_q, min(x[0] for x in items))
        series.append((key, items))
    for r in videos:
        series.append(((-1, -r[4], 0, 0, r[0]), [(r[0], 0, r[4], 1)]))
    series.sort(key=lambda s: s[0])
    conn.execute("BEGIN")
    conn.execute("DELETE FROM clusters")
    rank = 0
    for cid, (_, items) in enumerate(series, start=1):
        for sha, _q, _copies, _v in sorted(items, key=lambda x: (-x[1], -x[2], x[0])):
            rank += 1
            conn.execute("INSERT INTO clusters (sha256, cluster, size, review_rank) VALUES (?,?,?,?)",
                         (sha, cid, len(items), rank))
    conn.execute("COMMIT")
    multi = sum(1 for _, items in series if len(items) > 1)
    return {"series": len(series), "series_multi": multi, "ranked": rank}
