"""results.jsonl, results.csv and the Project VIC VICS JSON export, written from the state DB.

One row per file or archive member, in path order (bytes). ``path`` is readable text (UTF-8,
undecodable bytes as U+FFFD); ``path_b64`` is the exact bytes, base64; ``path_exact`` says
whether ``path`` is exact. Files are written to a temporary name then renamed (atomic).
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from balise.scan.labels import MEMBER_SEP, b64, display, is_utf8

CSV_COLUMNS = (
    "path", "path_b64", "path_exact", "container", "depth", "size", "md5", "sha1", "sha256", "media_type", "mime",
    "pdq", "pdq_quality", "width", "height", "frame_count", "copies", "known", "match_source", "match_algorithm",
    "match_kind", "match_category", "match_distance", "match_transform", "match_count", "cluster", "cluster_size",
    "review_rank", "status", "error", "polyglot", "notes",
)

_ALGO_ORDER = {"sha256": 0, "sha1": 1, "md5": 2, "vpdq": 3, "pdq": 4}


def _matches(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for sha, source, algo, kind, cat, series, dist, ind, transform in conn.execute(
            "SELECT sha256, source, algorithm, kind, category, series, distance, indicator, transform FROM matches"):
        out.setdefault(sha, []).append({"source": source, "algorithm": algo, "kind": kind, "category": cat,
                                        "series": series, "distance": dist, "indicator": ind,
                                        "transform": transform})
    for v in out.values():
        v.sort(key=lambda m: (m["distance"], _ALGO_ORDER.get(m["algorithm"], 9), m["source"], m["indicator"] or ""))
    return out


def rows(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    matches = _matches(conn)  # matched contents only: small next to the files
    cur = conn.cursor()
    cur.execute(
        "SELECT f.path, f.depth, f.size, f.status, f.error, c.md5, c.sha1, f.sha256, c.media_type, c.mime, c.pdq, "
        "c.pdq_quality, c.width, c.height, c.frame_count, c.notes, c.polyglot, "
        "(SELECT COUNT(*) FROM files g WHERE g.sha256 = f.sha256), k.cluster, k.size, k.review_rank, c.size "
        "FROM files f LEFT JOIN contents c ON c.sha256 = f.sha256 LEFT JOIN clusters k ON k.sha256 = f.sha256 "
        "ORDER BY f.path")
    while batch := cur.fetchmany(2000):
        for (path, depth, size, status, error, md5, sha1, sha256, mtype, mime, pdq, q, w, h, fc, notes, polyglot, copies,
             cl, cls, rank, csize) in batch:
            path = bytes(path)
            container = path.rsplit(MEMBER_SEP, 1)[0] if MEMBER_SEP in path else None
            ms = matches.get(sha256 or "", [])
            best = ms[0] if ms else {}
            yield {
                "path": display(path), "path_b64": b64(path), "path_exact": is_utf8(path),
                "container": display(container) if container is not None else None, "depth": depth,
                "size": size if size is not None else csize, "md5": md5, "sha1": sha1, "sha256": sha256,
                "media_type": mtype, "mime": mime, "pdq": pdq, "pdq_quality": q, "width": w, "height": h,
                "frame_count": fc, "copies": copies if sha256 else None, "known": bool(ms),
                "match_source": best.get("source"), "match_algorithm": best.get("algorithm"),
                "match_kind": best.get("kind"), "match_category": best.get("category"),
                "match_distance": best.get("distance"), "match_transform": best.get("transform"),
                "match_count": len(ms), "cluster": cl, "cluster_size": cls,
                "review_rank": rank, "status": status, "error": error, "matches": ms,
                # What was ignored around the picture, and the other formats of a polyglot.
                "notes": json.loads(notes) if notes else [], "polyglot": json.loads(polyglot) if polyglot else [],
            }


def _atomic(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_results(conn: sqlite3.Connection, out: Path) -> int:
    n = 0
    jtmp, ctmp = _atomic(out / "results.jsonl"), _atomic(out / "results.csv")
    with open(jtmp, "w", encoding="utf-8") as jf, open(ctmp, "w", encoding="utf-8", newline="") as cf:
        w = csv.DictWriter(cf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in rows(conn):
            jf.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
            w.writerow({k: _cell(v) for k, v in row.items() if k in CSV_COLUMNS})
            n += 1
    os.replace(jtmp, out / "results.jsonl")
    os.replace(ctmp, out / "results.csv")
    return n


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _vics_category(ms: list[dict[str, Any]]) -> str:
    for m in ms:
        cat = (m.get("category") or "").strip()
        if cat.isdigit():
            return cat
        if cat.upper() in ("A1", "A2", "B1", "B2", "A", "B", "C"):
            return "1"  # NCMEC / UK categories are all illegal material: VICS category 1
    return "0"


def write_vics(conn: sqlite3.Connection, out: Path, case_name: str) -> int:
    """Project VIC VICS 2.0-style JSON: one Case with Media[] (images and videos), streamed."""
    matches = _matches(conn)
    tmp = _atomic(out / "vics.json")
    n = 0
    head = {
        "@odata.context": "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/UK_2.0#Cases",
        "value": [{"CaseNumber": case_name, "SourceApplicationName": "Balise scan", "SourceApplicationVersion": "0.1.0",
                   "Media": []}],
    }
    text = json.dumps(head, ensure_ascii=False, indent=1)
    cut = text.rindex('"Media": []') + len('"Media": [')
    files_cur = conn.cursor()
    cur = conn.cursor()
    cur.execute(
        "SELECT c.sha256, c.md5, c.sha1, c.size, c.media_type, c.pdq, c.pdq_quality, k.cluster "
        "FROM contents c LEFT JOIN clusters k ON k.sha256 = c.sha256 "
        "WHERE c.media_type IN ('image', 'video') ORDER BY c.sha256")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text[:cut])
        while batch := cur.fetchmany(1000):
            for sha, md5, sha1, size, mtype, pdq, q, cluster in batch:
                n += 1
                ms = matches.get(sha, [])
                series = next((m["series"] for m in ms if m.get("series")), None)
                if series is None and cluster is not None:
                    series = f"balise-series-{cluster}"
                paths = sorted(bytes(r[0]) for r in files_cur.execute(
                    "SELECT path FROM files INDEXED BY files_sha WHERE sha256 = ?", (sha,)))
                item: dict[str, Any] = {
                    "MediaID": n, "Category": _vics_category(ms), "MD5": md5.upper(), "SHA1": sha1.upper(),
                    "MediaSize": size, "MediaType": mtype, "IsPrecategorized": bool(ms),
                    "MediaFiles": [{"MediaFileID": i, "FilePath": display(p),
                                    "FileName": display(p.rsplit(b"/", 1)[-1]), "FilePathBase64": b64(p)}
                                   for i, p in enumerate(paths, start=1)],
                    "AlternativeHashes": [{"HashName": "SHA256", "HashValue": sha}],
                }
                if pdq:
                    item["AlternativeHashes"].append({"HashName": "PDQ", "HashValue": pdq, "Quality": q})
                if series:
                    item["Series"] = series
                if ms:
                    item["Comments"] = "known: " + "; ".join(
                        f"{m['source']} {m['algorithm']} d={m['distance']}"
                        + (f" transform={m['transform']}" if m.get("transform") else "") for m in ms[:5])
                f.write(("\n" if n == 1 else ",\n") + json.dumps(item, ensure_ascii=False))
        f.write(text[cut:])
    os.replace(tmp, out / "vics.json")
    return n
