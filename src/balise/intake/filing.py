"""Filing a report: validate, hash exactly, store evidence, record — all or nothing. Perceptual
hashing of pictures and videos is a job queued with the report (detection/media_hashing.py)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    IdempotencyKey,
    Item,
    Person,
    PersonIdentifier,
    Report,
    ReportEvent,
)
from balise.adapters.db.pending_rows import pending_rows
from balise.detection.adapters.hashing import ExactHashes, exact_hashes
from balise.detection.adapters.media_layout import locate
from balise.detection.matching_types import HashQuery
from balise.detection.media_hashing import HASHED_MEDIA, PENDING, distinct_matches, exact_queries
from balise.domain.audit import AuditEvent
from balise.domain.model import ItemKind, ReportSource
from balise.domain.states import INITIAL_STATE
from balise.evidence.vault import EvidenceVault
from balise.governance.audit import AuditBatch, AuditTrail
from balise.intake.grouping import TransactionGroups
from balise.intake.report_schema import (
    HashOnlyItemIn,
    MediaItemIn,
    ReportIn,
    UrlItemIn,
)
from balise.ports import StoredBlob


class IntakeError(ValueError):
    """The submission is refused; nothing was stored. ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []


@dataclass
class UploadedFile:
    """A file part of a submission, already spooled by the web layer."""

    part: str
    stream: BinaryIO
    filename: str | None
    content_type: str | None
    hashes: ExactHashes | None = None
    media_type: str = "other"
    sniffed_type: str | None = None


@dataclass
class ItemDetection:
    """What intake knows of one item's hashes and matches, before it is stored."""

    hash_status: str
    hash_error: str | None = None
    extra_hashes: dict[str, Any] = field(default_factory=dict)
    matches: list[dict[str, Any]] = field(default_factory=list)


class MatchPort(Protocol):
    def match(self, queries: Sequence[HashQuery], **kwargs: Any) -> list[Any]: ...


@dataclass
class FiledReport:
    report: Report
    replayed: bool = False
    items: list[Item] = field(default_factory=list)


def request_fingerprint(payload: Mapping[str, Any], files: Mapping[str, UploadedFile]) -> str:
    """What makes two submissions "the same body" for idempotency: the JSON document
    (key order ignored) and the content and name of every file part."""
    canonical = {
        "report": payload,
        "files": sorted(
            (name, f.hashes.sha256 if f.hashes else "", f.filename or "") for name, f in files.items()
        ),
    }
    return hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def _tz_label(value: datetime | None) -> str | None:
    if value is None or value.utcoffset() is None:
        return None
    minutes = int(value.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _meta(item: MediaItemIn | UrlItemIn | HashOnlyItemIn) -> dict[str, Any] | None:
    if item.metadata is None:
        return None
    return item.metadata.model_dump(mode="json", exclude_none=True)


_INSERT_IDENTIFIERS = insert(PersonIdentifier.__table__)


class Intake:
    def __init__(
        self,
        audit: AuditTrail,
        evidence: EvidenceVault,
        new_session: Callable[[], Session],
        clock: Callable[[], datetime],
        max_file_bytes: int,
        max_items: int,
        matcher: MatchPort | None = None,
        perceptual_hashing: bool = False,
        after_store: Callable[[Session, Report], None] | None = None,
        groups: TransactionGroups | None = None,
    ) -> None:
        self._audit = audit
        self._evidence = evidence
        self._new_session = new_session
        self._clock = clock
        self.max_file_bytes = max_file_bytes
        self.max_items = max_items
        self._matcher = matcher
        # True when a media.hash job will hash pictures and videos (their items are "pending");
        # otherwise they are recorded "not_hashed".
        self._perceptual_hashing = perceptual_hashing
        # Called inside the intake transaction, to queue the jobs (perceptual hashing, or
        # triage, URL fetches) with the report they act on.
        self._after_store = after_store
        self._groups = groups

    # -- preparation (no database) ---------------------------------------------------------

    def prepare_files(self, report: ReportIn, files: dict[str, UploadedFile]) -> None:
        """Check file parts against the items, compute their exact hashes and sniff their media
        type; no decoding happens here (that is the media.hash job). Raises IntakeError."""
        if len(report.items) > self.max_items:
            raise IntakeError(
                413, "too_many_items",
                f"a report may hold at most {self.max_items} items, this one has {len(report.items)}",
            )
        wanted = report.file_parts()
        missing = [p for p in wanted if p not in files]
        if missing:
            raise IntakeError(
                422, "missing_file",
                "media items refer to file parts that were not sent: " + ", ".join(missing),
                [{"field": f"items.{i}.file", "message": f"no file part named {it.file!r}"}
                 for i, it in enumerate(report.items) if isinstance(it, MediaItemIn) and it.file in missing],
            )
        unused = sorted(set(files) - set(wanted))
        if unused:
            raise IntakeError(
                422, "unreferenced_file",
                "file parts not referred to by any media item: " + ", ".join(unused),
            )
        for upload in files.values():
            upload.stream.seek(0)
            upload.hashes = exact_hashes(upload.stream)
            if upload.hashes.size > self.max_file_bytes:
                raise IntakeError(
                    413, "file_too_large",
                    f"file part {upload.part!r} has {upload.hashes.size} bytes; the limit is {self.max_file_bytes}",
                )
            upload.stream.seek(0)
            # The same decision as the hasher's (media_layout.py): a picture after a few bytes is
            # a picture, to be hashed, whatever its first bytes say. The whole file is read
            # (at most max_file_bytes, one file at a time): a JPEG may start anywhere in it.
            located = locate(upload.stream.read())
            upload.media_type, upload.sniffed_type = located.media_type, located.mime
            upload.stream.seek(0)
        for index, item in enumerate(report.items):
            if not isinstance(item, MediaItemIn) or item.hashes is None:
                continue
            actual = files[item.file].hashes
            assert actual is not None
            for name in ("md5", "sha1", "sha256"):
                declared = getattr(item.hashes, name)
                if declared is not None and declared != getattr(actual, name):
                    raise IntakeError(
                        422, "hash_mismatch",
                        f"items.{index}.hashes.{name} is {declared} but the file's {name} is {getattr(actual, name)}",
                        [{"field": f"items.{index}.hashes.{name}", "message": "does not match the file"}],
                    )

    def detect(self, report: ReportIn, files: dict[str, UploadedFile]) -> list[ItemDetection]:
        """What is known at intake, computed before the report is stored so that each item is
        recorded with it: every item is matched on the hashes known now (the exact hashes of a
        file, the hashes a hash-only item gives). A picture or video is ``pending``: its
        perceptual hashes are computed and matched by the ``media.hash`` job, which then
        records the item's matches on all its hashes (detection/media_hashing.py)."""
        detections: list[ItemDetection] = []
        queries: list[HashQuery] = []
        owners: list[int] = []
        for position, spec in enumerate(report.items):
            detection = ItemDetection(hash_status="not_applicable")
            if isinstance(spec, MediaItemIn):
                upload = files[spec.file]
                assert upload.hashes is not None
                exact = exact_queries(upload.hashes.md5, upload.hashes.sha1, upload.hashes.sha256)
                queries += exact
                owners += [position] * len(exact)
                if upload.media_type in HASHED_MEDIA:
                    detection.hash_status = PENDING if self._perceptual_hashing else "not_hashed"
            elif isinstance(spec, HashOnlyItemIn):
                present = spec.hashes.present()
                detection.hash_status = "provided"
                for algorithm in ("md5", "sha1", "sha256"):
                    if present.get(algorithm):
                        algo = "video_md5" if algorithm == "md5" and spec.media_type.value == "video" else algorithm
                        queries.append(HashQuery(algo, present[algorithm]))
                        owners.append(position)
                if present.get("pdq"):
                    queries.append(HashQuery("pdq", present["pdq"], quality=present.get("pdq_quality")))
                    owners.append(position)
            detections.append(detection)
        if self._matcher is not None and queries:
            outcomes: dict[int, list[Any]] = {}
            for position, outcome in zip(owners, self._matcher.match(queries)):
                outcomes.setdefault(position, []).append(outcome)
            for position, found in outcomes.items():
                matches, low_quality = distinct_matches(found)
                detections[position].matches = matches
                if low_quality and detections[position].hash_status == "provided":
                    detections[position].hash_status = "low_quality"
        return detections

    # -- filing ----------------------------------------------------------------------------

    def file(
        self,
        *,
        actor: Actor,
        organisation_id: uuid.UUID | None,
        report: ReportIn,
        files: dict[str, UploadedFile],
        fingerprint: str,
        idempotency_key: str | None,
        source: ReportSource = ReportSource.PROVIDER_API,
        is_demo: bool = False,
        also_store: Callable[[Session, Report], None] | None = None,
        grouped: bool = False,
    ) -> FiledReport:
        """Store the report in one transaction. The files must have gone through
        :meth:`prepare_files`. A failure leaves no report, item or vault object behind.
        ``also_store`` writes what a channel keeps beside the report, in the same transaction.
        ``grouped``: the caller holds no transaction and may wait for others (a request
        handler); a report without files then commits with the reports filed at the same time
        (grouping.py). If that shared commit fails, the filing runs again alone, ``also_store``
        too: what its first run wrote was undone. There the report's rows are written by the
        group after ``also_store`` returns, so ``also_store`` must leave its own rows in
        ``pending_rows(session)`` too (the report it is given stays outside the session);
        ungrouped, the report is in the session and ``also_store`` may change it."""
        # Few round trips (issue 19 item 5): matching first, outside the transaction; then one
        # transaction that checks the Idempotency-Key and stores everything with a number of
        # statements that does not grow with the items (bulk inserts, one audit append).
        # A retried submission thus costs a match it does not need: retries are rare.
        detections = self.detect(report, files)
        blobs: list[StoredBlob] = []

        def store(session: Session) -> tuple[FiledReport, list[AuditBatch]]:
            # The audit events are returned, not recorded: appending takes the audit chain's
            # head (a row lock on PostgreSQL) until the commit, so the caller appends them last,
            # after everything else its transaction writes (for a group, after all its reports).
            audit: list[AuditBatch] = []
            if idempotency_key and organisation_id:
                replay = self._replay(session, actor, organisation_id, idempotency_key, fingerprint, audit)
                if replay:
                    return replay, audit
            filed = self._store(
                session, actor, organisation_id, report, files, fingerprint,
                idempotency_key, source, is_demo, blobs, detections, audit,
            )
            if also_store is not None:
                also_store(session, filed.report)
                session.flush()
            return filed, audit

        try:
            # A report without files has nothing in the vault to undo: it may share its
            # transaction and commit with the reports filed at the same time (grouping.py).
            if grouped and self._groups is not None and not files:
                return self._groups.run(store)
            with self._new_session() as session, session.begin():
                filed, audit = store(session)
                self._audit.record_batches(session, audit)
                return filed
        except IntegrityError:
            self._discard(blobs)
            if idempotency_key and organisation_id:
                # Another request with the same key won the race: answer as it did.
                with self._new_session() as session, session.begin():
                    audit = []
                    replay = self._replay(session, actor, organisation_id, idempotency_key, fingerprint, audit)
                    if replay:
                        self._audit.record_batches(session, audit)
                        return replay
            raise
        except BaseException:
            self._discard(blobs)
            raise

    def _discard(self, blobs: list[StoredBlob]) -> None:
        for blob in blobs:
            self._evidence.discard(self._new_session, blob)

    def _replay(
        self, session: Session, actor: Actor, organisation_id: uuid.UUID, key: str, fingerprint: str,
        audit: list[AuditBatch],
    ) -> FiledReport | None:
        row = session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.organisation_id == organisation_id, IdempotencyKey.key == key
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise IntakeError(
                409, "idempotency_conflict",
                "this Idempotency-Key was already used with a different request body",
            )
        report = session.get(Report, row.report_id)
        assert report is not None
        audit.append((actor, "provider retried a submission",
                      [(AuditEvent.REPORT_IDEMPOTENT_REPLAY, "report", str(report.id), {"idempotency_key": key})]))
        return FiledReport(report=report, replayed=True, items=list(report.items))

    def _store(
        self,
        session: Session,
        actor: Actor,
        organisation_id: uuid.UUID | None,
        data: ReportIn,
        files: dict[str, UploadedFile],
        fingerprint: str,
        idempotency_key: str | None,
        source: ReportSource,
        is_demo: bool,
        blobs: list[StoredBlob],
        detections: list[ItemDetection],
        audit: list[AuditBatch],
    ) -> FiledReport:
        now = self._clock()
        contact = data.provider.model_dump(mode="json", exclude_none=True) if data.provider else None
        elsewhere = data.reported_elsewhere
        report = Report(
            id=uuid.uuid4(),
            organisation_id=organisation_id,
            source=source.value,
            state=INITIAL_STATE.value,
            urgent=data.urgent or data.imminent_threat,
            imminent_threat=data.imminent_threat,
            report_type=data.type.value,
            provider_reported_at=data.reported_at,
            provider_timezone=_tz_label(data.reported_at),
            provider_signature=data.signature,
            service_type=data.service.type.value,
            service_url=data.service.url,
            awareness_source=data.awareness.source.value,
            awareness_detail=data.awareness.detail,
            reported_elsewhere=elsewhere.reported if elsewhere else None,
            reported_elsewhere_body=elsewhere.body if elsewhere else None,
            reported_elsewhere_reference=elsewhere.reference if elsewhere else None,
            content_removed=data.content_removed,
            user_decision=data.user_decision.value if data.user_decision else None,
            provider_contact=contact,
            victims=[v.model_dump(mode="json", exclude_none=True) for v in data.victims] or None,
            geolocation=data.geolocation.model_dump(mode="json", exclude_none=True) if data.geolocation else None,
            additional_info=data.additional_info,
            is_demo=is_demo,
            created_at=now,
            updated_at=now,
            # Set, not loaded: a new report's collections are empty (no SELECT after the flush).
            items=[], persons=[], events=[],
        )
        # In an intake group the rows are written by the group, all its reports' at once
        # (grouping.py), and these objects stay outside the session; otherwise the session
        # writes them. The foreign keys are set here for the first case.
        pending = pending_rows(session)
        if pending is None:
            session.add(report)
        report.events.append(
            ReportEvent(
                report_id=report.id, from_state=None, to_state=INITIAL_STATE.value, occurred_at=now,
                actor_type=actor.type.value, actor_id=actor.id, reason="report filed",
            )
        )
        rid = str(report.id)
        purpose = "report intake"
        # Every event of the filing, appended to the chain at once at the end (one read of its
        # head and one write), in the order they happened.
        events: list[tuple[AuditEvent, str, str, dict[str, Any] | None]] = [
            (AuditEvent.REPORT_CREATE, "report", rid,
             {"source": source.value, "items": len(data.items), "urgent": report.urgent})]

        # Encrypted into the vault before the rows commit, all in one go (blobs lists those
        # to remove again if the transaction fails); recorded before the items that refer to them.
        uploads = [(files[spec.file].hashes.sha256, files[spec.file].stream)  # type: ignore[union-attr]
                   for spec in data.items if isinstance(spec, MediaItemIn)]
        self._evidence.store_many(session, uploads, actor, purpose, created=blobs)
        items: list[Item] = []
        for position, spec in enumerate(data.items):
            item = Item(id=uuid.uuid4(), report_id=report.id, position=position, kind=spec.kind,
                        media_metadata=_meta(spec), created_at=now)
            if isinstance(spec, MediaItemIn):
                upload = files[spec.file]
                assert upload.hashes is not None
                item.kind = ItemKind.MEDIA.value
                item.media_type = upload.media_type
                item.filename = spec.filename if spec.filename is not None else upload.filename
                item.content_type = upload.sniffed_type or upload.content_type
                item.size = upload.hashes.size
                item.md5, item.sha1, item.sha256 = upload.hashes.md5, upload.hashes.sha1, upload.hashes.sha256
                item.vault_object = upload.hashes.sha256
                item.url = spec.url
                extra = spec.hashes.present() if spec.hashes else {}
                item.hashes = {k: v for k, v in extra.items() if k not in ("md5", "sha1", "sha256")} or None
            elif isinstance(spec, UrlItemIn):
                item.url = spec.url
            else:
                item.media_type = spec.media_type.value
                item.filename = spec.filename
                hashes = spec.hashes.present()
                item.md5, item.sha1, item.sha256 = hashes.pop("md5", None), hashes.pop("sha1", None), hashes.pop("sha256", None)
                item.hashes = hashes or None
            detection = detections[position]
            if detection.extra_hashes:
                item.hashes = {**(item.hashes or {}), **detection.extra_hashes}
            item.hash_status = detection.hash_status
            item.hash_error = detection.hash_error
            item.matches = detection.matches or None
            item.matched = bool(detection.matches)
            report.items.append(item)
            items.append(item)
        events += [(AuditEvent.ITEM_CREATE, "item", str(item.id),
                    {"report": rid, "kind": item.kind, "sha256": item.sha256, "matched": item.matched})
                   for item in items]

        # The ORM inserts rows with a database-generated key one by one: identifiers go in as
        # one executemany after their persons.
        identifiers: list[dict[str, Any]] = []
        for position, spec_p in enumerate(data.persons):
            person = Person(
                id=uuid.uuid4(), report_id=report.id, position=position, role=spec_p.role.value,
                display_name=spec_p.display_name, details=spec_p.details,
            )
            identifiers += [
                {"person_id": person.id, "type": ident.type.value, "value": ident.value,
                 "observed_at": ident.observed_at, "observed_tz": _tz_label(ident.observed_at),
                 "port": ident.port, "event": ident.event}
                for ident in spec_p.identifiers]
            report.persons.append(person)
            # The audit trail names the record, never the personal data itself.
            events.append((AuditEvent.PERSON_CREATE, "person", str(person.id),
                           {"report": rid, "identifiers": len(spec_p.identifiers)}))

        key = None
        if idempotency_key and organisation_id:
            key = IdempotencyKey(organisation_id=organisation_id, key=idempotency_key,
                                 request_hash=fingerprint, report_id=report.id, created_at=now)
        if pending is not None:
            pending.add(report, *report.events, *items, *report.persons, *([key] if key else []))
            pending.add_rows(_INSERT_IDENTIFIERS, identifiers)
        else:
            session.flush()  # the report's rows first: the key and the identifiers refer to them
            if identifiers:
                session.execute(_INSERT_IDENTIFIERS, identifiers)
            if key is not None:
                session.add(key)
            session.flush()
        if self._after_store is not None:
            self._after_store(session, report)
        audit.append((actor, purpose, events))
        return FiledReport(report=report, items=items)

    # -- reading ---------------------------------------------------------------------------

    def get_for_organisation(
        self, session: Session, actor: Actor, organisation_id: uuid.UUID, report_id: uuid.UUID
    ) -> Report | None:
        """A provider's view of its own report; another organisation's report is None."""
        report = session.get(Report, report_id)
        if report is None or report.organisation_id != organisation_id:
            return None
        self._audit.record(
            session, AuditEvent.REPORT_READ, actor, "report", str(report.id),
            "provider reads the status of its report",
        )
        return report
