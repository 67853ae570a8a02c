"""Signed checkpoints of the audit trail and the match access log, written outside the database
(docs/oversight.md, "Audit checkpoints and the access log").

Whoever can write the database can rewrite its chains' tails and heads consistently: the chains
alone then verify. A checkpoint, signed with a key the database does not hold and kept
elsewhere (a directory, a partner's webhook, an RFC 3161 timestamp), fixes where each chain stood
at a time, so that ``verify`` names the checkpoint a truncated, rewritten or rolled-back trail
contradicts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditHead, AuditRecord, MatchAccessBatch
from balise.adapters.files import write_new_file
from balise.domain.audit import AuditEvent
from balise.domain.checkpoints import (
    ChainHead,
    Checkpoint,
    CheckpointFormatError,
    canonical,
    checkpoint_document,
    checkpoint_file_name,
    parse_checkpoint,
    utc_iso,
)
from balise.evidence.adapters.signing import (
    Ed25519Signer,
    public_key_id,
    verify_signature,
)
from balise.governance.access_log import AccessLog
from balise.governance.adapters.timestamping import TimestampError, read_token
from balise.governance.audit import AuditTrail

log = logging.getLogger("balise.checkpoints")
TOKEN_SUFFIX = ".tsr"


@dataclass(frozen=True)
class Written:
    path: Path
    checkpoint: Checkpoint
    timestamped: bool
    delivered: bool | None  # every configured delivery succeeded; None: no partner configured
    problems: tuple[str, ...] = ()  # what failed beside the file (timestamp, delivery)


class Checkpoints:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, access_log: AccessLog,
                 signer: Ed25519Signer, directory: Path, clock: Callable[[], datetime], centre: str,
                 timestamp: Callable[[bytes], bytes] | None = None,
                 deliver: Sequence[tuple[str, Callable[[str, bytes, bytes | None], None]]] = ()) -> None:
        self._new_session = new_session
        self._audit = audit
        self._access_log = access_log
        self._signer = signer
        self._directory = directory
        self._clock = clock
        self._centre = centre
        self._timestamp = timestamp
        self._deliver = deliver

    def write(self, actor: Actor) -> Written:
        """Sign the heads of both chains now; write, timestamp and deliver the checkpoint; record
        ``audit:checkpoint``. A TSA or a partner that fails does not stop the file being written:
        the failure is recorded in the event and returned."""
        self._access_log.flush()  # queries answered so far are in the checkpoint
        with self._new_session() as session:
            head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            audit_head = ChainHead(head.seq, head.mac)
            access_head = self._access_log.head(session)
        now = self._clock()
        checkpoint = Checkpoint(utc_iso(now), self._centre, audit_head, access_head, self._signer.key_id)
        signature = self._signer.sign(canonical(checkpoint.body()))
        document = checkpoint_document(checkpoint, signature)
        name = checkpoint_file_name(now, audit_head.seq)
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / name
        _write_new(path, document)
        problems: list[str] = []
        token = None
        if self._timestamp is not None:
            try:
                token = self._timestamp(checkpoint.digest())
                _write_new(path.with_suffix(TOKEN_SUFFIX), token)
            except TimestampError as exc:
                problems.append(f"not timestamped: {exc}")
        delivered = None
        for channel, deliver in self._deliver:
            try:
                deliver(name, document, token)
                delivered = delivered is not False
            except Exception as exc:  # noqa: BLE001 - any failure of the partner's end is reported, not fatal
                delivered = False
                problems.append(f"not delivered to the partner by {channel}: {exc}")
        details: dict[str, Any] = {"file": name, "audit_seq": audit_head.seq, "access_log_seq": access_head.seq,
                                   "key_id": checkpoint.key_id, "timestamped": token is not None,
                                   "delivered": delivered}
        if problems:
            details["problems"] = problems
        with self._new_session() as session, session.begin():
            self._audit.record(session, AuditEvent.AUDIT_CHECKPOINT, actor, "audit", name[:64],
                               "anchor the audit trail outside the database", details)
        for problem in problems:
            log.warning("checkpoint %s: %s", name, problem)
        return Written(path, checkpoint, token is not None, delivered, tuple(problems))


def last_checkpoint(session: Session) -> dict[str, Any] | None:
    """The newest ``audit:checkpoint`` event: when, which event and batch, timestamped or not."""
    row = session.execute(select(AuditRecord).where(AuditRecord.event_type == AuditEvent.AUDIT_CHECKPOINT.value)
                          .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return {"at": row.occurred_at, **row.details}


def _write_new(path: Path, data: bytes) -> None:
    # Whole or not at all, never over an existing checkpoint.
    write_new_file(path, data, 0o644)


# -- verification -------------------------------------------------------------------------------


@dataclass
class CheckpointReport:
    checked: int = 0
    timestamped: int = 0
    latest: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def checkpoint_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("checkpoint-*.json") if p.is_file())


def verify_checkpoints(session: Session, directory: Path, public_keys: Sequence[Ed25519PublicKey]) -> CheckpointReport:
    """Each checkpoint in ``directory``: its signature by one of ``public_keys``, its timestamp
    token if it has one, and the database against it: each chain still reaches the event and
    batch it recorded, with the MAC it recorded. Every problem names its checkpoint."""
    keys = {public_key_id(k): k for k in public_keys}
    report = CheckpointReport()
    files = checkpoint_files(directory)
    if not files:
        report.problems.append(f"{directory} holds no checkpoint (checkpoint-*.json)")
        return report
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    audit_head = ChainHead(head.seq, head.mac) if head else ChainHead(0, "")
    access_head = _access_head(session)
    previous: tuple[str, Checkpoint] | None = None
    for path in files:
        name = path.name
        report.checked += 1
        try:
            checkpoint, signature = parse_checkpoint(path.read_bytes())
        except CheckpointFormatError as exc:
            report.problems.append(f"checkpoint {name} is not a Balise checkpoint: {exc}")
            continue
        key = keys.get(checkpoint.key_id)
        if key is None:
            report.problems.append(f"checkpoint {name} is signed by key {checkpoint.key_id}, which is not the "
                                   f"checkpoint key ({', '.join(sorted(keys))})")
            continue
        if not verify_signature(key, signature, canonical(checkpoint.body())):
            report.problems.append(f"checkpoint {name} was altered: its signature does not match its content")
            continue
        token_path = path.with_suffix(TOKEN_SUFFIX)
        if token_path.exists():
            try:
                info = read_token(token_path.read_bytes())
            except TimestampError as exc:
                report.problems.append(f"checkpoint {name}: its timestamp token {token_path.name} is not valid: {exc}")
            else:
                if info.hash_algorithm != "sha256" or info.hashed_message != checkpoint.digest():
                    report.problems.append(f"checkpoint {name}: its timestamp token {token_path.name} "
                                           "timestamps another document")
                else:
                    report.timestamped += 1
        when = checkpoint.created_at
        if previous is not None:
            earlier_name, earlier = previous
            for label, now_seq, then_seq in (("event", checkpoint.audit.seq, earlier.audit.seq),
                                             ("access log batch", checkpoint.access_log.seq, earlier.access_log.seq)):
                if now_seq < then_seq:
                    report.problems.append(
                        f"checkpoint {name} records {label} {now_seq}, below {label} {then_seq} of the earlier "
                        f"checkpoint {earlier_name}: the database was rolled back between them")
        report.problems += _against_database(session, name, when, checkpoint, audit_head, access_head)
        previous = (name, checkpoint)
        report.latest = name
    return report


def _access_head(session: Session) -> ChainHead:
    from balise.adapters.db.models import MatchAccessHead

    head = session.execute(select(MatchAccessHead).where(MatchAccessHead.id == 1)).scalar_one_or_none()
    return ChainHead(head.seq, head.mac) if head else ChainHead(0, "")


def _against_database(session: Session, name: str, when: str, checkpoint: Checkpoint,
                      audit_head: ChainHead, access_head: ChainHead) -> list[str]:
    problems = []
    for label, recorded, head, table, what in (
            ("the audit trail", checkpoint.audit, audit_head, AuditRecord, "event"),
            ("the match access log", checkpoint.access_log, access_head, MatchAccessBatch, "batch")):
        if recorded.seq == 0:
            continue
        if head.seq < recorded.seq:
            problems.append(
                f"checkpoint {name} ({when}) recorded {what} {recorded.seq} of {label}, which now ends at {what} "
                f"{head.seq}: {what}s were deleted after the checkpoint, or the database was restored from an older "
                "copy (rolled back)")
            continue
        row = session.get(table, recorded.seq)
        if row is None:
            problems.append(f"checkpoint {name} ({when}) recorded {what} {recorded.seq} of {label}, which is missing")
        elif row.mac != recorded.mac:
            problems.append(
                f"checkpoint {name} ({when}) recorded {what} {recorded.seq} of {label} with another MAC: {label} "
                "was rewritten after the checkpoint")
    return problems
