"""The offline HTML summary (``report.html``): no external resource, no script.

Counts, known vs unknown, known material found as a rotated or mirrored copy (with the
transform, as in results.csv), the series to review first, skipped files and errors.
Thumbnails are off by default; with ``--thumbnails`` each listed series shows one picture
reduced to 64 px, converted to grey and blurred (Gaussian radius 3), embedded as a ``data:`` URI.
"""

from __future__ import annotations

import base64
import html
import io
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from balise.scan.labels import MEMBER_SEP, display

MAX_LISTED = 200


def thumbnail(path: bytes) -> str | None:
    """A small, blurred, greyscale JPEG of a file (not of archive members) as a data: URI."""
    if MEMBER_SEP in path:
        return None
    from PIL import Image, ImageFilter

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f, Image.open(f) as im:
            im.draft("L", (128, 128))
            im = im.convert("L")
            im.thumbnail((64, 64))
            im = im.filter(ImageFilter.GaussianBlur(3))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=60)
    except Exception:  # noqa: BLE001 - a thumbnail is never worth a failure
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def write_report(conn: sqlite3.Connection, out: Path, summary: dict[str, Any], thumbnails: bool) -> None:
    q = conn.execute
    status_counts = q("SELECT COALESCE(status, 'pending'), COUNT(*) FROM files GROUP BY 1 ORDER BY 1").fetchall()
    media_counts = q("SELECT COALESCE(c.media_type, '-'), COUNT(*) FROM files f LEFT JOIN contents c "
                     "ON c.sha256 = f.sha256 GROUP BY 1 ORDER BY 1").fetchall()
    known_files = q("SELECT COUNT(*) FROM files f WHERE f.sha256 IN (SELECT sha256 FROM matches)").fetchone()[0]
    known_contents = q("SELECT COUNT(DISTINCT sha256) FROM matches").fetchone()[0]
    series = q("SELECT cluster, size, MIN(review_rank) FROM clusters GROUP BY cluster ORDER BY MIN(review_rank) "
               "LIMIT ?", (MAX_LISTED,)).fetchall()
    skipped = q("SELECT path, status, error FROM files WHERE status IN ('skipped', 'limit', 'error') ORDER BY path "
                "LIMIT ?", (MAX_LISTED,)).fetchall()
    # Contents known only through a rotation or mirror of the picture: no match of the picture
    # as it is (exact, vPDQ or PDQ without transform). The best (closest) such match is shown.
    turned_where = ("FROM files f JOIN matches m ON m.sha256 = f.sha256 WHERE m.transform IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM matches u WHERE u.sha256 = f.sha256 AND u.transform IS NULL)")
    turned_count = q(f"SELECT COUNT(DISTINCT f.id) {turned_where}").fetchone()[0]
    turned = q(f"SELECT f.path, m.transform, MIN(m.distance), m.source {turned_where} GROUP BY f.id "
               "ORDER BY f.path LIMIT ?", (MAX_LISTED,)).fetchall()
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        "<title>Balise scan report</title><style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
        ".n{text-align:right}img{filter:none}</style></head><body>",
        f"<h1>Balise scan report</h1><p>Generated {_e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))}. "
        f"Case: {_e(summary.get('case'))}. Thumbnails: {'on (small, grey, blurred)' if thumbnails else 'off'}.</p>",
        "<h2>Summary</h2><table>",
    ]
    for k in ("files", "contents", "known_files", "unknown_media", "series", "skipped", "errors", "duplicates"):
        parts.append(f"<tr><th>{_e(k.replace('_', ' '))}</th><td class=n>{_e(summary.get(k))}</td></tr>")
    parts.append(f"<tr><th>known contents (distinct)</th><td class=n>{known_contents}</td></tr>"
                 f"<tr><th>files holding known material</th><td class=n>{known_files}</td></tr>"
                 f"<tr><th>known only as a rotated or mirrored copy</th><td class=n>{turned_count}</td></tr></table>")
    parts.append("<h2>By status</h2><table>" + "".join(
        f"<tr><th>{_e(s)}</th><td class=n>{n}</td></tr>" for s, n in status_counts) + "</table>")
    parts.append("<h2>By media type</h2><table>" + "".join(
        f"<tr><th>{_e(s)}</th><td class=n>{n}</td></tr>" for s, n in media_counts) + "</table>")
    parts.append("<h2>Known material found as a rotated or mirrored copy</h2><p>Files whose picture matched "
                 "an indicator only once rotated or mirrored; <i>transform</i> is what turns the file's picture "
                 "into the known one (as the match API reports it).</p><table><tr><th>path</th><th>transform</th>"
                 "<th>distance</th><th>source</th></tr>")
    for path, transform, distance, source in turned:
        parts.append(f"<tr><td>{_e(display(bytes(path)))}</td><td>{_e(transform)}</td><td class=n>{_e(distance)}</td>"
                     f"<td>{_e(source)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Unknown material: review first</h2><p>Series of near-duplicate unknown pictures, largest "
                 "first (see docs/scan.md, ranking).</p><table><tr><th>rank</th><th>series</th><th>distinct</th>"
                 "<th>example path</th>" + ("<th>thumbnail</th>" if thumbnails else "") + "</tr>")
    for cid, size, rank in series:
        ex = q("SELECT f.path FROM clusters k JOIN files f ON f.sha256 = k.sha256 WHERE k.cluster = ? "
               "ORDER BY k.review_rank, f.path LIMIT 1", (cid,)).fetchone()
        path = bytes(ex[0]) if ex else b""
        cell = ""
        if thumbnails:
            uri = thumbnail(path) if path else None
            cell = f"<td><img alt='' width=64 src='{uri}'></td>" if uri else "<td>-</td>"
        parts.append(f"<tr><td class=n>{rank}</td><td class=n>{cid}</td><td class=n>{size}</td>"
                     f"<td>{_e(display(path))}</td>{cell}</tr>")
    parts.append("</table>")
    parts.append("<h2>Skipped, limited and undecodable files</h2><table><tr><th>path</th><th>status</th><th>reason</th></tr>")
    for path, status, error in skipped:
        parts.append(f"<tr><td>{_e(display(bytes(path)))}</td><td>{_e(status)}</td><td>{_e(error)}</td></tr>")
    parts.append(f"</table><p>At most {MAX_LISTED} rows are listed here; results.csv has all.</p></body></html>")
    tmp = out / ".report.html.tmp"
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, out / "report.html")
