"""Small interfaces the services depend on. Each has a real adapter and a local one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    key_id: str
    created: bool  # False when the object was already in the vault


class BlobVault(Protocol):
    """Encrypted, content-addressed object storage. Only the evidence service holds one,
    so that every read of media goes through an audited call."""

    def put(self, sha256: str, stream: BinaryIO) -> StoredBlob: ...

    def read_chunks(self, sha256: str) -> Iterator[bytes]: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...
