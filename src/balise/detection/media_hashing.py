"""Perceptual hashing and matching of stored report media, as a durable job (``media.hash``).

Intake answers the provider once the report is stored: exact hashes (MD5, SHA-1, SHA-256) are
computed and matched in the request, because they are cheap and the answer needs them. A
picture or video is stored with ``hash_status = "pending"`` and one ``media.hash`` job per such
item is queued in the intake transaction. The job decrypts the item from the vault (audited
``media:read``) into a private temporary file, hashes it in the bounded child process (PDQ with
its dihedral variants, vPDQ), matches the item on all its hashes and records the result; the
job that resolves the last pending item of a report queues its triage in the same transaction.

Why one job per item rather than per report: a job holds a lease and is claimed again when the
lease runs out; one item costs at most one hash timeout, so the lease bounds it, and the items
of one report are hashed by as many workers as there are.

The helpers at the top are shared with intake and with the ``url.fetch`` job, which hashes
what a reported URL serves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Report
from balise.detection.matching_types import HashQuery, MatchOutcome
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail
from balise.jobs.queue import NewJob

log = logging.getLogger("balise.hashing")

MEDIA_HASH_JOB = "media.hash"
SYSTEM = Actor.system("hasher")
PURPOSE = "perceptual hashing"
PENDING = "pending"
HASHED_MEDIA = ("image", "video")


# -- shared by intake, this job and the URL inspection --------------------------------------


def exact_queries(md5: str | None, sha1: str | None, sha256: str | None) -> list[HashQuery]:
    return [HashQuery(name, value) for name, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)) if value]


@dataclass
class Perceptual:
    """What a hasher result means for an item: its status, the hashes to keep, what to match."""

    status: str
    error: str | None = None
    hashes: dict[str, Any] = field(default_factory=dict)
    queries: list[HashQuery] = field(default_factory=list)
    # What the hasher ignored or repaired (bytes around the picture, a cut JPEG), and the other
    # formats the file also is: shown to the analyst with the item.
    notes: list[str] = field(default_factory=list)
    polyglot: list[str] = field(default_factory=list)


def read_perceptual(result: dict[str, Any]) -> Perceptual:
    """The hashes of an (isolated) hasher result. Bytes around the picture do not stop it from
    being matched: the hasher hashed the picture alone and says what else it found (notes, and
    the formats of a polyglot). An error result has no hashes to keep (the picture did not
    decode, or the child crashed)."""
    notes, polyglot = list(result.get("notes") or []), list(result.get("polyglot") or [])
    if result.get("status") == "error":
        return Perceptual("error", result.get("error"), notes=notes, polyglot=polyglot)
    found = Perceptual(result.get("status", "ok"), notes=notes, polyglot=polyglot)
    if result.get("pdq"):
        found.hashes["pdq"] = result["pdq"]
        found.hashes["pdq_quality"] = result.get("pdq_quality")
        # The other seven dihedral hashes, so that rotated or mirrored copies match too.
        dihedral = [d["pdq"] for d in (result.get("dihedral") or [])[1:]] or None
        found.queries.append(HashQuery("pdq", result["pdq"], quality=result.get("pdq_quality"), dihedral=dihedral))
    if result.get("vpdq"):
        found.hashes["vpdq_frames"] = len(result["vpdq"])
        found.queries.append(HashQuery("vpdq", frames=result["vpdq"]))
    return found


def distinct_matches(outcomes: Iterable[MatchOutcome]) -> tuple[list[dict[str, Any]], bool]:
    """The matches of several queries about one item, each indicator once; and whether one of
    the queries was too weak to match (low quality)."""
    matches: list[dict[str, Any]] = []
    seen: set[Any] = set()
    low_quality = False
    for outcome in outcomes:
        low_quality = low_quality or outcome.status == "low_quality"
        for m in outcome.matches:
            if m["indicator_id"] not in seen:
                seen.add(m["indicator_id"])
                matches.append(m)
    return matches, low_quality


def hash_private_copy(hasher: Callable[[str], dict[str, Any]], tmp_dir: Path, prefix: str,
                      chunks: Iterable[bytes]) -> dict[str, Any]:
    """Write ``chunks`` to a private temporary file (0600, in a 0700 directory) and hash it
    with ``hasher``; the file, the only plaintext copy outside memory, is deleted whatever
    happens (a process killed meanwhile leaves it: see :meth:`MediaHashing._sweep`)."""
    tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, path = tempfile.mkstemp(prefix=prefix, dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        return hasher(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# -- the job ---------------------------------------------------------------------------------


class MatchPort(Protocol):
    def match(self, queries: Sequence[HashQuery], **kwargs: Any) -> list[Any]: ...


class VaultReader(Protocol):
    def read(self, session: Session, sha256: str, actor: Actor, purpose: str) -> Iterable[bytes]: ...


def has_pending(report: Report) -> bool:
    return any(item.hash_status == PENDING for item in report.items)


class MediaHashing:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, clock: Callable[[], datetime], *,
                 evidence: VaultReader, matcher: MatchPort, media_hasher: Callable[[str], dict[str, Any]],
                 tmp_dir: Path, when_hashed: Callable[[Session, Report], None],
                 keep_preview: Callable[[Session, str, Any, Actor], Any] | None = None,
                 when_item_hashed: Callable[[Session, Item, list[dict[str, Any]] | None], None] | None = None,
                 on_result: Callable[[Session, Item, dict[str, Any]], None] | None = None) -> None:
        self._new_session = new_session
        self._audit = audit
        self._clock = clock
        self._evidence = evidence
        self._matcher = matcher
        self._hasher = media_hasher
        self._tmp = tmp_dir
        # Called in the transaction that records the last pending item of a report (queues
        # its triage), so that the results and what acts on them commit together.
        self._when_hashed = when_hashed
        # Keeps a picture's preview pixels (given by the hasher, which decoded the picture
        # anyway) encrypted in the vault, in the transaction that records the hashes; returns
        # the stored blob, to discard if that transaction fails (docs/workbench.md).
        self._keep_preview = keep_preview
        # Called in the transaction that records each item's hashes, with a video's vPDQ frames
        # (which the item does not keep): the series assignment (balise/victims/assignment.py).
        self._when_item_hashed = when_item_hashed
        # Called in the same transaction with the hasher's whole result (the file's own
        # metadata, read beside the hashes: intelligence/file_leads.py).
        self._on_result = on_result

    def jobs_for(self, report: Report) -> list[NewJob]:
        """One hashing job per pending item of a new ``report``, to queue with its other jobs."""
        return [NewJob(MEDIA_HASH_JOB, {"report_id": str(report.id), "item_id": str(item.id)}, f"hash:{item.id}")
                for item in report.items if item.hash_status == PENDING]

    def handle(self, payload: dict[str, Any]) -> None:
        """The job handler. Idempotent: an item that is no longer pending is left as it is, so a
        second run after a crash records nothing twice. A hostile file is an outcome (the child
        process turns a crash or a timeout into an error result); a vault or database failure
        raises, and the queue retries with backoff."""
        report_id, item_id = uuid.UUID(payload["report_id"]), uuid.UUID(payload["item_id"])
        try:
            self._hash_item(report_id, item_id)
        finally:
            self._sweep(item_id)

    def _hash_item(self, report_id: uuid.UUID, item_id: uuid.UUID) -> None:
        with self._new_session() as session, session.begin():
            item = session.get(Item, item_id)
            if item is None or item.report_id != report_id or item.hash_status != PENDING:
                return
            exact = exact_queries(item.md5, item.sha1, item.sha256)
            original = item.vault_object
            if item.vault_object is None:
                result: dict[str, Any] | None = {"status": "error", "error": "no stored content to hash"}
                chunks: Iterable[bytes] = ()
            else:
                result = None
                # The read is audited (and committed) before a byte is decrypted; the bytes are
                # decrypted after the commit, so that no transaction stays open while hashing.
                chunks = self._evidence.read(session, item.vault_object, SYSTEM, PURPOSE)
        if result is None:
            result = hash_private_copy(self._hasher, self._tmp, f"balise-hash-{item_id}-", chunks)
        preview = result.pop("preview", None)
        found = read_perceptual(result)
        matches, low_quality = distinct_matches(self._matcher.match(exact + found.queries))
        status = "low_quality" if low_quality and found.status == "ok" else found.status
        kept: list[Any] = []
        try:
            self._record(report_id, item_id, found, status, matches,
                         (original, preview, kept) if preview and original and status != "error" else None, result)
        except BaseException:
            for blob in kept:
                discard = getattr(self._evidence, "discard", None)
                if blob is not None and discard is not None:
                    discard(self._new_session, blob)
            raise

    def _record(self, report_id: uuid.UUID, item_id: uuid.UUID, found: Perceptual, status: str,
                matches: list[dict[str, Any]], preview: tuple[str, Any, list[Any]] | None = None,
                result: dict[str, Any] | None = None) -> None:
        with self._new_session() as session, session.begin():
            # The report row is the lock that serialises the items of one report: exactly one
            # transaction sees "no other item pending" and queues the triage.
            report = session.get(Report, report_id, with_for_update=True)
            item = session.get(Item, item_id, with_for_update=True)
            if report is None or item is None or item.hash_status != PENDING:
                return  # another run recorded it first
            if found.hashes:
                item.hashes = {**(item.hashes or {}), **found.hashes}
            item.hash_status = status
            item.hash_error = found.error
            item.hash_notes = found.notes or None
            item.polyglot = bool(found.polyglot)
            item.matches = matches or None
            item.matched = bool(matches)
            if preview is not None and self._keep_preview is not None:
                original, pixels, kept = preview
                kept.append(self._keep_preview(session, original, pixels, SYSTEM))
            self._audit.record(session, AuditEvent.ITEM_HASH, SYSTEM, "item", str(item.id), PURPOSE,
                               {"report": str(report.id), "hash_status": status, "matched": item.matched,
                                "matches": len(matches)})
            if self._on_result is not None and result is not None:
                self._on_result(session, item, result)
            session.flush()
            if self._when_item_hashed is not None:
                frames = next((q.frames for q in found.queries if q.type == "vpdq"), None)
                self._when_item_hashed(session, item, frames)
            pending = session.execute(
                select(func.count()).select_from(Item).where(Item.report_id == report.id, Item.hash_status == PENDING)
            ).scalar_one()
            if pending == 0:
                self._when_hashed(session, report)

    def _sweep(self, item_id: uuid.UUID) -> None:
        """Remove plaintext copies of this item that a killed run left behind. Run after this
        run is over: a copy still in use by a run whose lease expired serves nothing any more
        (its result is discarded, the item being no longer pending)."""
        leftovers = list(self._tmp.glob(f"balise-hash-{item_id}-*")) if self._tmp.is_dir() else []
        if not leftovers:
            return
        with self._new_session() as session:
            item = session.get(Item, item_id)
            if item is not None and item.hash_status == PENDING:
                return  # not recorded (this run failed): the retry may still be using a copy
        for leftover in leftovers:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                log.warning("removed the plaintext copy %s left by an interrupted hashing run", leftover.name)
