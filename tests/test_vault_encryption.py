"""The evidence vault: encrypted at rest, tamper-evident, and read only through an audited call."""

from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from balise.evidence.adapters.vault_local import CHUNK, ContentMismatch, LocalVault, VaultIntegrityError

KEY = os.urandom(32)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_roundtrip_at_chunk_boundaries(tmp_path, size):
    vault = LocalVault(tmp_path, KEY)
    data = os.urandom(size)
    sha = hashlib.sha256(data).hexdigest()
    blob = vault.put(sha, io.BytesIO(data))
    assert blob.size == size and blob.created
    assert b"".join(vault.read_chunks(sha)) == data
    assert vault.put(sha, io.BytesIO(data)).created is False
    assert vault.put(sha, io.BytesIO(data)).size == size


def test_content_that_does_not_hash_to_its_address_is_refused(tmp_path):
    vault = LocalVault(tmp_path, KEY)
    with pytest.raises(ContentMismatch):
        vault.put("0" * 64, io.BytesIO(b"hello"))
    assert not vault.exists("0" * 64)
    assert not list((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize("where", ["header", "first_chunk", "truncate", "append"])
def test_tampered_object_fails_to_decrypt(tmp_path, where):
    vault = LocalVault(tmp_path, KEY)
    data = os.urandom(CHUNK + 100)
    sha = hashlib.sha256(data).hexdigest()
    vault.put(sha, io.BytesIO(data))
    path = vault._path(sha)
    raw = bytearray(path.read_bytes())
    if where == "header":
        raw[20] ^= 1
    elif where == "first_chunk":
        raw[200] ^= 1
    elif where == "truncate":
        raw = raw[: len(raw) - 116]
    else:
        raw += b"\0" * 16
    path.write_bytes(bytes(raw))
    with pytest.raises(VaultIntegrityError):
        b"".join(vault.read_chunks(sha))


def test_wrong_master_key_cannot_read(tmp_path):
    data = b"benign"
    sha = hashlib.sha256(data).hexdigest()
    LocalVault(tmp_path, KEY).put(sha, io.BytesIO(data))
    with pytest.raises(VaultIntegrityError):
        b"".join(LocalVault(tmp_path, os.urandom(32)).read_chunks(sha))


def test_object_moved_to_another_address_is_detected(tmp_path):
    vault = LocalVault(tmp_path, KEY)
    a, b = b"first", b"second"
    sa, sb = hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()
    vault.put(sa, io.BytesIO(a))
    vault.put(sb, io.BytesIO(b))
    vault._path(sb).write_bytes(vault._path(sa).read_bytes())
    with pytest.raises(VaultIntegrityError):
        b"".join(vault.read_chunks(sb))


def test_addresses_that_are_not_sha256_are_refused(tmp_path):
    vault = LocalVault(tmp_path, KEY)
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError):
            vault.exists(bad)


def test_reading_media_through_the_service_writes_an_audit_event_first(balise):
    data = b"benign stand-in bytes"
    sha = hashlib.sha256(data).hexdigest()
    actor = Actor.staff("11111111-1111-1111-1111-111111111111", "analyst1")
    with balise.db.transaction() as s:
        balise.evidence.store(s, sha, io.BytesIO(data), actor, "test intake")
    with balise.db.transaction() as s:
        chunks = balise.evidence.read(s, sha, actor, "assess item for report R")
        event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "media:read")).scalar_one()
        assert event.actor_id == actor.id and event.purpose == "assess item for report R"
    assert b"".join(chunks) == data


def test_reading_an_unknown_object_is_an_error_and_not_logged_as_a_read(balise):
    with balise.db.transaction() as s, pytest.raises(FileNotFoundError):
        balise.evidence.read(s, "f" * 64, Actor.system(), "x")


def test_master_key_must_be_32_bytes(tmp_path):
    from pydantic import ValidationError

    from balise.settings import Settings

    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(vault_key=base64.b64encode(b"short").decode(), data_dir=tmp_path)
