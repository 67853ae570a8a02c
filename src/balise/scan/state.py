"""The resumable state database (SQLite, ``<out>/state.sqlite``).

Tables
------
* ``files``: one row per walked path (and per archive member, ``parent`` = the archive's row):
  the stat key ``(size, mtime_ns, inode, device)``, ``state`` (``pending`` | ``done``), the
  content's SHA-256 or the reason it was skipped, and ``hash_count``: how many times this row's
  content was hashed over all runs (1 for a file hashed once, however often the scan resumed).
* ``contents``: one row per distinct SHA-256 (exact hashes, media type, PDQ with its 7 other
  dihedral hashes, vPDQ, status). A database from before dihedral hashes is upgraded by hashing
  its matchable pictures again on the next run (:meth:`StateDB._rehash_pictures_without_dihedral`).
* ``matches``, ``clusters``: recomputed at the end of every run from ``contents``.
* ``runs``: one row per invocation with how many files it hashed and skipped by stat.

Every batch of results is committed as it arrives (WAL journal), so a kill -9 loses at most the
batches in flight; a rerun of the same command finds the rest ``done`` with an unchanged stat
key and only re-hashes what was pending.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from balise.domain.indicators import PDQ_MIN_QUALITY

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    parent INTEGER REFERENCES files(id) ON DELETE CASCADE,
    depth INTEGER NOT NULL DEFAULT 0,
    size INTEGER, mtime_ns INTEGER, inode INTEGER, device INTEGER,
    state TEXT NOT NULL,            -- pending | done
    status TEXT,                    -- ok | low_quality | error | empty | skipped | limit
    error TEXT,
    sha256 TEXT,
    hash_count INTEGER NOT NULL DEFAULT 0,
    seen_run INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_state ON files(state, size);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE INDEX IF NOT EXISTS files_parent ON files(parent);
CREATE TABLE IF NOT EXISTS contents (
    sha256 TEXT PRIMARY KEY,
    md5 TEXT NOT NULL, sha1 TEXT NOT NULL, size INTEGER NOT NULL,
    media_type TEXT, mime TEXT, status TEXT, error TEXT,
    pdq TEXT, pdq_quality INTEGER, width INTEGER, height INTEGER, frame_count INTEGER,
    vpdq TEXT,
    pdq_dihedral TEXT,              -- JSON list: the other 7 dihedral PDQ hashes (pictures, quality >= 50)
    notes TEXT,                     -- JSON list: bytes ignored around the picture, a cut JPEG
    polyglot TEXT                   -- JSON list: the other formats the file also is
);
CREATE TABLE IF NOT EXISTS matches (
    sha256 TEXT NOT NULL, source TEXT NOT NULL, algorithm TEXT NOT NULL, kind TEXT,
    category TEXT, series TEXT, distance INTEGER NOT NULL, indicator TEXT,
    transform TEXT                  -- PDQ matched through a rotation or mirror: its name (rotate90, flipx...)
);
CREATE INDEX IF NOT EXISTS matches_sha ON matches(sha256);
CREATE TABLE IF NOT EXISTS clusters (sha256 TEXT PRIMARY KEY, cluster INTEGER NOT NULL, size INTEGER NOT NULL,
                                     review_rank INTEGER);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started REAL NOT NULL, finished REAL, command TEXT,
    walked INTEGER DEFAULT 0, unchanged INTEGER DEFAULT 0, hashed INTEGER DEFAULT 0,
    skipped INTEGER DEFAULT 0, interrupted INTEGER DEFAULT 0
);
"""

CONTENT_COLS = ("sha256", "md5", "sha1", "size", "media_type", "mime", "status", "error", "pdq", "pdq_quality",
                "width", "height", "frame_count", "vpdq", "notes", "polyglot", "pdq_dihedral")
# Columns added since the first state databases; a scan resumed with an older one gains them.
_ADDED_CONTENT_COLS = ("notes", "polyglot")


class StateDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        present = {row[1] for row in self.conn.execute("PRAGMA table_info(contents)")}
        for column in _ADDED_CONTENT_COLS:
            if column not in present:
                self.conn.execute(f"ALTER TABLE contents ADD COLUMN {column} TEXT")
        if "transform" not in {row[1] for row in self.conn.execute("PRAGMA table_info(matches)")}:
            self.conn.execute("ALTER TABLE matches ADD COLUMN transform TEXT")  # recomputed every run
        if "pdq_dihedral" not in present:
            self._rehash_pictures_without_dihedral()
        self.run_id = 0

    def _rehash_pictures_without_dihedral(self) -> None:
        """A state database from before dihedral hashes: its matchable pictures have none, so
        their rotated or mirrored copies could not match. Forget those pictures' contents and make
        the files holding them (or the archives holding them) pending, in one transaction with the
        new column: the next run hashes them again, everything else stays done."""
        pictures = f"SELECT sha256 FROM contents WHERE media_type = 'image' AND pdq_quality >= {PDQ_MIN_QUALITY}"
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("ALTER TABLE contents ADD COLUMN pdq_dihedral TEXT")
            self.conn.execute(
                f"UPDATE files SET state = 'pending' WHERE parent IS NULL AND (sha256 IN ({pictures}) "
                f"OR id IN (SELECT parent FROM files WHERE parent IS NOT NULL AND sha256 IN ({pictures})))")
            self.conn.execute(f"DELETE FROM contents WHERE sha256 IN ({pictures})")
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, command: str) -> int:
        cur = self.conn.execute("INSERT INTO runs (started, command) VALUES (?, ?)", (time.time(), command))
        self.run_id = int(cur.lastrowid)
        return self.run_id

    def finish_run(self, **counts: int) -> None:
        sets = ", ".join(f"{k} = ?" for k in counts)
        self.conn.execute(f"UPDATE runs SET finished = ?, {sets} WHERE id = ?",
                          (time.time(), *counts.values(), self.run_id))

    def update_run(self, **counts: int) -> None:
        sets = ", ".join(f"{k} = ?" for k in counts)
        self.conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*counts.values(), self.run_id))

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- walking ---------------------------------------------------------------------------

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def lookup(self, path: bytes) -> tuple[int, int, int, int, str] | None:
        return self.conn.execute("SELECT id, size, mtime_ns, inode, state FROM files WHERE path = ?", (path,)).fetchone()

    def upsert_walked(self, path: bytes, size: int, mtime_ns: int, inode: int, device: int) -> bool:
        """Record a walked regular file. True when it must be hashed (new, changed or pending)."""
        row = self.lookup(path)
        if row is not None:
            fid, osize, omtime, oino, state = row
            if (osize, omtime, oino) == (size, mtime_ns, inode) and state == "done":
                self.conn.execute("UPDATE files SET seen_run = ? WHERE id = ?", (self.run_id, fid))
                return False
            self.conn.execute("DELETE FROM files WHERE parent = ?", (fid,))
            self.conn.execute(
                "UPDATE files SET size=?, mtime_ns=?, inode=?, device=?, state='pending', status=NULL, error=NULL, "
                "sha256=NULL, seen_run=? WHERE id=?", (size, mtime_ns, inode, device, self.run_id, fid))
            return True
        self.conn.execute(
            "INSERT INTO files (path, size, mtime_ns, inode, device, state, seen_run) VALUES (?,?,?,?,?,'pending',?)",
            (path, size, mtime_ns, inode, device, self.run_id))
        return True

    def record_skip(self, path: bytes, reason: str) -> None:
        self.conn.execute(
            "INSERT INTO files (path, state, status, error, seen_run) VALUES (?, 'done', 'skipped', ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET state='done', status='skipped', error=excluded.error, sha256=NULL, "
            "size=NULL, mtime_ns=NULL, inode=NULL, seen_run=excluded.seen_run", (path, reason, self.run_id))
        self.conn.execute("DELETE FROM files WHERE parent = (SELECT id FROM files WHERE path = ?)", (path,))

    def forget_unseen(self) -> int:
        cur = self.conn.execute("DELETE FROM files WHERE parent IS NULL AND seen_run != ?", (self.run_id,))
        return cur.rowcount

    def pending(self) -> Iterator[tuple[int, bytes, int]]:
        """Pending files, grouped by size so that copies of a content share a batch."""
        cur = self.conn.cursor()
        cur.execute("SELECT id, path, size FROM files WHERE state = 'pending' AND parent IS NULL ORDER BY size, id")
        while rows := cur.fetchmany(5000):
            yield from rows

    def count(self, where: str = "1=1", args: tuple = ()) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM files WHERE {where}", args).fetchone()[0])

    # -- results ---------------------------------------------------------------------------

    def _content(self, rec: dict[str, Any]) -> None:
        if not rec.get("hashed") or not rec.get("sha256"):
            return
        if rec.get("copy_in_batch"):
            exists = self.conn.execute("SELECT 1 FROM contents WHERE sha256 = ?", (rec["sha256"],)).fetchone()
            if exists:
                return
        vals = dict(rec)
        for column in ("vpdq", "notes", "polyglot", "pdq_dihedral"):
            vals[column] = json.dumps(rec[column]) if rec.get(column) else None
        self.conn.execute(
            f"INSERT OR IGNORE INTO contents ({', '.join(CONTENT_COLS)}) VALUES ({', '.join('?' * len(CONTENT_COLS))})",
            tuple(vals.get(c) for c in CONTENT_COLS))

    def record_results(self, results: list[dict[str, Any]]) -> tuple[int, int]:
        """Store one batch of worker records (in one transaction). Returns (hashed, skipped)."""
        hashed = skipped = 0
        self.begin()
        try:
            for rec in results:
                fid = rec["id"]
                self.conn.execute("DELETE FROM files WHERE parent = ?", (fid,))
                self.conn.execute(
                    "UPDATE files SET state='done', status=?, error=?, sha256=?, hash_count = hash_count + ? WHERE id=?",
                    (rec.get("status"), rec.get("error"), rec.get("sha256"), int(rec.get("hashed", 0)), fid))
                self._content(rec)
                hashed += int(rec.get("hashed", 0))
                skipped += rec.get("status") in ("skipped", "limit")
                for m in rec.get("members") or []:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO files (path, parent, depth, size, state, status, error, sha256, hash_count, "
                        "seen_run) VALUES (?,?,?,?, 'done', ?,?,?,?,?)",
                        (m["label"], fid, m.get("depth", 1), m.get("size"), m.get("status"), m.get("error"),
                         m.get("sha256"), int(m.get("hashed", 0)), self.run_id))
                    self._content(m)
                    hashed += int(m.get("hashed", 0))
                    skipped += m.get("status") in ("skipped", "limit")
            self.commit()
        except BaseException:
            # an interrupt can land just after COMMIT returned: then the batch is recorded
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return hashed, skipped
