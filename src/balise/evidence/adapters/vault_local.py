"""The evidence vault on a local directory, encrypted at rest.

Each object gets its own random 256-bit data key. The content is encrypted with AES-256-GCM
in 1 MiB chunks (so that memory stays flat for large videos); each chunk's nonce carries its
index and a last-chunk flag, and every chunk authenticates the header, so chunks cannot be
reordered, dropped, truncated or moved to another object. The data key is wrapped with the
vault master key (AES-256-GCM, bound to the object's SHA-256 and key id).

File layout: ``MAGIC | key_id_len(1) | key_id | wrap_nonce(12) | wrapped_key(48) |
nonce_prefix(7)`` then chunks of ``ciphertext+tag``.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from balise.ports import StoredBlob

MAGIC = b"BALISE-VAULT\x01"
CHUNK = 1024 * 1024
TAG = 16
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class VaultError(RuntimeError):
    pass


class VaultIntegrityError(VaultError):
    """The object on disk is not what was stored (tampered, truncated or wrong key)."""


class ContentMismatch(VaultError):
    """The stream did not hash to the address it was stored under."""


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)


class LocalVault:
    def __init__(self, root: Path, master_key: bytes, key_id: str = "local-1") -> None:
        if len(master_key) != 32:
            raise ValueError("the vault master key must be 32 bytes")
        self.root = Path(root)
        self._master = AESGCM(master_key)
        self.key_id = key_id
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError(f"not a lowercase SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.blv"

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def put(self, sha256: str, stream: BinaryIO) -> StoredBlob:
        final = self._path(sha256)
        if final.exists():
            size = self._plaintext_size(final)
            return StoredBlob(sha256=sha256, size=size, key_id=self.key_id, created=False)
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce = secrets.token_bytes(12)
        key_id = self.key_id.encode()
        wrapped = self._master.encrypt(wrap_nonce, data_key, self._wrap_aad(sha256, key_id))
        prefix = secrets.token_bytes(7)
        header = MAGIC + bytes([len(key_id)]) + key_id + wrap_nonce + wrapped + prefix
        aead = AESGCM(data_key)
        digest = hashlib.sha256()
        size = 0
        tmp = self.root / "tmp" / f"{sha256}.{secrets.token_hex(8)}.part"
        try:
            with open(tmp, "wb") as out:
                out.write(header)
                index = 0
                chunk = stream.read(CHUNK)
                while True:
                    following = stream.read(CHUNK) if len(chunk) == CHUNK else b""
                    last = not following
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(aead.encrypt(_nonce(prefix, index, last), chunk, header))
                    if last:
                        break
                    chunk = following
                    index += 1
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise ContentMismatch(
                    f"content hashes to {digest.hexdigest()}, not to its address {sha256}"
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredBlob(sha256=sha256, size=size, key_id=self.key_id, created=True)

    @staticmethod
    def _wrap_aad(sha256: str, key_id: bytes) -> bytes:
        return b"balise-vault-key|" + sha256.encode() + b"|" + key_id

    def _open_header(self, sha256: str, fh: BinaryIO) -> tuple[AESGCM, bytes, bytes]:
        magic = fh.read(len(MAGIC))
        if magic != MAGIC:
            raise VaultIntegrityError(f"vault object {sha256} has no vault header")
        (klen,) = fh.read(1) or b"\x00"
        key_id = fh.read(klen)
        wrap_nonce = fh.read(12)
        wrapped = fh.read(32 + TAG)
        prefix = fh.read(7)
        header = MAGIC + bytes([klen]) + key_id + wrap_nonce + wrapped + prefix
        try:
            data_key = self._master.decrypt(wrap_nonce, wrapped, self._wrap_aad(sha256, key_id))
        except InvalidTag as exc:
            raise VaultIntegrityError(
                f"vault object {sha256}: its key does not unwrap (wrong master key or tampered)"
            ) from exc
        return AESGCM(data_key), prefix, header

    def read_chunks(self, sha256: str) -> Iterator[bytes]:
        path = self._path(sha256)
        if not path.exists():
            raise FileNotFoundError(f"vault object {sha256} does not exist")
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            aead, prefix, header = self._open_header(sha256, fh)
            index = 0
            block = fh.read(CHUNK + TAG)
            while True:
                following = fh.read(CHUNK + TAG)
                last = not following
                try:
                    plain = aead.decrypt(_nonce(prefix, index, last), block, header)
                except InvalidTag as exc:
                    raise VaultIntegrityError(
                        f"vault object {sha256}: chunk {index} fails authentication"
                    ) from exc
                digest.update(plain)
                yield plain
                if last:
                    break
                block = following
                index += 1
        if digest.hexdigest() != sha256:
            raise VaultIntegrityError(f"vault object {sha256} decrypts to other content")

    def _plaintext_size(self, path: Path) -> int:
        total = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(len(MAGIC))
            (klen,) = fh.read(1)
        header_len = len(MAGIC) + 1 + klen + 12 + 32 + TAG + 7
        body = total - header_len
        chunks = max(1, -(-body // (CHUNK + TAG)))
        return body - chunks * TAG

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)
