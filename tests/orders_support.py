"""Orders in tests: a coordinating authority with an API key and a registered Ed25519 signing
key, a provider, and signed order bodies (docs/orders.md)."""

from __future__ import annotations

import base64
import copy
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind
from balise.domain.orders import signed_bytes
from tests.helpers import make_provider

PROVIDER = "DEMO Test Hosting"


@dataclass
class Authority:
    org_id: uuid.UUID
    key: str
    private: Ed25519PrivateKey
    key_id: str

    def sign(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in copy.deepcopy(body).items() if k != "signature"}
        value = base64.b64encode(self.private.sign(signed_bytes(body))).decode()
        return {**body, "signature": {"algorithm": "ed25519", "key_id": self.key_id, "value": value}}


def make_authority(balise: Balise, name: str = "Coordinating Authority FR (test)", country: str = "FR") -> Authority:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with balise.db.transaction() as session:
        org = balise.organisations.create(session, Actor.system("test"), name=name,
                                          kind=OrgKind.COORDINATING_AUTHORITY, country=country)
        key = balise.organisations.issue_key(session, Actor.system("test"), org, ["reports:read"])
        key_id = balise.orders.register_key(session, Actor.system("test"), org, base64.b64encode(public).decode())
        return Authority(org.id, key.plaintext, private, key_id)


def make_addressee(balise: Balise) -> tuple[uuid.UUID, str]:
    return make_provider(balise, name=PROVIDER)


def order_body(kind: str = "removal", now: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    now = now or datetime.now().astimezone()
    body: dict[str, Any] = {
        "kind": kind, "reference": f"CA-FR-{kind}-{uuid.uuid4().hex[:6]}",
        "issuing_authority": {"name": "Coordinating Authority FR (test)", "member_state": "FR",
                              "contact": "orders@authority.test"},
        "legal_basis": "CSAR Art. 14 and national law",
        "addressee": {"name": PROVIDER},
        "reasons": "The material at these addresses was confirmed as child sexual abuse material (test).",
        "redress": "The provider may challenge this order before the court of Paris within 2 months.",
        "sent_at": (now - timedelta(minutes=5)).isoformat(),
    }
    if kind in ("removal", "blocking"):
        body["urls"] = ["https://host.example/u/1.jpg", "https://host.example/u/2.jpg"]
    if kind in ("blocking", "detection"):
        body["period"] = {"start": (now - timedelta(minutes=1)).isoformat(),
                          "end": (now + timedelta(days=180)).isoformat()}
    if kind == "detection":
        body["services"] = ["DEMO photo sharing"]
        body["databases"] = ["known_indicators"]
        body["legal_basis"] = "CSAR Art. 7"
    body.update(overrides)
    return body
