"""Signed evidence packages for law enforcement (docs/evidence-packages.md).

:meth:`EvidencePackages.build` writes one zip per call: the report with everything the
centre knows about it, the chain of custody, the media when policy allows, and a manifest
signed with the centre's Ed25519 key. It works in the caller's transaction: every personal
data and media read is audited there, and the ``package:build`` event carries the SHA-256 of
the finished zip. The zip is written under a temporary name and renamed into place; if the
caller's transaction then fails, :meth:`discard` removes the file again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import socket
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from balise import __version__
from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    AuditHead,
    AuditRecord,
    EvidencePackage,
    EvidencePackageEvent,
    Item,
    Organisation,
    Report,
    User,
)
from balise.domain.audit import AuditEvent
from balise.domain.packages import (
    CUSTODY_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    REPORT_FILE,
    SIGNATURE_ALGORITHM,
    SIGNATURE_FILE,
    canonical_json,
    iso_utc,
    media_member,
    ncmec_member,
)
from balise.domain.states import ReportState
from balise.intake.ispws import OriginalDocument, originals

# A report closed as manifestly unfounded, or retracted, is not evidence to hand to police.
NOT_PACKAGEABLE = frozenset({ReportState.MANIFESTLY_UNFOUNDED.value, ReportState.RETRACTED.value})
# What the centre may record in a package's custody log after building it. A receipt is
# recorded once per recipient: the first wins, a repeat (a webhook re-sent after a crash, a
# confirmation typed twice) returns the first and adds nothing.
ONCE_PER_RECIPIENT = frozenset({"received"})
CUSTODY_KINDS = {
    "delivered": "the package was handed to its recipient (webhook, export directory, by hand)",
    "delivery_failed": "an attempt to deliver the package failed",
    "received": "the recipient acknowledged receipt",
}
# Audit events about a report that the package lists as its decisions.
DECISION_EVENTS = (AuditEvent.REPORT_DECIDE.value,)
ITEM_DECISION_EVENTS = (AuditEvent.ITEM_ASSESS.value,)


class PackageError(ValueError):
    """The package cannot be built or the custody event recorded; nothing was written."""


class AuditRecorder(Protocol):
    def record(self, session: Session, event: AuditEvent, actor: Actor, subject_type: str, subject_id: str,
               purpose: str, details: dict[str, Any] | None = None) -> AuditRecord: ...


class MediaReader(Protocol):
    def read(self, session: Session, sha256: str, actor: Actor, purpose: str) -> Iterator[bytes]: ...


class Signer(Protocol):
    key_id: str

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class CustodyRecorded:
    event: EvidencePackageEvent
    new: bool  # False: the same receipt was already recorded; nothing was added


@dataclass(frozen=True)
class BuiltPackage:
    package_id: str
    path: Path
    sha256: str
    size: int


def _actor_dict(actor_type: str, actor_id: str, usernames: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": actor_type, "id": actor_id}
    if actor_type == "staff" and actor_id in usernames:
        entry["username"] = usernames[actor_id]
    return entry


def _recorded_by(value: str | None, usernames: dict[str, str]) -> dict[str, Any] | None:
    """Who assessed or decided: a staff member's id, or ``system:<name>`` for automatic steps."""
    if value is None:
        return None
    if value.startswith("system:"):
        return {"type": "system", "id": value.removeprefix("system:")}
    return _actor_dict("staff", value, usernames)


class EvidencePackages:
    def __init__(
        self,
        new_session: Callable[[], Session],
        audit: AuditRecorder,
        evidence: MediaReader,
        signer: Signer,
        clock: Callable[[], datetime],
        output_dir: Path,
        centre_name: str,
    ) -> None:
        self._new_session = new_session
        self._audit = audit
        self._evidence = evidence
        self._signer = signer
        self._clock = clock
        self.output_dir = Path(output_dir)
        self.centre_name = centre_name

    # -- building ----------------------------------------------------------------------------

    def build(self, session: Session, actor: Actor, report_id: uuid.UUID, include_media: bool = False,
              output_dir: Path | None = None) -> BuiltPackage:
        report = session.get(Report, report_id)
        if report is None:
            raise PackageError(f"no report {report_id}")
        if report.state in NOT_PACKAGEABLE:
            raise PackageError(f"report {report_id} is {report.state}: it is not forwarded to law enforcement")
        if report.redacted_at is not None:
            raise PackageError(f"report {report_id} was redacted by retention on {report.redacted_at:%Y-%m-%d}: "
                               "its content and personal data are gone")
        directory = Path(output_dir) if output_dir is not None else self.output_dir
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise PackageError(f"cannot create the output directory {directory}: {exc.strerror}") from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PackageError(f"the output directory {directory} is not writable")

        package_id = str(uuid.uuid4())
        now = self._clock()
        rid = str(report.id)
        purpose = f"evidence package {package_id} for law enforcement"
        media = self._media_items(report) if include_media else {}
        # A report filed through /ispws: the CyberTipline documents as the provider sent them
        # (not media: they hold what report.json already holds, in NCMEC's own words).
        found = originals(session, report.id)
        ncmec = {ncmec_member(d.key): d for d in found[1]} if found else {}
        document = self._report_document(session, report, package_id, media)
        document["report"]["ncmec"] = None if found is None else {
            "cybertipline_report_id": found[0],
            "documents": [{"path": member, "document": "cybertipline_report" if d.key == "report" else "file_details",
                           "file_id": None if d.key == "report" else d.key,
                           "item_id": str(d.item_id) if d.item_id else None, "size": d.size, "sha256": d.sha256}
                          for member, d in ncmec.items()],
        }
        for person in report.persons:
            # The package copies every identifier of the person: that is a read of personal data.
            self._audit.record(session, AuditEvent.PERSON_READ, actor, "person", str(person.id), purpose,
                               {"report": rid, "package": package_id})

        fd, tmp_name = tempfile.mkstemp(prefix=f".{package_id}.", suffix=".tmp", dir=directory)
        tmp = Path(tmp_name)
        final = directory / f"{package_id}.zip"
        try:
            with os.fdopen(fd, "w+b") as raw:
                with zipfile.ZipFile(raw, "w") as zf:
                    files = []
                    for member, item in sorted(media.items()):
                        files.append(self._write_media(session, zf, member, item, now, actor, purpose))
                    for member, original in ncmec.items():
                        files.append(self._write_original(session, zf, member, original, now, actor, purpose))
                    # From here on nothing else may enter the audit chain before package:build,
                    # so custody.json can name that event's number and the MAC it follows.
                    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
                    build_seq, prev_mac = head.seq + 1, head.mac
                    custody = self._custody_document(session, report, package_id, actor, now, build_seq, prev_mac,
                                                     include_media, len(media))
                    files.append(_write_bytes(zf, REPORT_FILE, canonical_json(document), now))
                    files.append(_write_bytes(zf, CUSTODY_FILE, canonical_json(custody), now))
                    manifest = canonical_json({
                        "format": FORMAT_NAME,
                        "format_version": FORMAT_VERSION,
                        "package_id": package_id,
                        "created_at": iso_utc(now),
                        "centre": self.centre_name,
                        "key_id": self._signer.key_id,
                        "signature_algorithm": SIGNATURE_ALGORITHM,
                        "report_id": rid,
                        "includes_media": include_media,
                        "files": sorted(files, key=lambda f: f["path"]),
                    })
                    signature = base64.b64encode(self._signer.sign(manifest)) + b"\n"
                    _write_bytes(zf, MANIFEST_FILE, manifest, now)
                    _write_bytes(zf, SIGNATURE_FILE, signature, now)
                raw.flush()
                os.fsync(raw.fileno())
                raw.seek(0)
                digest = hashlib.sha256()
                size = 0
                while chunk := raw.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
            sha256 = digest.hexdigest()
            record = self._audit.record(
                session, AuditEvent.PACKAGE_BUILD, actor, "package", package_id, purpose,
                {"report": rid, "sha256": sha256, "size": size, "media": len(media), "key_id": self._signer.key_id},
            )
            if record.seq != build_seq:
                raise PackageError(f"the audit chain moved while the package was built (event {record.seq}, "
                                   f"expected {build_seq}); nothing was kept")
            package = EvidencePackage(
                id=uuid.UUID(package_id), report_id=report.id, file_name=final.name, path=str(final.resolve()),
                sha256=sha256, size=size, key_id=self._signer.key_id, include_media=include_media,
                media_count=len(media), audit_seq=record.seq, created_at=now,
            )
            package.events.append(EvidencePackageEvent(
                kind="built", occurred_at=now, actor_type=actor.type.value, actor_id=actor.id,
                details={"sha256": sha256, "size": size}, audit_seq=record.seq,
            ))
            session.add(package)
            session.flush()
            os.replace(tmp, final)
            _fsync_dir(directory)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return BuiltPackage(package_id, final, sha256, size)

    def discard(self, built: BuiltPackage) -> None:
        """Undo a build whose transaction rolled back: the zip goes unless a committed record
        of the package exists."""
        with self._new_session() as session:
            if session.get(EvidencePackage, uuid.UUID(built.package_id)) is None:
                built.path.unlink(missing_ok=True)

    @staticmethod
    def _media_items(report: Report) -> dict[str, Item]:
        """One file per distinct content: two items with the same SHA-256 share it."""
        media: dict[str, Item] = {}
        for item in report.items:
            if item.kind == "media" and item.vault_object:
                media.setdefault(media_member(item.vault_object, item.content_type), item)
        return media

    def _write_media(self, session: Session, zf: zipfile.ZipFile, member: str, item: Item, now: datetime,
                     actor: Actor, purpose: str) -> dict[str, Any]:
        assert item.vault_object is not None
        info = _zip_info(member, now, zipfile.ZIP_STORED)  # images and videos are compressed already
        digest = hashlib.sha256()
        size = 0
        try:
            chunks = self._evidence.read(session, item.vault_object, actor, purpose)
            with zf.open(info, "w", force_zip64=(item.size or 0) > 1 << 30) as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except FileNotFoundError as exc:
            raise PackageError(f"item {item.id}: the vault has no media {item.vault_object}; nothing was kept") from exc
        if digest.hexdigest() != item.vault_object:
            raise PackageError(f"the vault returned other content for {item.vault_object}: nothing was kept")
        return {"path": member, "size": size, "sha256": digest.hexdigest()}

    def _write_original(self, session: Session, zf: zipfile.ZipFile, member: str, original: OriginalDocument,
                        now: datetime, actor: Actor, purpose: str) -> dict[str, Any]:
        try:
            data = b"".join(self._evidence.read(session, original.sha256, actor, purpose))
        except FileNotFoundError as exc:
            raise PackageError(f"the vault has no original CyberTipline document {original.sha256}; "
                               "nothing was kept") from exc
        if hashlib.sha256(data).hexdigest() != original.sha256:
            raise PackageError(f"the vault returned other content for {original.sha256}: nothing was kept")
        return _write_bytes(zf, member, data, now)

    # -- documents ---------------------------------------------------------------------------

    def _usernames(self, session: Session, report: Report) -> dict[str, str]:
        ids: set[str] = {e.actor_id for e in report.events if e.actor_type == "staff"}
        ids.update(v for v in [report.decided_by, *(i.assessed_by for i in report.items)] if v)
        uuids = []
        for value in ids:
            try:
                uuids.append(uuid.UUID(value))
            except ValueError:
                continue
        if not uuids:
            return {}
        rows = session.execute(select(User.id, User.username).where(User.id.in_(uuids))).all()
        return {str(uid): name for uid, name in rows}

    def _report_document(self, session: Session, report: Report, package_id: str,
                         media: dict[str, Item]) -> dict[str, Any]:
        usernames = self._usernames(session, report)
        member_of = {item.id: member for member, item in media.items()}
        by_content = {item.vault_object: member for member, item in media.items()}
        organisation = session.get(Organisation, report.organisation_id) if report.organisation_id else None
        contact = report.provider_contact or {}
        item_ids = [str(i.id) for i in report.items]
        decisions = session.execute(
            select(AuditRecord).where(or_(
                (AuditRecord.subject_type == "report") & (AuditRecord.subject_id == str(report.id))
                & AuditRecord.event_type.in_(DECISION_EVENTS),
                (AuditRecord.subject_type == "item") & AuditRecord.subject_id.in_(item_ids or [""])
                & AuditRecord.event_type.in_(ITEM_DECISION_EVENTS),
            )).order_by(AuditRecord.seq)
        ).scalars().all()
        return {
            "package_id": package_id,
            "report": {
                "id": str(report.id),
                "source": report.source,
                "state": report.state,
                "urgent": report.urgent,
                "is_demo": report.is_demo,
                "received_at": iso_utc(report.created_at),
                "updated_at": iso_utc(report.updated_at),
                # CSAR Annex III, with the names of the provider API (docs/api.md).
                "annex_iii": {
                    "provider": {
                        "organisation": None if organisation is None else {
                            "id": str(organisation.id),
                            "name": organisation.name,
                            "kind": organisation.kind,
                            "country": organisation.country,
                            "legal_representative": organisation.legal_representative,
                            "contact_points": [
                                {"name": c.name, "email": c.email, "phone": c.phone, "purpose": c.purpose}
                                for c in sorted(organisation.contact_points, key=lambda c: c.id)
                            ],
                        },
                        "contact_point": contact.get("contact_point"),
                        "legal_representative": contact.get("legal_representative"),
                    },
                    "reported_at": iso_utc(report.provider_reported_at),
                    "reported_at_timezone": report.provider_timezone,
                    "signature": report.provider_signature,
                    "type": report.report_type,
                    "service": {"type": report.service_type, "url": report.service_url},
                    "awareness": {"source": report.awareness_source, "detail": report.awareness_detail},
                    "reported_elsewhere": {
                        "reported": report.reported_elsewhere,
                        "body": report.reported_elsewhere_body,
                        "reference": report.reported_elsewhere_reference,
                    },
                    "content_removed": report.content_removed,
                    "user_decision": report.user_decision,
                    "urgent": report.urgent,
                    "imminent_threat": report.imminent_threat,
                    "victims": report.victims or [],
                    "geolocation": report.geolocation,
                    "additional_info": report.additional_info,
                },
                "persons": [
                    {
                        "id": str(p.id),
                        "position": p.position,
                        "role": p.role,
                        "display_name": p.display_name,
                        "details": p.details,
                        "identifiers": [
                            {"type": i.type, "value": i.value, "observed_at": iso_utc(i.observed_at),
                             "observed_timezone": i.observed_tz, "port": i.port, "event": i.event}
                            for i in p.identifiers
                        ],
                    }
                    for p in report.persons
                ],
                "items": [self._item_document(i, member_of.get(i.id) or by_content.get(i.vault_object), usernames)
                          for i in report.items],
                "triage": {
                    "priority": report.priority,
                    "priority_reasons": report.priority_reasons or [],
                    "missing_fields": report.missing_fields or [],
                    "information_request": report.information_request,
                    "triaged_at": iso_utc(report.triaged_at),
                },
                "outcome": {
                    "outcome": report.outcome,
                    "reasons": report.outcome_reasons or [],
                    "text": report.outcome_text,
                    "decided_by": _recorded_by(report.decided_by, usernames),
                    "decided_at": iso_utc(report.decided_at),
                },
                "history": [
                    {"from": e.from_state, "to": e.to_state, "at": iso_utc(e.occurred_at),
                     "by": _actor_dict(e.actor_type, e.actor_id, usernames), "reason": e.reason}
                    for e in report.events
                ],
                "decisions": [
                    {"event": r.event_type, "at": iso_utc(r.occurred_at),
                     "by": _actor_dict(r.actor_type, r.actor_id, usernames),
                     "subject": {"type": r.subject_type, "id": r.subject_id},
                     "purpose": r.purpose, "details": r.details, "audit_seq": r.seq}
                    for r in decisions
                ],
            },
        }

    @staticmethod
    def _item_document(item: Item, member: str | None, usernames: dict[str, str]) -> dict[str, Any]:
        extra = dict(item.hashes or {})
        return {
            "id": str(item.id),
            "position": item.position,
            "kind": item.kind,
            "media_type": item.media_type,
            "filename": item.filename,
            "content_type": item.content_type,
            "size": item.size,
            "url": item.url,
            "metadata": item.media_metadata,
            "hashes": {"md5": item.md5, "sha1": item.sha1, "sha256": item.sha256, **extra},
            "media_file": member,
            "detection": {
                "hash_status": item.hash_status,
                "hash_error": item.hash_error,
                "hash_notes": item.hash_notes or [],
                "polyglot": item.polyglot,
                "matched": item.matched,
                "matches": item.matches or [],
                "duplicate_of": str(item.duplicate_of) if item.duplicate_of else None,
                "duplicate_distance": item.duplicate_distance,
                "times_reported": item.times_reported,
            },
            "assessment": {
                "outcome": item.outcome,
                "classification": item.classification,
                "source": item.assessment_source,
                "assessed_by": _recorded_by(item.assessed_by, usernames),
                "assessed_at": iso_utc(item.assessed_at),
            },
        }

    def _custody_document(self, session: Session, report: Report, package_id: str, actor: Actor, now: datetime,
                          build_seq: int, prev_mac: str, include_media: bool, media_count: int) -> dict[str, Any]:
        bind = session.get_bind()
        return {
            "package_id": package_id,
            "report_id": str(report.id),
            "events": [{
                "kind": "built",
                "at": iso_utc(now),
                "by": {"type": actor.type.value, "id": actor.id, **({"label": actor.label} if actor.label else {})},
                "system": {
                    "centre": self.centre_name,
                    "host": socket.gethostname(),
                    "software": f"balise {__version__}",
                    "python": platform.python_version(),
                    "platform": platform.platform(terse=True),
                    "database": bind.dialect.name,
                },
                "signing_key_id": self._signer.key_id,
                "media": {"included": include_media, "files": media_count},
                # The build event's own MAC covers the SHA-256 of this zip, so it cannot be
                # inside it: the package names the event and the chain position it extends.
                "audit": {"event": AuditEvent.PACKAGE_BUILD.value, "seq": build_seq, "prev_mac": prev_mac},
            }],
            "later_events": ("Delivery and receipt are recorded after signing, in the centre's custody log of "
                             "this package (`balise package custody " + package_id + "`), each with its own "
                             "audit event; ask the centre for it."),
        }

    # -- custody log -------------------------------------------------------------------------

    def record_custody(self, session: Session, actor: Actor, package_id: uuid.UUID, kind: str,
                       recipient: str | None = None, details: dict[str, Any] | None = None) -> CustodyRecorded:
        """Add a delivery or receipt event to a package's custody log (and the audit trail).
        A receipt already recorded for the same recipient is returned as it is (``new`` false)."""
        if kind not in CUSTODY_KINDS:
            raise PackageError(f"unknown custody event {kind!r}; one of: {', '.join(CUSTODY_KINDS)}")
        if recipient is not None and not (0 < len(recipient.strip()) <= 200):
            raise PackageError("the recipient must be 1 to 200 characters")
        recipient = recipient.strip() if recipient else None
        # The package row is locked: two receipts recorded at the same moment are serialised.
        package = session.get(EvidencePackage, package_id, with_for_update=True)
        if package is None:
            raise PackageError(f"no evidence package {package_id}")
        if kind in ONCE_PER_RECIPIENT:
            wanted = _recipient_key(recipient)
            for earlier in package.events:
                if earlier.kind == kind and _recipient_key(earlier.recipient) == wanted:
                    return CustodyRecorded(earlier, False)
        now = self._clock()
        record = self._audit.record(
            session, AuditEvent.PACKAGE_CUSTODY, actor, "package", str(package_id), f"evidence package {kind}",
            {"kind": kind, "recipient": recipient, "report": str(package.report_id), "details": details or {}},
        )
        event = EvidencePackageEvent(kind=kind, occurred_at=now, actor_type=actor.type.value, actor_id=actor.id,
                                     recipient=recipient, details=details or None, audit_seq=record.seq)
        package.events.append(event)
        session.flush()
        return CustodyRecorded(event, True)

    def custody_log(self, session: Session, package_id: uuid.UUID) -> dict[str, Any]:
        """The package's record and every custody event, in the shape of custody.json."""
        package = session.get(EvidencePackage, package_id)
        if package is None:
            raise PackageError(f"no evidence package {package_id}")
        return {
            "package_id": str(package.id),
            "report_id": str(package.report_id),
            "file": package.path,
            "sha256": package.sha256,
            "size": package.size,
            "signing_key_id": package.key_id,
            "file_deleted_at": iso_utc(package.file_deleted_at) if package.file_deleted_at else None,
            "media": {"included": package.include_media, "files": package.media_count},
            "events": [
                {"kind": e.kind, "at": iso_utc(e.occurred_at), "by": {"type": e.actor_type, "id": e.actor_id},
                 "recipient": e.recipient, "details": e.details, "audit_seq": e.audit_seq}
                for e in package.events
            ],
        }

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[EvidencePackage]:
        return list(session.execute(
            select(EvidencePackage).where(EvidencePackage.report_id == report_id).order_by(EvidencePackage.created_at)
        ).scalars())

    def sweep_orphans(self, session: Session, actor: Actor, older_than: timedelta) -> list[str]:
        """See :func:`sweep_orphans` (this centre's output directory)."""
        return sweep_orphans(session, self._audit, actor, self.output_dir, self._clock(), older_than)


def sweep_orphans(session: Session, audit: AuditRecorder, actor: Actor, directory: Path, now: datetime,
                  older_than: timedelta) -> list[str]:
    """Remove, from a package output directory, zips that no committed package record names and
    temporary files of builds, last modified more than ``older_than`` before ``now`` (a build
    still in its transaction is younger); audited as ``package:sweep``. Returns the names removed.
    Needs no signing key: it only compares files with records."""
    if not directory.is_dir():
        return []
    cutoff = (now - older_than).timestamp()
    candidates: dict[str, Path] = {}
    for path in directory.iterdir():
        name = path.name
        if path.is_symlink() or not path.is_file():
            continue
        if name.startswith(".") and name.endswith(".tmp"):
            candidates[name] = path
        elif name.endswith(".zip"):
            try:
                uuid.UUID(name[:-4])
            except ValueError:
                continue  # not a file of ours
            candidates[name] = path
    if not candidates:
        return []
    known = set(session.execute(select(EvidencePackage.file_name).where(
        EvidencePackage.file_name.in_(sorted(n for n in candidates if n.endswith(".zip")) or [""]))).scalars())
    removed = []
    for name, path in sorted(candidates.items()):
        if name in known:
            continue
        try:
            if path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(name)
    if removed:
        audit.record(session, AuditEvent.PACKAGE_SWEEP, actor, "packages", "packages",
                     "remove package files no committed record names", {"files": removed})
    return removed


def _recipient_key(recipient: str | None) -> str | None:
    return " ".join(recipient.split()).casefold() if recipient else None


def _zip_info(name: str, when: datetime, compression: int) -> zipfile.ZipInfo:
    stamp = when.utctimetuple()
    info = zipfile.ZipInfo(name, date_time=(max(stamp.tm_year, 1980), *stamp[1:6]))
    info.compress_type = compression
    info.external_attr = (0o100644 << 16)  # a regular file, rw-r--r--
    return info


def _write_bytes(zf: zipfile.ZipFile, name: str, data: bytes, when: datetime) -> dict[str, Any]:
    zf.writestr(_zip_info(name, when, zipfile.ZIP_DEFLATED), data)
    return {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
