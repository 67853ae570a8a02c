"""The only way into and out of the evidence vault: each store and each read is audited."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import MediaDerivative, VaultObject
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail
from balise.ports import BlobVault, StoredBlob


class EvidenceVault:
    def __init__(self, blobs: BlobVault, audit: AuditTrail) -> None:
        self._blobs = blobs
        self._audit = audit
        # Derivatives whose records :meth:`forget` deleted with their original's, by original:
        # :meth:`purge` removes their bytes with the original's after the commit.
        self._forgotten_derivatives: dict[str, list[str]] = {}

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

    def store_many(self, session: Session, uploads: Sequence[tuple[str, BinaryIO]], actor: Actor, purpose: str,
                   created: list[StoredBlob]) -> list[StoredBlob]:
        """:meth:`store` for several objects with a number of statements that does not grow with
        them: one read of which are already recorded, the new ones inserted together, one audit
        append (a ``media:store`` event per object, in order). Each object new to the vault is
        appended to ``created`` as soon as it is written, so that a failure part-way can still
        :meth:`discard` every one of them."""
        blobs = []
        for sha256, stream in uploads:
            stream.seek(0)  # one file part may be the content of several items
            blob = self._blobs.put(sha256, stream)
            if blob.created:
                created.append(blob)
            blobs.append(blob)
        if not blobs:
            return []
        wanted = sorted({b.sha256 for b in blobs})
        known = set(session.execute(select(VaultObject.sha256).where(VaultObject.sha256.in_(wanted))).scalars())
        added = False
        for blob in blobs:
            if blob.sha256 not in known:
                session.add(VaultObject(sha256=blob.sha256, size=blob.size, key_id=blob.key_id))
                known.add(blob.sha256)
                added = True
        if added:
            session.flush()  # before any row that refers to them
        self._audit.record_many(session, actor, purpose, [
            (AuditEvent.MEDIA_STORE, "media", b.sha256, {"size": b.size, "new": b.created}) for b in blobs])
        return blobs

    def discard(self, new_session: Callable[[], Session], blob: StoredBlob) -> None:
        """Undo a store whose transaction rolled back: the object goes unless another,
        committed record refers to it."""
        if not blob.created:
            return
        with new_session() as session:
            if session.get(VaultObject, blob.sha256) is None:
                self._blobs.delete(blob.sha256)

    def read(
        self, session: Session, sha256: str, actor: Actor, purpose: str, details: dict[str, Any] | None = None,
        event: AuditEvent = AuditEvent.MEDIA_READ,
    ) -> Iterator[bytes]:
        """Decrypt an object for someone who stated why. The audit event is written (in the
        caller's transaction) before any byte is returned; ``details`` name what the object is
        (records, never personal data). ``event`` is ``media:read``, or ``media:preview`` when
        what is decrypted is only made into a blurred derivative for the media viewer."""
        if event not in (AuditEvent.MEDIA_READ, AuditEvent.MEDIA_PREVIEW):
            raise ValueError(f"{event} is not a vault read")
        if session.get(VaultObject, sha256) is None:
            raise FileNotFoundError(f"no vault object {sha256}")
        self._audit.record(session, event, actor, "media", sha256, purpose, details)
        return self._blobs.read_chunks(sha256)

    def preview(
        self, session: Session, sha256: str, kind: str, actor: Actor, purpose: str, details: dict[str, Any],
    ) -> tuple[Iterator[bytes], bool]:
        """For the blurred view of an object: audited ``media:preview`` of the object, like
        :meth:`read`; the decrypted chunks of its kept derivative of ``kind`` when there is one
        (True), else of the object itself (False). The event says which was decrypted."""
        if session.get(VaultObject, sha256) is None:
            raise FileNotFoundError(f"no vault object {sha256}")
        kept = session.get(MediaDerivative, (sha256, kind))
        source = kept.derivative if kept is not None else sha256
        self._audit.record(session, AuditEvent.MEDIA_PREVIEW, actor, "media", sha256, purpose,
                           {**details, "from": "kept derivative" if kept is not None else "original"})
        return self._blobs.read_chunks(source), kept is not None

    def keep_derivative(self, session: Session, original: str, kind: str, data: bytes, max_side: int,
                        actor: Actor, purpose: str) -> StoredBlob | None:
        """Store ``data`` (a derivative of ``original`` made by Balise) encrypted, as an object
        of its own, and record it as ``original``'s derivative of ``kind``, in the caller's
        transaction (audited ``media:store``). None when one is kept already. If the
        transaction fails, call :meth:`discard` with the returned blob."""
        if session.get(VaultObject, original) is None:
            raise FileNotFoundError(f"no vault object {original}")
        if session.get(MediaDerivative, (original, kind)) is not None:
            return None
        sha = hashlib.sha256(data).hexdigest()
        blob = self._blobs.put(sha, io.BytesIO(data))
        if session.get(VaultObject, sha) is None:
            session.add(VaultObject(sha256=sha, size=blob.size, key_id=blob.key_id))
            session.flush()  # the object before the record that refers to it
        session.add(MediaDerivative(original=original, kind=kind, derivative=sha, max_side=max_side))
        self._audit.record(session, AuditEvent.MEDIA_STORE, actor, "media", sha, purpose,
                           {"size": blob.size, "new": blob.created, "derivative_of": original, "kind": kind})
        return blob

    def read_all(self, session: Session, sha256: str, actor: Actor, purpose: str,
                 details: dict[str, Any] | None = None) -> bytes:
        return b"".join(self.read(session, sha256, actor, purpose, details))

    def open_stream(self, session: Session, sha256: str, actor: Actor, purpose: str) -> BinaryIO:
        """A file-like reader that decrypts lazily (constant memory, nothing written to disk);
        ``seek(0)`` starts again. Audited once, like :meth:`read`."""
        if session.get(VaultObject, sha256) is None:
            raise FileNotFoundError(f"no vault object {sha256}")
        self._audit.record(session, AuditEvent.MEDIA_READ, actor, "media", sha256, purpose)
        return _VaultReader(lambda: self._blobs.read_chunks(sha256))

    def forget(self, session: Session, sha256: str, actor: Actor, purpose: str) -> bool:
        """Delete the object's record in the caller's transaction unless another record still
        refers to it (the foreign keys decide, so referrers added later are respected too).
        True when it was deleted: call :meth:`purge` after the commit to remove the bytes."""
        row = session.get(VaultObject, sha256)
        if row is None:
            return False
        derived = list(session.execute(select(MediaDerivative).where(MediaDerivative.original == sha256)).scalars())
        try:
            with session.begin_nested():
                for link in derived:  # the derivatives go with their original
                    session.delete(link)
                session.flush()
                session.delete(row)
                session.flush()
        except IntegrityError:
            session.expire(row)
            for link in derived:
                session.expire(link)
            return False
        self._audit.record(session, AuditEvent.MEDIA_DELETE, actor, "media", sha256, purpose, {"size": row.size})
        gone = []
        for link in derived:
            if self._forget_object(session, link.derivative):
                self._audit.record(session, AuditEvent.MEDIA_DELETE, actor, "media", link.derivative, purpose,
                                   {"derivative_of": sha256, "kind": link.kind})
                gone.append(link.derivative)
        if gone:
            self._forgotten_derivatives[sha256] = gone
        return True

    @staticmethod
    def _forget_object(session: Session, sha256: str) -> bool:
        derived = session.get(VaultObject, sha256)
        if derived is None:
            return False
        try:
            with session.begin_nested():
                session.delete(derived)
                session.flush()
        except IntegrityError:  # the same bytes are also something else's content
            session.expire(derived)
            return False
        return True

    def purge(self, new_session: Callable[[], Session], sha256: str) -> None:
        """After the commit of :meth:`forget`: remove the encrypted bytes unless a record was
        created for the same content in the meantime."""
        derived = self._forgotten_derivatives.pop(sha256, [])
        with new_session() as session:
            for sha in [sha256, *derived]:
                if session.get(VaultObject, sha) is None:
                    self._blobs.delete(sha)


class _VaultReader(io.RawIOBase):
    """Read-only, forward-only stream over decrypted chunks; seeking to 0 restarts."""

    def __init__(self, open_chunks: Callable[[], Iterator[bytes]]) -> None:
        super().__init__()
        self._open = open_chunks
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset == 0:
            self._chunks, self._buffer, self._pos = None, b"", 0
            return 0
        if whence == io.SEEK_CUR and offset == 0:
            return self._pos
        raise io.UnsupportedOperation("a vault stream can only go back to its start")

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._chunks is None:
            self._chunks = self._open()
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if size is None or size < 0:
            return self.readall()
        out = bytearray()
        while len(out) < size:
            piece = bytearray(size - len(out))
            n = self.readinto(piece)
            if not n:
                break
            out += piece[:n]
        return bytes(out)
