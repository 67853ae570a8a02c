"""The centre's Ed25519 signing key: load, generate, write with owner-only permissions."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from balise.adapters.files import write_new_file
from balise.domain.packages import key_id_of

PEM_PUBLIC_RE = re.compile(rb"-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----")


class SigningKeyError(ValueError):
    """A key file is missing, unreadable or not an Ed25519 key; the message names the file."""


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_id(key: Ed25519PublicKey) -> str:
    return key_id_of(raw_public_bytes(key))


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def verify_signature(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


class Ed25519Signer:
    """Signs with the centre's private key; knows its public half and key id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.key_id = public_key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)


def private_key_from_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise SigningKeyError(f"{source} is encrypted with a passphrase; Balise needs an unencrypted key file") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source} holds a {type(key).__name__.removeprefix('_')} key, not an Ed25519 key")
    return key


def load_signer(path: Path) -> Ed25519Signer:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{path} cannot be read: {exc.strerror}") from exc
    return Ed25519Signer(private_key_from_pem(data, str(path)))


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def write_new_key(path: Path) -> Ed25519Signer:
    """Generate a key and write it to a new file readable only by its owner (0600). An
    existing file is never overwritten: replacing a signing key is a decision, not an accident."""
    key = Ed25519PrivateKey.generate()
    _write_exclusive(path, private_pem(key))
    return Ed25519Signer(key)


def _write_exclusive(path: Path, data: bytes) -> None:
    # Written under a temporary name and linked into place: the key appears whole or not at
    # all, and link() fails rather than replace a file another process created meanwhile.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where the directory should be, not the key itself
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from exc
    write_new_file(path, data, 0o600)


def load_or_create_dev_signer(path: Path) -> Ed25519Signer:
    """Development: the key under the data directory, generated the first time."""
    if not path.exists():
        try:
            return write_new_key(path)
        except FileExistsError:
            pass  # another process generated it first: use theirs
    try:
        return load_signer(path)
    except SigningKeyError as exc:
        raise SigningKeyError(f"development signing key {exc} (delete it to generate a new one)") from exc


def load_public_keys(data: bytes, source: str) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in PEM blocks of a text (other lines, such as the key id that
    `balise package public-key` prints, are ignored)."""
    blocks = PEM_PUBLIC_RE.findall(data)
    if not blocks:
        raise SigningKeyError(f"{source} holds no PEM public key (-----BEGIN PUBLIC KEY-----)")
    keys = []
    for block in blocks:
        try:
            key = load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise SigningKeyError(f"{source} holds a PEM block that is not a valid public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{source} holds a public key that is not Ed25519")
        keys.append(key)
    return keys
