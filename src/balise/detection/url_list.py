"""The URL list (CSAR Art. 44(1)(b)): URLs on hosts outside the Union that refuse removal and
whose authorities do not cooperate, each with its evidence; exported per blocking order to the
internet access providers it names, as CSV or as a JSON feed of changes signed with the centre's
Ed25519 key (the key of evidence packages and audit checkpoints); and a representative sample
fetched again, which a coordinating authority runs before it asks for a blocking order.

Exports are made for a blocking order of the orders registry (``export(session, actor, order_id)``):
the order must be a blocking order issued, received or executed and within its period; its
addressee is the provider and its reference the feed's (domain/orders.py check_blocking_in_force).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Order, Organisation, Takedown, UrlListEntry, UrlListExport, UrlListVerification
from balise.detection.indicators import Indicators
from balise.detection.provenance import actor_label
from balise.domain.audit import AuditEvent
from balise.domain.checkpoints import canonical, utc_iso
from balise.domain.orders import InvalidOrder, check_blocking_in_force
from balise.domain.submissions import (
    MAX_REFERENCE,
    InvalidSubmission,
    UrlListState,
    UrlListTerms,
    sample_size,
)
from balise.evidence.adapters.signing import Ed25519Signer, verify_signature
from balise.governance.audit import AuditTrail

FEED_FORMAT = "balise-url-list/1"
CSV_COLUMNS = ("change", "url", "host", "host_country", "listed_at", "version")


class UrlListConflict(ValueError):
    """Refused: the URL is already listed, or the entry is no longer listed."""


@dataclass(frozen=True)
class Export:
    body: bytes
    media_type: str
    filename: str
    version: int
    entries: int


def _iso(value: datetime | None) -> str | None:
    return utc_iso(value) if value else None


class UrlList:
    def __init__(self, audit: AuditTrail, indicators: Indicators, clock: Callable[[], datetime],
                 signer: Callable[[], Ed25519Signer], centre: str) -> None:
        self._audit = audit
        self._indicators = indicators
        self._clock = clock
        self._signer = signer  # loaded on first export: listing URLs needs no key
        self._centre = centre

    # -- the list --------------------------------------------------------------------------

    def add(self, session: Session, actor: Actor, terms: UrlListTerms) -> UrlListEntry:
        if session.execute(select(UrlListEntry.id).where(UrlListEntry.url == terms.url,
                                                         UrlListEntry.state == UrlListState.LISTED.value)).first():
            raise UrlListConflict(f"{terms.url} is already on the URL list")
        evidence: dict[str, Any] = {"refusal": terms.refusal, "authority_non_cooperation": terms.authority_non_cooperation}
        if terms.takedown_item is not None:
            try:
                takedown = session.get(Takedown, uuid.UUID(terms.takedown_item))
            except ValueError:
                takedown = None
            if takedown is None:
                raise InvalidSubmission("takedown_item", f"no takedown of the reported URL {terms.takedown_item}")
            evidence["takedown"] = {"item": str(takedown.item_id), "report": str(takedown.report_id),
                                    "url": takedown.url, "status": takedown.status,
                                    "host_notified_at": _iso(takedown.host_notified_at),
                                    "escalated_at": _iso(takedown.escalated_at),
                                    "last_checked_at": _iso(takedown.last_checked_at),
                                    "last_outcome": takedown.last_outcome}
        now = self._clock()
        entry = UrlListEntry(url=terms.url, host=terms.host, host_country=terms.host_country,
                             takedown_item_id=terms.takedown_item, evidence=evidence, state=UrlListState.LISTED.value,
                             version=self._indicators.reserve_versions(session, 1), added_at=now,
                             added_by=actor_label(actor)[:300])
        session.add(entry)
        session.flush()
        self._audit.record(session, AuditEvent.URL_LIST_ADD, actor, "url_list_entry", str(entry.id),
                           "put a URL on the URL list (CSAR Art. 44(1)(b))",
                           {"host": terms.host, "host_country": terms.host_country, "version": entry.version,
                            "takedown": terms.takedown_item})
        return entry

    def remove(self, session: Session, actor: Actor, entry_id: int, reason: str) -> UrlListEntry:
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidSubmission("reason", "is required")
        entry = session.get(UrlListEntry, entry_id, with_for_update=True)
        if entry is None:
            raise InvalidSubmission("entry", f"no URL list entry {entry_id}")
        if entry.state != UrlListState.LISTED.value:
            raise UrlListConflict(f"URL list entry {entry_id} is no longer listed")
        now = self._clock()
        entry.state, entry.removed_at, entry.removed_by = UrlListState.REMOVED.value, now, actor_label(actor)[:300]
        entry.removed_reason, entry.version = reason[:2000], self._indicators.reserve_versions(session, 1)
        self._audit.record(session, AuditEvent.URL_LIST_REMOVE, actor, "url_list_entry", str(entry.id), reason[:300],
                           {"version": entry.version})
        return entry

    def entries(self, session: Session, *, listed_only: bool = True, limit: int = 1000) -> list[UrlListEntry]:
        query = select(UrlListEntry).order_by(UrlListEntry.id.desc()).limit(limit)
        if listed_only:
            query = query.where(UrlListEntry.state == UrlListState.LISTED.value)
        return list(session.execute(query).scalars())

    # -- export per blocking order ---------------------------------------------------------

    def exports(self, session: Session, limit: int = 20) -> list[UrlListExport]:
        """The latest exports, newest first."""
        return list(session.execute(select(UrlListExport).order_by(UrlListExport.id.desc()).limit(limit)).scalars())

    def blocking_order(self, session: Session, order_id: uuid.UUID | str, *,
                       provider: uuid.UUID | None = None) -> Order:
        """The blocking order an export is made for, in force now; InvalidSubmission (field
        ``order``) naming why not. With ``provider``, the order must be addressed to it."""
        try:
            oid = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id).strip())
        except ValueError:
            raise InvalidSubmission("order", f"{str(order_id)[:64]!r} is not an order id") from None
        order = session.get(Order, oid)
        if order is None or (provider is not None and order.addressee_organisation_id != provider):
            raise InvalidSubmission("order", f"no blocking order {oid}" + (" addressed to you" if provider else ""))
        try:
            check_blocking_in_force(order.kind, order.state, order.period_start, order.period_end, self._clock(),
                                    reference=order.reference)
        except InvalidOrder as exc:
            raise InvalidSubmission(exc.field, exc.message) from None
        if order.addressee_organisation_id is None:
            raise InvalidSubmission("order", f"the addressee of blocking order {order.reference} "
                                             f"({order.addressee_name}) is not an organisation registered with the centre")
        org = session.get(Organisation, order.addressee_organisation_id)
        if org is None or org.suspended_at is not None:
            raise InvalidSubmission("order", f"the addressee of blocking order {order.reference} is suspended")
        return order

    def in_force_for(self, session: Session, provider: uuid.UUID) -> list[Order]:
        """The blocking orders addressed to a provider that are in force now."""
        orders = session.execute(select(Order).where(Order.kind == "blocking",
                                                     Order.addressee_organisation_id == provider)
                                 .order_by(Order.recorded_at)).scalars()
        out = []
        for order in orders:
            try:
                self.blocking_order(session, order.id, provider=provider)
            except InvalidSubmission:
                continue
            out.append(order)
        return out

    def export(self, session: Session, actor: Actor, order_id: uuid.UUID | str, *, fmt: str = "json",
               since_version: int = 0, provider: uuid.UUID | None = None) -> Export:
        """The list (``since_version`` 0) or its changes since a version, for one blocking order in
        force and the provider it is addressed to: CSV, or the signed JSON feed. Recorded and audited."""
        if fmt not in ("csv", "json"):
            raise InvalidSubmission("format", "must be csv or json")
        if since_version < 0:
            raise InvalidSubmission("since", "must be 0 or a version the feed gave")
        order = self.blocking_order(session, order_id, provider=provider)
        reference = order.reference
        orgs = [session.get(Organisation, order.addressee_organisation_id)]
        version = self._indicators.current_version(session)
        query = select(UrlListEntry).where(UrlListEntry.version <= version).order_by(UrlListEntry.version)
        if since_version:
            rows = list(session.execute(query.where(UrlListEntry.version > since_version)).scalars())
        else:
            rows = list(session.execute(query.where(UrlListEntry.state == UrlListState.LISTED.value)).scalars())
        added = [r for r in rows if r.state == UrlListState.LISTED.value]
        removed = [r for r in rows if r.state != UrlListState.LISTED.value]
        now = self._clock()
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in reference)[:80]
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for r in added:
                writer.writerow(["add", r.url, r.host, r.host_country, utc_iso(r.added_at), r.version])
            for r in removed:
                writer.writerow(["remove", r.url, r.host, r.host_country, utc_iso(r.added_at), r.version])
            body, media_type, filename = out.getvalue().encode(), "text/csv", f"url-list-{safe}-{version}.csv"
        else:
            signer = self._signer()
            feed = {"format": FEED_FORMAT, "centre": self._centre, "order": str(order.id), "order_reference": reference,
                    "period": {"start": _iso(order.period_start), "end": _iso(order.period_end)},
                    "providers": [{"id": str(o.id), "name": o.name} for o in orgs],
                    "generated_at": utc_iso(now), "since_version": since_version, "version": version,
                    "complete": since_version == 0,
                    "added": [{"id": r.id, "url": r.url, "host": r.host, "host_country": r.host_country,
                               "listed_at": utc_iso(r.added_at), "version": r.version} for r in added],
                    "removed": [{"id": r.id, "url": r.url, "version": r.version} for r in removed]}
            signature = base64.b64encode(signer.sign(canonical(feed))).decode("ascii")
            document = {"feed": feed, "signature": {"algorithm": "Ed25519", "key_id": signer.key_id,
                                                    "value": signature}}
            body = json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False).encode()
            media_type, filename = "application/json", f"url-list-{safe}-{version}.json"
        digest = hashlib.sha256(body).hexdigest()
        providers_out = [{"id": str(o.id), "name": o.name} for o in orgs]
        session.add(UrlListExport(order_id=order.id, order_reference=reference, providers=providers_out, format=fmt,
                                  since_version=since_version, version=version, entries=len(rows), sha256=digest,
                                  exported_at=now, exported_by=actor_label(actor)[:300]))
        self._audit.record(session, AuditEvent.URL_LIST_EXPORT, actor, "order", str(order.id),
                           "export the URL list for a blocking order (CSAR Art. 16, 44(1)(b))",
                           {"reference": reference, "providers": providers_out, "format": fmt, "since_version": since_version,
                            "version": version, "added": len(added), "removed": len(removed), "sha256": digest})
        return Export(body, media_type, filename, version, len(rows))

    # -- representative-sample verification --------------------------------------------------

    def verify_sample(self, new_session: Callable[[], Any], actor: Actor, fetch: Callable[[str], str], *,
                      wanted: int | None = None, organisation_id: uuid.UUID | None = None,
                      order_reference: str | None = None, seed: int | None = None) -> UrlListVerification:
        """Fetch a random sample of the listed URLs again (outside any transaction) and record
        what each answered: still served, gone, or could not tell."""
        reference = " ".join((order_reference or "").split()) or None
        if reference is not None and len(reference) > MAX_REFERENCE:
            raise InvalidSubmission("order_reference", f"is longer than {MAX_REFERENCE} characters")
        started = self._clock()
        with new_session() as session:
            population = [(r[0], r[1]) for r in session.execute(
                select(UrlListEntry.id, UrlListEntry.url).where(UrlListEntry.state == UrlListState.LISTED.value)
                .order_by(UrlListEntry.id)).all()]
        size = sample_size(len(population), wanted)
        chosen = random.Random(seed).sample(population, size) if size else []
        results = []
        for entry_id, url in sorted(chosen):
            try:
                outcome = fetch(url)
            except Exception as exc:  # noqa: BLE001 - recorded, never fatal to the verification
                outcome = f"error: {type(exc).__name__}"
            results.append({"entry": entry_id, "url": url, "outcome": outcome})
        now = self._clock()
        with new_session() as session, session.begin():
            for r in results:
                entry = session.get(UrlListEntry, r["entry"])
                if entry is not None:
                    entry.last_checked_at, entry.last_outcome = now, r["outcome"][:16]
            live = sum(1 for r in results if r["outcome"] == "served")
            gone = sum(1 for r in results if r["outcome"] == "gone")
            row = UrlListVerification(organisation_id=organisation_id, requested_by=actor_label(actor)[:300],
                                      order_reference=reference, population=len(population), sample_size=size,
                                      live=live, gone=gone, other=len(results) - live - gone, results=results,
                                      started_at=started, finished_at=now)
            session.add(row)
            session.flush()
            self._audit.record(session, AuditEvent.URL_LIST_VERIFY, actor, "url_list_verification", str(row.id),
                               "verify a representative sample of the URL list (CSAR Art. 16)",
                               {"population": len(population), "sample": size, "live": live, "gone": gone,
                                "order_reference": reference})
            session.expunge(row)
        return row

    def listed_count(self, session: Session) -> int:
        return int(session.execute(select(func.count()).select_from(UrlListEntry)
                                   .where(UrlListEntry.state == UrlListState.LISTED.value)).scalar_one())


def check_feed(document: dict[str, Any], public_keys: Sequence[Any]) -> bool:
    """An internet access provider's check of a signed feed: signed by one of the centre's keys."""
    try:
        feed, signature = document["feed"], document["signature"]
        raw = base64.b64decode(signature["value"], validate=True)
    except (KeyError, TypeError, ValueError):
        return False
    return any(verify_signature(key, raw, canonical(feed)) for key in public_keys)
