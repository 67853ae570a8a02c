"""Leads from the files themselves, kept (docs/intelligence.md#leads-from-the-files): the
media.hash job reads each picture's EXIF, XMP and C2PA metadata in a bounded child while it
holds the decrypted copy, and this service stores what was found encrypted (the secret box),
with a keyed digest of the camera's make, model and serial to find other items from the same
camera, and whether the file declares generative AI (which routes the report in triage, never
dismisses it). Reading the leads back is audited like content (lead:read, with a purpose)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, ItemLead
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail

SYSTEM = Actor.system("hasher")
MAX_SAME_CAMERA = 100


class FileLeads:
    def __init__(self, audit: AuditTrail, box: Any, clock: Callable[[], datetime], key: bytes) -> None:
        self._audit = audit
        self._box = box
        self._clock = clock
        self._key = key

    def serial_key(self, exif: dict[str, Any]) -> str | None:
        serial = (exif or {}).get("serial")
        if not serial:
            return None
        camera = "\x00".join(" ".join(str(exif.get(k) or "").lower().split()) for k in ("make", "model"))
        return hmac.new(self._key, f"{camera}\x00{serial.strip().lower()}".encode(), hashlib.sha256).hexdigest()

    def record(self, session: Session, item: Item, leads: dict[str, Any] | None) -> ItemLead | None:
        """In the transaction that records the item's hashes (idempotent: a rerun overwrites)."""
        if not leads:
            return None
        kept = {k: leads.get(k) for k in ("exif", "xmp", "c2pa") if leads.get(k)}
        problems = list(leads.get("problems") or [])[:20]
        if not kept and not problems:
            return None
        row = session.get(ItemLead, item.id) or ItemLead(item_id=item.id, report_id=item.report_id)
        row.sealed = self._box.seal(json.dumps(kept, sort_keys=True))
        row.serial_key = self.serial_key(kept.get("exif") or {})
        row.generative = bool(leads.get("generative"))
        row.problems = problems or None
        row.read_at = self._clock()
        session.add(row)
        session.flush()
        self._audit.record(session, AuditEvent.LEAD_RECORD, SYSTEM, "item", str(item.id), "leads from the file",
                           {"found": sorted(kept), "generative": row.generative, "problems": problems,
                            "camera_serial": row.serial_key is not None})
        return row

    def read(self, session: Session, actor: Actor, item_id: uuid.UUID, purpose: str) -> dict[str, Any] | None:
        """The leads of an item in clear, audited as lead:read with the purpose."""
        row = session.get(ItemLead, item_id)
        if row is None:
            return None
        self._audit.record(session, AuditEvent.LEAD_READ, actor, "item", str(item_id), purpose)
        leads = json.loads(self._box.open(row.sealed))
        same = []
        if row.serial_key:
            same = list(session.execute(select(ItemLead.item_id, ItemLead.report_id).where(
                ItemLead.serial_key == row.serial_key, ItemLead.item_id != item_id).limit(MAX_SAME_CAMERA)).all())
        return {**leads, "generative": row.generative, "problems": row.problems or [],
                "same_camera": [{"item": i, "report": r} for i, r in same]}

    def generative_items(self, session: Session, report_id: uuid.UUID) -> int:
        return len(session.execute(select(ItemLead.item_id).where(
            ItemLead.report_id == report_id, ItemLead.generative.is_(True))).all())
