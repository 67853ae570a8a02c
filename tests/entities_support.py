"""Reports naming entities, filed through the provider API, for the entity tests."""

from __future__ import annotations

import uuid
from typing import Any

from balise.domain import entities as E
from tests.helpers import auth, minimal_report

# Checksum-valid addresses made here from fixed bytes (no one's wallet).
WALLET = E.monero_address(18, bytes(range(32)), bytes(range(32, 64)))
BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"  # BIP-13-era documentation address
BAD_BTC = BTC[:-1] + "3"  # one character off: the base58check checksum fails
ETH = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # the EIP-55 example
CARD = "4111 1111 1111 1111"  # the test card number of the payment schemes


def identifiers(*pairs: tuple[str, str], **extra: Any) -> list[dict[str, Any]]:
    return [{"role": "reported_user", "identifiers": [{"type": t, "value": v, **extra} for t, v in pairs]}]


def file_report(client: Any, key: str, persons: list[dict[str, Any]], **overrides: Any) -> uuid.UUID:
    overrides.setdefault("service", {"type": "hosting", "url": f"https://example.test/u/{uuid.uuid4().hex[:8]}"})
    body = minimal_report(persons=persons, **overrides)
    response = client.post("/api/v1/reports", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])
