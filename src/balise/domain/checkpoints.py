"""Anchoring the audit trail outside the database: the match access log's chain and the signed
checkpoint format (docs/oversight.md, "Audit checkpoints and the access log").

A checkpoint is a JSON file holding ``{"checkpoint": BODY, "signature": {...}}``. The signature
is Ed25519 over ``canonical(BODY)`` (sorted keys, no spaces, UTF-8); the SHA-256 of the same
bytes is what an RFC 3161 time-stamping authority is asked to timestamp. Anyone with the
public key can check a checkpoint with standard tools.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
CHECKPOINT_FORMAT = "balise-audit-checkpoint/1"
SIGNATURE_ALGORITHM = "Ed25519"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value.year < 1000:  # strftime does not pad the year to four digits: kept as it was
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat, not strftime: the same text in a fifth of the time, and every answered match
    # query writes one (issue 19).
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- the match access log -----------------------------------------------------------------------


def derive_access_log_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"balise match access log chain v1", hashlib.sha256).digest()


def batch_mac(key: bytes, seq: int, written_at: datetime, entries: Sequence[dict[str, Any]], prev_mac: str) -> str:
    """A batch's MAC covers its number, time, every entry and the MAC of the batch before it."""
    body = {"seq": seq, "written_at": utc_iso(written_at), "entries": list(entries), "prev_mac": prev_mac}
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


def match_entry(*, at: datetime, actor_type: str, actor_id: str, organisation_id: str | None, key_id: str | None,
                grant_id: str | None,
                purpose: str, hash_types: Iterable[str], threshold: int | None,
                matched_hashes: int, indicator_ids: Iterable[int]) -> dict[str, Any]:
    """One answered match query: who asked, under which grant and for what purpose, how many
    hashes of which algorithms, and what matched. Never the hashes nor digests of them: a digest
    of a 64-bit-entropy PDQ or MD5 value would identify it as well as the value itself."""
    types = Counter(hash_types)
    return {
        "at": utc_iso(at),
        "actor": f"{actor_type}:{actor_id}",
        "organisation": organisation_id,
        "key": key_id,
        "grant_id": grant_id,
        "purpose": purpose,
        "hashes": sum(types.values()),
        "algorithms": dict(sorted(types.items())),
        "threshold": threshold,
        "matched": matched_hashes,
        "indicator_ids": sorted(set(indicator_ids)),
    }


# -- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    seq: int
    mac: str


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    centre: str
    audit: ChainHead
    access_log: ChainHead
    key_id: str

    def body(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "created_at": self.created_at,
            "centre": self.centre,
            "audit": {"seq": self.audit.seq, "mac": self.audit.mac},
            "access_log": {"seq": self.access_log.seq, "mac": self.access_log.mac},
            "key_id": self.key_id,
        }

    def digest(self) -> bytes:
        """What the signature and the RFC 3161 timestamp cover (SHA-256 of the canonical body)."""
        return hashlib.sha256(canonical(self.body())).digest()


class CheckpointFormatError(ValueError):
    """The file is not a Balise checkpoint; the message says what is wrong."""


def checkpoint_document(checkpoint: Checkpoint, signature: bytes) -> bytes:
    doc = {"checkpoint": checkpoint.body(),
           "signature": {"algorithm": SIGNATURE_ALGORITHM, "key_id": checkpoint.key_id,
                         "value": base64.b64encode(signature).decode("ascii")}}
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"


def parse_checkpoint(data: bytes) -> tuple[Checkpoint, bytes]:
    """(checkpoint, signature) from a checkpoint file; CheckpointFormatError naming the flaw."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointFormatError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("checkpoint"), dict) or not isinstance(doc.get("signature"), dict):
        raise CheckpointFormatError("no \"checkpoint\" and \"signature\" objects")
    body, sig = doc["checkpoint"], doc["signature"]
    if body.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointFormatError(f"format is {body.get('format')!r}, not {CHECKPOINT_FORMAT!r}")
    if sig.get("algorithm") != SIGNATURE_ALGORITHM:
        raise CheckpointFormatError(f"signature algorithm is {sig.get('algorithm')!r}, not Ed25519")
    try:
        heads = [ChainHead(int(body[k]["seq"]), str(body[k]["mac"])) for k in ("audit", "access_log")]
        checkpoint = Checkpoint(str(body["created_at"]), str(body["centre"]), heads[0], heads[1], str(body["key_id"]))
        signature = base64.b64decode(sig["value"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointFormatError(f"a field is missing or malformed ({exc})") from None
    if set(body) != set(checkpoint.body()):
        raise CheckpointFormatError(f"unexpected fields {sorted(set(body) - set(checkpoint.body()))}")
    return checkpoint, signature


def checkpoint_file_name(created_at: datetime, audit_seq: int) -> str:
    """Sorts in time order: ``checkpoint-20261202T111500.123456Z-a0000001234.json``."""
    stamp = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"checkpoint-{stamp}-a{audit_seq:011d}.json"
