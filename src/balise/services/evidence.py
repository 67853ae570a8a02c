"""The only way into and out of the evidence vault: each store and each read is audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from sqlalchemy.orm import Session

from balise.adapters.db.models import VaultObject
from balise.domain.audit import AuditEvent
from balise.ports import BlobVault, StoredBlob
from balise.services.actors import Actor
from balise.services.audit import AuditTrail


class EvidenceVault:
    def __init__(self, blobs: BlobVault, audit: AuditTrail) -> None:
        self._blobs = blobs
        self._audit = audit

    def store(
        self, session: Session, sha256: str, stream: BinaryIO, actor: Actor, purpose: str
    ) -> StoredBlob:
        """Encrypt and store; records the object in the caller's transaction. If that
        transaction fails, call :meth:`discard` with the returned blob."""
        blob = self._blobs.put(sha256, stream)
        if session.get(VaultObject, sha256) is None:
            session.add(VaultObject(sha256=sha256, size=blob.size, key_id=blob.key_id))
        self._audit.record(
            session, AuditEvent.MEDIA_STORE, actor, "media", sha256, purpose,
            {"size": blob.size, "new": blob.created},
        )
        return blob

    def discard(self, new_session: Callable[[], Session], blob: StoredBlob) -> None:
        """Undo a store whose transaction rolled back: the object goes unless another,
        committed record refers to it."""
        if not blob.created:
            return
        with new_session() as session:
            if session.get(VaultObject, blob.sha256) is None:
                self._blobs.delete(blob.sha256)

    def read(
        self, session: Session, sha256: str, actor: Actor, purpose: str
    ) -> Iterator[bytes]:
        """Decrypt an object for someone who stated why. The audit event is written (in the
        caller's transaction) before any byte is returned."""
        if session.get(VaultObject, sha256) is None:
            raise FileNotFoundError(f"no vault object {sha256}")
        self._audit.record(session, AuditEvent.MEDIA_READ, actor, "media", sha256, purpose)
        return self._blobs.read_chunks(sha256)

    def read_all(self, session: Session, sha256: str, actor: Actor, purpose: str) -> bytes:
        return b"".join(self.read(session, sha256, actor, purpose))
