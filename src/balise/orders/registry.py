"""The orders registry: orders arrive from a coordinating authority's API key (signed with its
registered Ed25519 key) or are entered by staff; each state change is recorded with when, who
and how they were authenticated; the provider reports the execution; a detection order gives
its provider a grant limited to the named databases and the order's period.

Every change is audited (``order:*``, docs/audit-events.md) in the transaction that makes it.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    AccessGrant,
    Item,
    Order,
    OrderEvent,
    OrderReport,
    OrderSigningKey,
    OrderUrl,
    Organisation,
    Report,
)
from balise.domain.audit import AuditEvent
from balise.domain.grants import GrantState
from balise.domain.model import OrgKind
from balise.domain.orders import (
    AUTHORITY,
    CLOSED,
    EXECUTABLE,
    NON_DISCLOSURE_RENEWALS,
    PROVIDER,
    STAFF,
    Execution,
    InvalidOrder,
    OrderKind,
    OrderState,
    OrderTerms,
    TransitionRefused,
    check_order,
    check_transition,
    non_disclosure_until,
    signature_value,
    signed_bytes,
)
from balise.governance.audit import AuditTrail
from balise.governance.grants import actor_ref

SYSTEM = Actor.system("orders")


class NotAuthority(PermissionError):
    """The caller is not a coordinating authority (403)."""


class NotAddressee(PermissionError):
    """The caller is not the provider the order is addressed to (403)."""


class OrderNotFound(LookupError):
    pass


class OrderConflict(ValueError):
    """The order's state does not allow the act, or it is unknown (409)."""


@dataclass(frozen=True)
class Sender:
    """How the sender of an order or of a state change was authenticated."""

    actor: Actor
    part: str  # authority, provider, staff
    auth: dict[str, Any]


def key_id_of(public_key: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


class Orders:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock

    # -- authorities' signing keys ---------------------------------------------------------

    def register_key(self, session: Session, actor: Actor, organisation: Organisation, public_key_b64: str) -> str:
        if organisation.kind != OrgKind.COORDINATING_AUTHORITY.value:
            raise NotAuthority(f"{organisation.name!r} is not a coordinating authority")
        try:
            raw = base64.b64decode(public_key_b64.strip(), validate=True)
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise InvalidOrder("public_key", "must be a base64 raw Ed25519 public key (32 bytes)") from None
        key_id = key_id_of(raw)
        if session.get(OrderSigningKey, key_id) is None:
            session.add(OrderSigningKey(key_id=key_id, organisation_id=organisation.id,
                                        public_key=base64.b64encode(raw).decode(), created_at=self._clock()))
            session.flush()
            self._audit.record(session, AuditEvent.ORDER_KEY_REGISTER, actor, "organisation", str(organisation.id),
                               "register an authority's order signing key", {"key_id": key_id})
        return key_id

    def _verify(self, session: Session, organisation_id: uuid.UUID, body: dict[str, Any]) -> str:
        key_id, raw = signature_value(body)
        key = session.get(OrderSigningKey, key_id)
        if key is None or key.organisation_id != organisation_id or key.revoked_at is not None:
            raise InvalidOrder("signature.key_id", f"{key_id[:80]!r} is not a registered signing key of your authority")
        try:
            Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key)).verify(raw, signed_bytes(body))
        except InvalidSignature:
            raise InvalidOrder("signature.value", "does not verify: the order was changed after signing, or "
                                                  "signed with another key") from None
        return key_id

    # -- orders in ------------------------------------------------------------------------

    def submit(self, session: Session, actor: Actor, organisation_id: uuid.UUID, key_prefix: str,
               body: dict[str, Any]) -> Order:
        """An order sent with a coordinating authority's API key. Checked whole (fields,
        signature, reports) before anything is written."""
        org = session.get(Organisation, organisation_id)
        if org is None or org.kind != OrgKind.COORDINATING_AUTHORITY.value:
            raise NotAuthority("only a coordinating authority's API key can send orders")
        now = self._clock()
        terms = check_order(body, now=now)
        key_id = self._verify(session, org.id, body)
        sender = Sender(actor, AUTHORITY, {"method": "api_key", "key_prefix": key_prefix, "organisation": str(org.id),
                                           "organisation_name": org.name, "signature": "ed25519",
                                           "signing_key": key_id})
        return self._store(session, terms, body, sender, authority_org=org, signature=dict(body["signature"]))

    def enter(self, session: Session, actor: Actor, body: dict[str, Any], verification: str | None) -> Order:
        """An order entered by staff from what the authority sent (paper, e-mail, another
        system). The staff member states how the signature was verified."""
        now = self._clock()
        terms = check_order(body, now=now)
        text = " ".join((verification or "").split())
        if len(text) < 5:
            raise InvalidOrder("signature_verification", "say how the authority's signature was verified "
                                                         "(at least 5 characters)")
        if len(text) > 1000:
            raise InvalidOrder("signature_verification", "is longer than 1000 characters")
        authority_org = session.execute(select(Organisation).where(
            Organisation.name == terms.authority_name,
            Organisation.kind == OrgKind.COORDINATING_AUTHORITY.value)).scalar_one_or_none()
        sender = Sender(actor, STAFF, {"method": "staff_entry", "user": actor.label, "user_id": actor.id,
                                       "signature_verification": text})
        return self._store(session, terms, body, sender, authority_org=authority_org,
                           signature={"verification": text})

    def _store(self, session: Session, terms: OrderTerms, body: dict[str, Any], sender: Sender, *,
               authority_org: Organisation | None, signature: dict[str, Any]) -> Order:
        now = self._clock()
        if authority_org is not None and session.execute(select(Order.id).where(
                Order.authority_organisation_id == authority_org.id, Order.reference == terms.reference)).first():
            raise OrderConflict(f"an order with the reference {terms.reference!r} of this authority is already "
                                "registered")
        reports: list[Report] = []
        for i, rid in enumerate(terms.report_ids):
            try:
                report = session.get(Report, uuid.UUID(rid))
            except ValueError:
                report = None
            if report is None:
                raise InvalidOrder(f"report_ids.{i}", f"no report {rid[:64]!r}")
            reports.append(report)
        addressee = session.execute(select(Organisation).where(Organisation.name == terms.addressee_name)
                                    ).scalar_one_or_none()
        if terms.kind is OrderKind.DETECTION and (addressee is None or addressee.kind != OrgKind.PROVIDER.value):
            raise InvalidOrder("addressee.name", "a detection order names a provider registered with the centre "
                                                 "(its organisation's exact name)")
        state = OrderState.DRAFT if terms.draft else OrderState.ISSUED
        order = Order(
            kind=terms.kind.value, state=state.value, reference=terms.reference,
            authority_organisation_id=authority_org.id if authority_org else None,
            authority_name=terms.authority_name, authority_member_state=terms.authority_member_state,
            authority_contact=terms.authority_contact, legal_basis=terms.legal_basis,
            addressee_organisation_id=addressee.id if addressee else None, addressee_name=terms.addressee_name,
            services=list(terms.services), databases=[d.value for d in terms.databases], reasons=terms.reasons,
            redress=terms.redress, period_start=terms.period_start, period_end=terms.period_end,
            non_disclosure_weeks=terms.non_disclosure_weeks, non_disclosure_renewals=0,
            document={k: v for k, v in body.items() if k != "signature"}, signature=signature,
            sender_auth=sender.auth, sent_at=terms.sent_at, recorded_at=now,
            opinion_requested_at=now if terms.draft else None, updated_at=now,
        )
        session.add(order)
        session.flush()
        items = {}
        if reports:
            for item in session.execute(select(Item).where(Item.report_id.in_([r.id for r in reports]),
                                                           Item.url.is_not(None))).scalars():
                items.setdefault(item.url, item.id)
        for position, url in enumerate(terms.urls):
            session.add(OrderUrl(order_id=order.id, position=position, url=url, item_id=items.get(url)))
        for report in reports:
            session.add(OrderReport(order_id=order.id, report_id=report.id))
        session.add(OrderEvent(order_id=order.id, from_state=None, to_state=state.value, at=now, part=sender.part,
                               actor=actor_ref(sender.actor), auth=sender.auth,
                               note=f"sent {terms.sent_at.isoformat()}"))
        session.flush()
        self._audit.record(session, AuditEvent.ORDER_CREATE, sender.actor, "order", str(order.id),
                           f"register a {terms.kind.value} order", {
                               "kind": terms.kind.value, "reference": terms.reference, "state": state.value,
                               "authority": terms.authority_name, "addressee": terms.addressee_name,
                               "urls": len(terms.urls), "reports": [str(r.id) for r in reports],
                               "sent_at": terms.sent_at.isoformat(), "auth": sender.auth})
        if terms.kind is OrderKind.DETECTION and not terms.draft:
            self._grant(session, order, sender.actor)
        return order

    # -- reading --------------------------------------------------------------------------

    def get(self, session: Session, order_id: uuid.UUID | str, *, lock: bool = False) -> Order:
        try:
            oid = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
        except ValueError:
            raise OrderNotFound(f"no order {str(order_id)[:64]!r}") from None
        query = select(Order).where(Order.id == oid)
        if lock:
            query = query.with_for_update()
        order = session.execute(query).scalar_one_or_none()
        if order is None:
            raise OrderNotFound(f"no order {oid}")
        return order

    def visible_to(self, order: Order, organisation_id: uuid.UUID) -> bool:
        return organisation_id in (order.authority_organisation_id, order.addressee_organisation_id)

    def list(self, session: Session, *, organisation_id: uuid.UUID | None = None, kind: str | None = None,
             state: str | None = None, limit: int = 500) -> list[Order]:
        query = select(Order)
        if organisation_id is not None:
            query = query.where((Order.authority_organisation_id == organisation_id)
                                | (Order.addressee_organisation_id == organisation_id))
        if kind:
            query = query.where(Order.kind == kind)
        if state:
            query = query.where(Order.state == state)
        return list(session.execute(query.order_by(Order.recorded_at.desc()).limit(limit)).scalars())

    def report_ids(self, session: Session, order: Order) -> list[uuid.UUID]:
        return list(session.execute(select(OrderReport.report_id).where(OrderReport.order_id == order.id)
                                    .order_by(OrderReport.report_id)).scalars())

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[Order]:
        return list(session.execute(select(Order).join(OrderReport, OrderReport.order_id == Order.id)
                                    .where(OrderReport.report_id == report_id)
                                    .order_by(Order.recorded_at)).scalars())

    def read(self, session: Session, actor: Actor, order: Order, purpose: str) -> None:
        self._audit.record(session, AuditEvent.ORDER_READ, actor, "order", str(order.id), purpose, {})

    # -- the life cycle -------------------------------------------------------------------

    def _part_of(self, order: Order, organisation_id: uuid.UUID) -> str:
        if organisation_id == order.authority_organisation_id:
            return AUTHORITY
        if organisation_id == order.addressee_organisation_id:
            return PROVIDER
        raise NotAddressee("this order is neither from nor addressed to your organisation")

    def part_of(self, order: Order, organisation_id: uuid.UUID) -> str:
        return self._part_of(order, organisation_id)

    def transition(self, session: Session, order_id: uuid.UUID | str, target: str, sender: Sender,
                   note: str | None = None, at: datetime | None = None) -> Order:
        """Move an order; ``sender.part`` says whose act it is (staff may record either's).
        TransitionRefused (409) when the state or the part does not allow it."""
        order = self.get(session, order_id, lock=True)
        now = self._clock()
        to = check_transition(order.state, target, sender.part)
        when = at or now
        if when > now:
            raise TransitionRefused("a state change cannot be recorded in the future")
        text = " ".join((note or "").split())[:2000] or None
        if to in (OrderState.CLARIFICATION_REQUESTED, OrderState.IMPOSSIBLE, OrderState.CHALLENGED,
                  OrderState.REVOKED) and not text:
            raise TransitionRefused(f"give the reasons for making the order {to.value} (note)")
        if to is OrderState.ISSUED and order.kind == OrderKind.DETECTION.value and order.opinion_given_at is None:
            raise TransitionRefused("the centre has not given its opinion on this draft yet (4 weeks, Art. 7(3))")
        if to is OrderState.EXECUTED:
            raise TransitionRefused("an order is executed by the provider's execution report")
        was = order.state
        order.state, order.updated_at = to.value, now
        if to is OrderState.RECEIVED and order.received_at is None:
            order.received_at = when
        session.add(OrderEvent(order_id=order.id, from_state=was, to_state=to.value, at=when, part=sender.part,
                               actor=actor_ref(sender.actor), auth=sender.auth, note=text))
        self._audit.record(session, AuditEvent.ORDER_TRANSITION, sender.actor, "order", str(order.id),
                           text or f"{was} to {to.value}",
                           {"from": was, "to": to.value, "part": sender.part, "at": when.isoformat(),
                            "auth": sender.auth})
        if to is OrderState.ISSUED and order.kind == OrderKind.DETECTION.value:
            self._grant(session, order, sender.actor)
        if to is OrderState.REVOKED:
            self._end_grant(session, order, sender.actor, f"order {order.reference} revoked: {text}")
        return order

    def report_execution(self, session: Session, order_id: uuid.UUID | str, sender: Sender, execution: str,
                         executed_at: datetime, note: str | None = None) -> Order:
        """The provider's execution report: removed or disabled, and when. 409 (OrderConflict)
        for an unknown order or one that cannot be executed any more."""
        try:
            order = self.get(session, order_id, lock=True)
        except OrderNotFound as exc:
            raise OrderConflict(str(exc)) from None
        if sender.part != STAFF and sender.part != PROVIDER:
            raise NotAddressee("only the provider the order is addressed to reports its execution")
        if OrderState(order.state) in CLOSED:
            raise OrderConflict(f"the order is {order.state}: it is closed")
        if OrderState(order.state) not in EXECUTABLE:
            raise OrderConflict(f"an order that is {order.state} cannot be reported executed")
        if order.kind == OrderKind.DETECTION.value:
            raise OrderConflict("a detection order is not executed by removal: it runs for its period")
        try:
            how = Execution(execution)
        except ValueError:
            raise InvalidOrder("execution", "must be removed or disabled") from None
        now = self._clock()
        if executed_at.tzinfo is None:
            raise InvalidOrder("executed_at", "needs a time zone")
        if executed_at > now:
            raise InvalidOrder("executed_at", "is in the future")
        was = order.state
        if order.received_at is None:
            order.received_at = min(executed_at, now)
        order.state, order.execution, order.executed_at = OrderState.EXECUTED.value, how.value, executed_at
        order.execution_reported_at, order.updated_at = now, now
        order.execution_note = " ".join((note or "").split())[:2000] or None
        session.add(OrderEvent(order_id=order.id, from_state=was, to_state=OrderState.EXECUTED.value, at=now,
                               part=sender.part, actor=actor_ref(sender.actor), auth=sender.auth,
                               note=f"{how.value} at {executed_at.isoformat()}"))
        self._audit.record(session, AuditEvent.ORDER_EXECUTE, sender.actor, "order", str(order.id),
                           "execution report", {"execution": how.value, "executed_at": executed_at.isoformat(),
                                                "from": was, "auth": sender.auth})
        return order

    def give_opinion(self, session: Session, actor: Actor, order_id: uuid.UUID | str, text: str) -> Order:
        order = self.get(session, order_id, lock=True)
        opinion = (text or "").strip()
        if len(opinion) < 5:
            raise InvalidOrder("opinion", "write the centre's opinion (at least 5 characters)")
        if order.kind != OrderKind.DETECTION.value or order.state != OrderState.DRAFT.value:
            raise OrderConflict("the centre gives its opinion on a draft detection order only")
        if order.opinion_given_at is not None:
            raise OrderConflict("the opinion on this draft has been given")
        order.opinion, order.opinion_given_at = opinion[:8000], self._clock()
        self._audit.record(session, AuditEvent.ORDER_OPINION, actor, "order", str(order.id),
                           "the centre's opinion on a draft detection order", {"length": len(opinion)})
        return order

    def renew_non_disclosure(self, session: Session, sender: Sender, order_id: uuid.UUID | str) -> Order:
        order = self.get(session, order_id, lock=True)
        if sender.part not in (AUTHORITY, STAFF):
            raise NotAuthority("only the issuing authority renews a non-disclosure period")
        if order.non_disclosure_weeks is None:
            raise OrderConflict("this order has no non-disclosure period")
        if order.non_disclosure_renewals >= NON_DISCLOSURE_RENEWALS:
            raise OrderConflict("the non-disclosure period has been renewed once already (Art. 15(4))")
        order.non_disclosure_renewals += 1
        self._audit.record(session, AuditEvent.ORDER_NON_DISCLOSURE_RENEW, sender.actor, "order", str(order.id),
                           "renew the non-disclosure period", {"renewals": order.non_disclosure_renewals})
        return order

    def non_disclosure_ends(self, order: Order) -> datetime | None:
        if order.non_disclosure_weeks is None:
            return None
        start = order.received_at or order.recorded_at
        return non_disclosure_until(start, order.non_disclosure_weeks, order.non_disclosure_renewals)

    def provider_view(self, session: Session, report_id: uuid.UUID, organisation_id: uuid.UUID,
                      now: datetime) -> list[dict[str, Any]]:
        """The orders addressed to ``organisation_id`` about a report, as its provider sees them
        on the report: kind, reference, state and the end of an active non-disclosure period."""
        out = []
        for order in self.for_report(session, report_id):
            if order.addressee_organisation_id != organisation_id:
                continue
            ends = self.non_disclosure_ends(order)
            out.append({"id": str(order.id), "kind": order.kind, "reference": order.reference, "state": order.state,
                        "non_disclosure_until": ends.isoformat() if ends and ends > now else None})
        return out

    # -- detection orders give access -------------------------------------------------------

    def _grant(self, session: Session, order: Order, actor: Actor) -> None:
        """The provider's access to the databases the order names, for its period only: a grant
        approved by the order itself (no administrator decides what a court or authority ordered)."""
        if order.grant_id is not None or order.addressee_organisation_id is None:
            return
        assert order.period_start is not None and order.period_end is not None
        now = self._clock()
        ref = f"order:{order.id}:{order.authority_name}"[:300]
        grant = AccessGrant(
            organisation_id=order.addressee_organisation_id, databases=list(order.databases), operations=["match"],
            purpose=f"detection order {order.reference} (CSAR Art. 7) on {', '.join(order.services)}"[:2000],
            legal_basis=order.legal_basis[:1000], order_reference=order.reference[:200],
            valid_from=order.period_start, valid_until=order.period_end, state=GrantState.APPROVED.value,
            requested_at=now, requested_by=ref, decided_by=ref, decided_at=now,
            decision_reason=f"given by detection order {order.reference} for its period")
        session.add(grant)
        session.flush()
        order.grant_id = grant.id
        self._audit.record(session, AuditEvent.ORDER_GRANT, actor, "order", str(order.id),
                           "a detection order gives access to the databases it names", {
                               "grant": grant.id, "organisation": str(order.addressee_organisation_id),
                               "databases": grant.databases, "valid_from": grant.valid_from.isoformat(),
                               "valid_until": grant.valid_until.isoformat()})

    def _end_grant(self, session: Session, order: Order, actor: Actor, reason: str) -> None:
        if order.grant_id is None:
            return
        grant = session.get(AccessGrant, order.grant_id, with_for_update=True)
        if grant is None or grant.state != GrantState.APPROVED.value:
            return
        grant.state, grant.revoked_by, grant.revoked_at = GrantState.REVOKED.value, actor_ref(actor), self._clock()
        grant.revoke_reason = reason[:2000]
        self._audit.record(session, AuditEvent.GRANT_REVOKE, actor, "grant", str(grant.id), reason[:2000],
                           {"organisation": str(grant.organisation_id), "order": str(order.id)})


__all__ = ["Orders", "Sender", "NotAuthority", "NotAddressee", "OrderNotFound", "OrderConflict", "InvalidOrder",
           "TransitionRefused", "key_id_of", "SYSTEM"]
