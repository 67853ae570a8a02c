"""The NCMEC CyberTipline-compatible reporting API: credentials, and a report's life from
``submit`` to ``finish`` (or ``retract``, or deletion at its deadline).

A report opened here is *staged*: its XML and files are encrypted in the vault, and nothing
reaches triage until ``finish``. Then the CyberTipline document is mapped to Annex III
(:mod:`balise.intake.ncmec_mapping`) and filed through the normal
:class:`~balise.intake.filing.Intake`, in the same transaction that closes the staged report,
so the report joins triage exactly like one from the JSON API.

Unfinished reports are deleted at ``max(opened + 24 h, last change + 1 h)`` (DOMAIN.md §4) by a
durable job enqueued with the submission; the job re-checks the deadline when it runs and
re-enqueues itself when a later change moved it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.accounts.organisations import OrganisationError
from balise.adapters.db.models import IspwsCredential, IspwsFile, IspwsReport, Organisation, Report
from balise.detection.adapters.hashing import exact_hashes
from balise.detection.media_hashing import SYSTEM as HASHER
from balise.domain.audit import AuditEvent
from balise.domain.ispws import Code, IspwsError, IspwsState, deletion_deadline
from balise.domain.model import OrgKind, ReportSource, ReportType
from balise.evidence.vault import EvidenceVault
from balise.governance.audit import AuditTrail
from balise.intake import report_defaults
from balise.intake.filing import FiledReport, IntakeError, UploadedFile
from balise.intake.ncmec import parse_document, parse_stored
from balise.intake.ncmec_mapping import Mapped, MappingError, StagedFile, decide_type, map_report
from balise.intake.report_schema import ReportIn
from balise.ports import StoredBlob

log = logging.getLogger("balise.ispws")

EXPIRE_JOB = "ispws.expire"
EXPIRY_ACTOR = Actor.system("ispws-expiry")
# The types ncmec_mapping leaves to matching (Mapped.type_by_matching): it gives every other
# report "solicitation", so a NCMEC report of one of these types was typed by its files' matches.
BY_MATCHING = (ReportType.KNOWN_CSAM.value, ReportType.NEW_CSAM.value)


class Filing(Protocol):
    """What the service needs of Intake."""

    def prepare_files(self, report: ReportIn, files: dict[str, UploadedFile]) -> None: ...

    def file(self, *, actor: Actor, organisation_id: Any, report: ReportIn, files: dict[str, UploadedFile],
             fingerprint: str, idempotency_key: str | None, source: ReportSource = ...,
             is_demo: bool = ..., also_store: Callable[[Session, Report], None] | None = ...) -> FiledReport: ...


class Enqueue(Protocol):
    def enqueue(self, session: Session, kind: str, payload: dict[str, Any], *, run_at: datetime | None = ...,
                dedupe_key: str | None = ..., max_attempts: int = ...) -> Any: ...


@dataclass(frozen=True)
class IssuedCredential:
    credential_id: Any
    username: str
    password: str


@dataclass(frozen=True)
class IspwsPrincipal:
    organisation_id: Any
    organisation_name: str
    credential_id: Any
    username: str

    @property
    def actor(self) -> Actor:
        return Actor.organisation(str(self.organisation_id), self.organisation_name)


@dataclass(frozen=True)
class OriginalDocument:
    """One CyberTipline document of a report filed through /ispws, as the provider sent it."""

    key: str  # "report", or the fileId of a <fileDetails>
    filename: str
    sha256: str
    size: int
    item_id: Any = None


def originals(session: Session, report_id: Any) -> tuple[int, list[OriginalDocument]] | None:
    """The CyberTipline report id and original documents behind a Balise report filed through
    /ispws (the <report>, then each <fileDetails> in upload order), or None for a report from
    another channel. Reads no content."""
    row = session.execute(select(IspwsReport).where(IspwsReport.report_id == report_id)).scalar_one_or_none()
    if row is None:
        return None
    found: list[OriginalDocument] = []
    if row.document_object is not None:
        found.append(OriginalDocument("report", f"cybertipline-report-{row.id}.xml", row.document_object,
                                      row.document_size or 0))
    for f in row.files:
        if f.details_object is not None:
            found.append(OriginalDocument(f.id, f"cybertipline-report-{row.id}-file-details-{f.id}.xml",
                                          f.details_object, f.details_size or 0, f.item_id))
    return row.id, found


class _Closed(Exception):
    """The staged report was closed by another request while this one was filing it."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class IspwsService:
    def __init__(self, *, audit: AuditTrail, evidence: EvidenceVault, intake: Filing, jobs: Enqueue,
                 new_session: Callable[[], Session], clock: Callable[[], datetime], max_items: int,
                 max_file_bytes: int, read_epoch: Callable[[], int | None]) -> None:
        self._audit = audit
        self._evidence = evidence
        self._intake = intake
        self._jobs = jobs
        self._new_session = new_session
        # The credential epoch where a request starts (adapters/db/epoch.py's EpochReader).
        self._read_epoch = read_epoch
        self._clock = clock
        self.max_items = max_items
        self.max_file_bytes = max_file_bytes
        # Compared against when the user name is unknown, so both failures cost the same.
        self._dummy = _sha256(secrets.token_urlsafe(32))
        # (user name, password) -> (credential epoch, principal or the refusal's detail)
        self._cache: dict[tuple[str, str], tuple[int, IspwsPrincipal | str]] = {}
        self._last_use: dict[Any, datetime] = {}

    # -- credentials -----------------------------------------------------------------------

    def issue_credential(self, session: Session, actor: Actor, org: Organisation,
                         reason: str | None = None) -> IssuedCredential:
        """A user name and a generated password (256 bits), shown once; only its SHA-256 is kept."""
        if org.kind != OrgKind.PROVIDER.value:
            raise OrganisationError(f"{org.name!r} is a {org.kind}; only providers file CyberTipline reports")
        username = f"ispws-{secrets.token_hex(6)}"
        password = secrets.token_urlsafe(32)
        row = IspwsCredential(organisation_id=org.id, username=username, secret_hash=_sha256(password),
                              created_at=self._clock())
        session.add(row)
        session.flush()
        self._audit.record(session, AuditEvent.ISPWS_CREDENTIAL_CREATE, actor, "ispws_credential", str(row.id),
                           "issue NCMEC-compatible API credentials",
                           {"organisation": str(org.id), "username": username, **({"reason": reason} if reason else {})})
        return IssuedCredential(row.id, username, password)

    def revoke_credential(self, session: Session, actor: Actor, username: str,
                          reason: str | None = None) -> IspwsCredential:
        row = session.execute(select(IspwsCredential).where(IspwsCredential.username == username)).scalar_one_or_none()
        if row is None:
            raise OrganisationError(f"no NCMEC-compatible API credential {username!r}")
        if row.revoked_at is None:
            row.revoked_at = self._clock()
        self._audit.record(session, AuditEvent.ISPWS_CREDENTIAL_REVOKE, actor, "ispws_credential", str(row.id),
                           "revoke NCMEC-compatible API credentials",
                           {"username": username, **({"reason": reason} if reason else {})})
        return row

    def authenticate(self, username: str, password: str) -> IspwsPrincipal:
        """The caller, or 2000 (unknown user or wrong password: one answer for both) or 3000
        (right password of a revoked credential, or of a suspended organisation).

        Right credentials are kept in this process's memory with the credential epoch they
        were read at (adapters/db/epoch.py): while it is unchanged, one one-row read answers;
        a revocation, a suspension or any change of a credential raises it (a database
        trigger), so it counts from the next request. Wrong credentials are never cached."""
        epoch = self._read_epoch()
        cached = self._cache.get((username, password)) if epoch is not None else None
        if cached is not None and cached[0] == epoch:
            if isinstance(cached[1], str):
                raise IspwsError(Code.NOT_AUTHORIZED, cached[1])
            outcome: IspwsPrincipal | IspwsError = cached[1]
        else:
            with self._new_session() as session:
                outcome = self._authenticate(session, username, password)
        # After the reads above gave their connections back: on SQLite an open read
        # transaction would keep the writer below from committing.
        if isinstance(outcome, IspwsPrincipal):
            self._mark_used(outcome.credential_id)
        if cached is not None and cached[0] == epoch:
            return outcome  # type: ignore[return-value]
        if epoch is not None and not (isinstance(outcome, IspwsError) and outcome.code != Code.NOT_AUTHORIZED):
            if len(self._cache) >= 10_000:
                self._cache = {}
            self._cache[(username, password)] = (epoch, outcome.detail if isinstance(outcome, IspwsError)
                                                 else outcome)
        if isinstance(outcome, IspwsError):
            raise outcome
        return outcome

    def _authenticate(self, session: Session, username: str, password: str) -> IspwsPrincipal | IspwsError:
        row = session.execute(
            select(IspwsCredential, Organisation)
            .join(Organisation, Organisation.id == IspwsCredential.organisation_id)
            .where(IspwsCredential.username == username)
        ).first()
        expected = row[0].secret_hash if row is not None else self._dummy
        ok = hmac.compare_digest(expected, _sha256(password))
        if row is None or not ok:
            return IspwsError(Code.AUTHENTICATION_REQUIRED, "unknown user name or wrong password",
                              headers={"WWW-Authenticate": 'Basic realm="Balise ISPWS", charset="UTF-8"'})
        credential, org = row
        if credential.id not in self._last_use and credential.last_used_at is not None:
            self._last_use[credential.id] = credential.last_used_at
        if credential.revoked_at is not None:
            return IspwsError(Code.NOT_AUTHORIZED, f"this credential was revoked on {credential.revoked_at:%Y-%m-%d %H:%M} UTC")
        if org.suspended_at is not None:
            return IspwsError(Code.NOT_AUTHORIZED, f"the organisation {org.name!r} is suspended since "
                              f"{org.suspended_at:%Y-%m-%d %H:%M} UTC; its credentials do not work until it is reinstated")
        return IspwsPrincipal(org.id, org.name, credential.id, credential.username)

    def _mark_used(self, credential_id: Any) -> None:
        """The credential's last use, for the administration page: at most once a minute per
        credential and process, also when the credential was answered from the cache."""
        now = self._clock()
        last = self._last_use.get(credential_id)
        if last is not None and (now - last).total_seconds() < 60:
            return
        self._last_use[credential_id] = now
        with self._new_session() as session, session.begin():
            session.execute(update(IspwsCredential).where(IspwsCredential.id == credential_id)
                            .values(last_used_at=now))

    def credentials_of(self, session: Session, org_id: object) -> list[IspwsCredential]:
        return list(session.execute(select(IspwsCredential).where(IspwsCredential.organisation_id == org_id)
                                    .order_by(IspwsCredential.revoked_at.is_not(None),
                                              IspwsCredential.created_at.desc())).scalars())

    # -- the staged report -----------------------------------------------------------------

    def _report_for_change(self, session: Session, principal: IspwsPrincipal, report_id: int,
                           now: datetime) -> IspwsReport:
        row = session.get(IspwsReport, report_id, with_for_update=True)
        if row is None:
            raise IspwsError(Code.NO_SUCH_REPORT, f"there is no report {report_id}")
        if row.organisation_id != principal.organisation_id:
            raise IspwsError(Code.REPORT_NOT_AUTHORIZED, f"report {report_id} belongs to another organisation")
        if row.state == IspwsState.OPEN and now >= deletion_deadline(row.opened_at, row.updated_at):
            raise IspwsError(Code.NO_SUCH_REPORT, f"report {report_id} passed its deadline unfinished and is being deleted")
        self._require_open(row.state, report_id)
        return row

    @staticmethod
    def _require_open(state: str, report_id: int) -> None:
        if state == IspwsState.RETRACTED:
            raise IspwsError(Code.ALREADY_RETRACTED, f"report {report_id} was retracted")
        if state == IspwsState.FINISHED:
            raise IspwsError(Code.ALREADY_FINISHED, f"report {report_id} is already finished")
        if state == IspwsState.EXPIRED:
            raise IspwsError(Code.NO_SUCH_REPORT, f"report {report_id} was deleted unfinished at its deadline "
                                                  "(24 h after opening or 1 h after the last change)")

    def _store(self, session: Session, data: bytes | BinaryIO, sha256: str, actor: Actor, purpose: str, code: Code,
               blobs: list[StoredBlob]) -> None:
        try:
            blob = self._evidence.store(session, sha256, io.BytesIO(data) if isinstance(data, bytes) else data,
                                        actor, purpose)
        except OSError as exc:
            log.error("vault write failed: %s", exc)
            raise IspwsError(code, f"the evidence vault could not store it ({exc.strerror or exc}); nothing was kept, "
                                   "send it again") from exc
        blobs.append(blob)

    def _discard(self, blobs: list[StoredBlob]) -> None:
        for blob in blobs:
            self._evidence.discard(self._new_session, blob)

    def open_report(self, principal: IspwsPrincipal, body: bytes, content_type: str | None) -> int:
        """``/submit``: validate the ``<report>``, keep it encrypted, open the report."""
        doc = parse_document(body, "report", content_type)
        now = self._clock()
        try:
            mapped = map_report(doc, [], now)
        except MappingError as exc:
            raise IspwsError(Code.VALIDATION_FAILED, f"the report cannot become an Annex III report: {exc}") from exc
        if mapped.url_items > self.max_items:
            raise IspwsError(Code.VALIDATION_FAILED,
                             f"the report has {mapped.url_items} URLs; a report may hold at most {self.max_items} items")
        sha = hashlib.sha256(body).hexdigest()
        blobs: list[StoredBlob] = []
        try:
            with self._new_session() as session, session.begin():
                self._store(session, body, sha, principal.actor, "NCMEC-compatible report received", Code.SAVE_FAILED,
                            blobs)
                row = IspwsReport(organisation_id=principal.organisation_id, credential_id=principal.credential_id,
                                  state=IspwsState.OPEN, document_object=sha, document_size=len(body),
                                  url_items=mapped.url_items, opened_at=now, updated_at=now)
                session.add(row)
                session.flush()
                self._jobs.enqueue(session, EXPIRE_JOB, {"report_id": row.id}, run_at=deletion_deadline(now, now),
                                   dedupe_key=f"{EXPIRE_JOB}:{row.id}")
                self._audit.record(session, AuditEvent.ISPWS_REPORT_OPEN, principal.actor, "ispws_report", str(row.id),
                                   "NCMEC-compatible report received",
                                   {"size": len(body), "incident_type": mapped.incident_type,
                                    "urgent": mapped.report.urgent, "credential": principal.username})
                return row.id
        except BaseException:
            self._discard(blobs)
            raise

    def upload(self, principal: IspwsPrincipal, report_id: int, stream: BinaryIO, filename: str | None,
               content_type: str | None) -> tuple[str, str]:
        """``/upload``: one file into the vault, staged for the report. (fileId, MD5)."""
        stream.seek(0)
        hashes = exact_hashes(stream)
        if hashes.size == 0:
            raise IspwsError(Code.MALFORMED_FILE, "the file is empty")
        if hashes.size > self.max_file_bytes:
            raise IspwsError(Code.UPLOAD_REFUSED, f"the file has {hashes.size} bytes; the limit is {self.max_file_bytes}")
        now = self._clock()
        blobs: list[StoredBlob] = []
        try:
            with self._new_session() as session, session.begin():
                row = self._report_for_change(session, principal, report_id, now)
                count = session.execute(
                    select(func.count()).select_from(IspwsFile).where(IspwsFile.ispws_report_id == row.id)
                ).scalar_one()
                if row.url_items + count + 1 > self.max_items:
                    raise IspwsError(Code.UPLOAD_REFUSED,
                                     f"report {report_id} already holds {row.url_items + count} items; "
                                     f"the limit is {self.max_items}")
                stream.seek(0)
                self._store(session, stream, hashes.sha256, principal.actor, "file uploaded to a NCMEC-compatible report",
                            Code.UPLOAD_FAILED, blobs)
                staged = IspwsFile(id=secrets.token_hex(16), ispws_report_id=row.id, position=count,
                                   vault_object=hashes.sha256, filename=(filename or None) and filename[:1000],
                                   content_type=(content_type or None) and content_type[:200], size=hashes.size,
                                   md5=hashes.md5, sha256=hashes.sha256, uploaded_at=now)
                session.add(staged)
                row.updated_at = now
                session.flush()
                self._audit.record(session, AuditEvent.ISPWS_FILE_UPLOAD, principal.actor, "ispws_file", staged.id,
                                   "file uploaded to a NCMEC-compatible report",
                                   {"report": row.id, "size": hashes.size, "sha256": hashes.sha256})
                return staged.id, hashes.md5
        except BaseException:
            self._discard(blobs)
            raise

    def file_details(self, principal: IspwsPrincipal, body: bytes, content_type: str | None) -> tuple[int, str]:
        """``/fileinfo``: one ``<fileDetails>`` for a file of an open report."""
        doc = parse_document(body, "fileDetails", content_type)
        report_id = int((doc.findtext("reportId") or "").strip())
        file_id = (doc.findtext("fileId") or "").strip()
        now = self._clock()
        blobs: list[StoredBlob] = []
        try:
            with self._new_session() as session, session.begin():
                row = self._report_for_change(session, principal, report_id, now)
                staged = session.get(IspwsFile, file_id) if len(file_id) <= 32 else None
                if staged is None:
                    raise IspwsError(Code.NO_SUCH_FILE, f"there is no file {file_id}")
                if staged.ispws_report_id != row.id:
                    owner = session.get(IspwsReport, staged.ispws_report_id)
                    if owner is None or owner.organisation_id != principal.organisation_id:
                        raise IspwsError(Code.FILE_NOT_AUTHORIZED, f"file {file_id} belongs to another organisation")
                    raise IspwsError(Code.NO_SUCH_FILE, f"file {file_id} is not part of report {report_id}")
                if staged.details_object is not None:
                    raise IspwsError(Code.INVALID_REQUEST, f"the details of file {file_id} were already sent", 409)
                sha = hashlib.sha256(body).hexdigest()
                self._store(session, body, sha, principal.actor, "file details of a NCMEC-compatible report",
                            Code.UPDATE_FAILED, blobs)
                staged.details_object, staged.details_size, staged.details_at = sha, len(body), now
                row.updated_at = now
                self._audit.record(session, AuditEvent.ISPWS_FILE_DETAILS, principal.actor, "ispws_file", file_id,
                                   "file details of a NCMEC-compatible report", {"report": row.id, "size": len(body)})
                return report_id, file_id
        except BaseException:
            self._discard(blobs)
            raise

    def finish(self, principal: IspwsPrincipal, report_id: int) -> tuple[int, list[str]]:
        """``/finish``: map the staged report to Annex III and file it through Intake (which
        enqueues triage), closing the staged report in the same transaction."""
        now = self._clock()
        actor = principal.actor
        purpose = "finish a NCMEC-compatible report: file it for triage"
        with self._new_session() as session, session.begin():
            row = self._report_for_change(session, principal, report_id, now)
            assert row.document_object is not None
            document = self._evidence.read_all(session, row.document_object, actor, purpose)
            staged: list[StagedFile] = []
            uploads: dict[str, UploadedFile] = {}
            for position, f in enumerate(row.files):
                part = f"file{position}"
                details = None
                if f.details_object is not None:
                    details = parse_stored(self._evidence.read_all(session, f.details_object, actor, purpose))
                staged.append(StagedFile(part=part, file_id=f.id, filename=f.filename, details=details))
                uploads[part] = UploadedFile(part=part, stream=self._evidence.open_stream(session, f.vault_object, actor,
                                                                                         purpose),
                                             filename=f.filename, content_type=f.content_type)
            file_ids = [f.id for f in row.files]
            opened_at, changed_at = row.opened_at, row.updated_at
        try:
            mapped = map_report(parse_stored(document), staged, opened_at)
            self._intake.prepare_files(mapped.report, uploads)

            def also_store(session: Session, stored: Report) -> None:
                self._close_as_filed(session, principal, report_id, stored, mapped, changed_at)

            self._intake.file(actor=actor, organisation_id=principal.organisation_id, report=mapped.report,
                              files=uploads, fingerprint="", idempotency_key=None, source=ReportSource.NCMEC_XML,
                              also_store=also_store)
        except (MappingError, IntakeError) as exc:
            raise IspwsError(Code.UPDATE_FAILED, f"the report cannot be filed: {exc}; it stays open", 422) from exc
        except _Closed as exc:
            self._require_open(exc.state, report_id)
            raise
        except IspwsError:
            raise
        except Exception as exc:
            # Another request may have closed the report meanwhile (its files are then gone):
            # answer for that state; otherwise the failure is ours.
            with self._new_session() as session:
                row = session.get(IspwsReport, report_id)
                if row is not None:
                    self._require_open(row.state, report_id)
            log.exception("finishing ispws report %s failed", report_id)
            raise IspwsError(Code.UPDATE_FAILED, "the report could not be filed; it stays open, finish it again") from exc
        return report_id, file_ids

    def _close_as_filed(self, session: Session, principal: IspwsPrincipal, report_id: int, stored: Report,
                        mapped: Mapped, changed_at: datetime) -> None:
        row = session.get(IspwsReport, report_id, with_for_update=True)
        if row is None or row.state != IspwsState.OPEN:
            raise _Closed(row.state if row is not None else IspwsState.EXPIRED)
        if row.updated_at != changed_at:
            raise IspwsError(Code.UPDATE_FAILED, f"report {report_id} changed while it was being finished (a file or "
                                                 "file details arrived); nothing was filed, finish it again", 409)
        now = self._clock()
        row.state, row.report_id, row.closed_at, row.updated_at = IspwsState.FINISHED, stored.id, now, now
        items = list(stored.items)
        media = items[: len(row.files)]
        for staged, item, extras in zip(row.files, media, mapped.media_extras):
            staged.item_id = item.id
            item.media_metadata = {**(item.media_metadata or {}), **extras}
        if mapped.type_by_matching:
            # On the exact hashes known now; decided again on all hashes once the pictures and
            # videos are perceptually hashed (decide_type_when_hashed).
            stored.report_type = decide_type([item.matches or [] for item in media]).value
        elif mapped.type_missing:
            # The incident type says no Annex III type (docs/ncmec-api.md): triage asks for it.
            stored.report_type = None
        # NCMEC's format has no awareness source and no removal flag: recorded as unknown, so
        # that triage lists them among the missing Annex III fields.
        stored.awareness_source = None
        stored.awareness_detail = None
        stored.content_removed = None
        # What the provider set once in its profile fills them (and the other fields NCMEC's
        # format lacks): docs/ncmec-api.md#where-each-annex-iii-field-comes-from.
        org = session.get(Organisation, stored.organisation_id) if stored.organisation_id else None
        from_profile = report_defaults.apply(stored, org.report_defaults if org is not None else None)
        self._audit.record(session, AuditEvent.ISPWS_REPORT_FINISH, principal.actor, "ispws_report", str(report_id),
                           "NCMEC-compatible report finished and filed for triage",
                           {"report": str(stored.id), "files": len(media), "type": stored.report_type,
                            "from_profile": from_profile})

    def decide_type_when_hashed(self, session: Session, report: Report) -> None:
        """Called (by the media.hash job) in the transaction that records the last perceptual
        hash of a report: the type of a NCMEC report decided by matching (known or new CSAM;
        ncmec_mapping gives solicitation otherwise) follows the matches of all its files now."""
        if report.source != ReportSource.NCMEC_XML.value or report.report_type not in BY_MATCHING:
            return
        row = session.execute(select(IspwsReport).where(IspwsReport.report_id == report.id)).scalar_one_or_none()
        if row is None:
            return
        media = [item for item in report.items if item.kind == "media"]
        decided = decide_type([item.matches or [] for item in media]).value
        if decided == report.report_type:
            return
        self._audit.record(session, AuditEvent.ISPWS_REPORT_RETYPE, HASHER, "ispws_report",
                           str(row.id), "report type decided from the matches of its hashed files",
                           {"report": str(report.id), "from": report.report_type, "to": decided})
        report.report_type = decided

    def retract(self, principal: IspwsPrincipal, report_id: int) -> int:
        """``/retract``: cancel an unfinished report; its XML and files leave the vault."""
        now = self._clock()
        with self._new_session() as session, session.begin():
            row = self._report_for_change(session, principal, report_id, now)
            gone = self._delete_staged(session, row, principal.actor, "NCMEC-compatible report retracted by the provider")
            row.state, row.closed_at, row.updated_at = IspwsState.RETRACTED, now, now
            self._audit.record(session, AuditEvent.ISPWS_REPORT_RETRACT, principal.actor, "ispws_report", str(report_id),
                               "NCMEC-compatible report retracted by the provider", {"vault_objects_deleted": len(gone)})
        self._purge(gone)
        return report_id

    def _purge(self, objects: list[str]) -> None:
        """Remove the bytes of forgotten vault objects. A failure leaves an encrypted object
        that no record refers to (logged), never a record without its object."""
        for sha in objects:
            try:
                self._evidence.purge(self._new_session, sha)
            except OSError as exc:
                log.error("a forgotten vault object's encrypted file could not be removed: %s", exc.strerror)

    def _delete_staged(self, session: Session, row: IspwsReport, actor: Actor, purpose: str) -> list[str]:
        """Delete the staged files and the document; returns the vault objects no longer referred
        to (to purge after the commit). Content another record still refers to stays."""
        objects = [row.document_object] + [o for f in row.files for o in (f.vault_object, f.details_object)]
        row.files.clear()
        row.document_object = None
        session.flush()
        gone = []
        for sha in dict.fromkeys(o for o in objects if o):
            if self._evidence.forget(session, sha, actor, purpose):
                gone.append(sha)
        return gone

    def expire(self, payload: dict[str, Any]) -> None:
        """Job handler (idempotent): delete the report if it is still open at its deadline,
        otherwise run again at the (moved) deadline."""
        report_id = int(payload["report_id"])
        now = self._clock()
        gone: list[str] = []
        with self._new_session() as session, session.begin():
            row = session.get(IspwsReport, report_id, with_for_update=True)
            if row is None or row.state != IspwsState.OPEN:
                return
            deadline = deletion_deadline(row.opened_at, row.updated_at)
            if now < deadline:
                self._jobs.enqueue(session, EXPIRE_JOB, {"report_id": report_id}, run_at=deadline,
                                   dedupe_key=f"{EXPIRE_JOB}:{report_id}")
                return
            purpose = "unfinished NCMEC-compatible report deleted at its deadline"
            gone = self._delete_staged(session, row, EXPIRY_ACTOR, purpose)
            row.state, row.closed_at = IspwsState.EXPIRED, now
            self._audit.record(session, AuditEvent.ISPWS_REPORT_EXPIRE, EXPIRY_ACTOR, "ispws_report", str(report_id),
                               purpose, {"deadline": deadline.isoformat(), "vault_objects_deleted": len(gone)})
        self._purge(gone)
