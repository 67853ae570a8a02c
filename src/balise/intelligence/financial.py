"""Alerts to financial partners (docs/intelligence.md#financial-partners): an analyst decides
to tell a bank, card scheme, payment provider or crypto-currency exchange about one payment
identifier a report names. The alert carries only what the partner needs — the identifier, the
report reference, the reason and a request to confirm — and goes out as a `financial_alert`
notice through the partner's channel (signed webhook, e-mail or export), by the durable
notice job. The partner's answer (account closed, frozen, not theirs…) is recorded on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import EntityMention, FinancialAlert, Partner, Report
from balise.domain.audit import AuditEvent
from balise.domain.entities import MAX_PURPOSE
from balise.domain.partners import FINANCIAL_KINDS
from balise.governance.audit import AuditTrail

PAYMENT_KINDS = ("iban", "card_bin", "payment_account", "bitcoin", "ethereum", "monero")
REASONS = ("payment_for_csam", "sale_of_csam", "sextortion_payment", "grooming_payment", "other")
OUTCOMES = ("account_closed", "account_frozen", "under_review", "no_action", "not_ours")
#: Staff roles that decide an alert (and record an answer).
DECIDERS = frozenset({"analyst", "senior-analyst"})


class AlertError(ValueError):
    """An alert or answer refused; ``field`` names what is wrong; nothing was stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _actor_ref(actor: Actor) -> str:
    return f"{actor.type.value}:{actor.id}:{actor.label}"[:300]


class FinancialAlerts:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime], notices: Any, centre_name: str) -> None:
        self._audit = audit
        self._clock = clock
        self._notices = notices
        self._centre = centre_name

    def identifiers(self, session: Session, report_id: uuid.UUID) -> list[EntityMention]:
        """The valid payment identifiers and crypto addresses of a report, one per value."""
        rows = session.execute(select(EntityMention).where(
            EntityMention.report_id == report_id, EntityMention.valid.is_(True),
            EntityMention.kind.in_(PAYMENT_KINDS)).order_by(EntityMention.id)).scalars().all()
        seen: dict[str, EntityMention] = {}
        for row in rows:
            seen.setdefault(row.search_key, row)
        return list(seen.values())

    def partners(self, session: Session) -> list[Partner]:
        return list(session.execute(select(Partner).where(
            Partner.kind.in_(sorted(k.value for k in FINANCIAL_KINDS)), Partner.active.is_(True))
            .order_by(Partner.name)).scalars())

    def send(self, session: Session, actor: Actor, *, report_id: uuid.UUID, identifier_key: str, partner_id: int,
             reason: str, reason_note: str | None = None, language: str = "en") -> FinancialAlert:
        """Record the analyst's decision and queue the notice, in the caller's transaction."""
        report = session.get(Report, report_id)
        if report is None:
            raise AlertError("report", "no such report")
        if report.redacted_at is not None:
            raise AlertError("report", "the report was redacted by retention: its identifiers are gone")
        mention = next((m for m in self.identifiers(session, report_id) if m.search_key == identifier_key), None)
        if mention is None:
            raise AlertError("identifier", "identifier: not a valid payment identifier or crypto address of this "
                                           "report (an unvalidated value is never sent)")
        partner = session.get(Partner, partner_id)
        if partner is None or partner.kind not in {k.value for k in FINANCIAL_KINDS}:
            raise AlertError("partner", "partner: not a financial partner (bank, card scheme, payment provider "
                                        "or crypto-currency exchange)")
        if not partner.active:
            raise AlertError("partner", f"partner: {partner.name} is not active")
        if reason not in REASONS:
            raise AlertError("reason", f"reason: one of {', '.join(REASONS)}")
        note = " ".join((reason_note or "").split()) or None
        if reason == "other" and not note:
            raise AlertError("reason_note", "reason_note: explain the reason 'other'")
        if note and len(note) > MAX_PURPOSE:
            raise AlertError("reason_note", f"reason_note: at most {MAX_PURPOSE} characters")
        dedupe = f"financial:{report_id}:{partner.id}:{mention.search_key}"
        existing = session.execute(select(FinancialAlert).join(Partner).where(
            FinancialAlert.report_id == report_id, FinancialAlert.partner_id == partner.id,
            FinancialAlert.search_key == mention.search_key)).scalar_one_or_none()
        if existing is not None:
            raise AlertError("identifier", f"identifier: already sent to {partner.name} as {existing.reference}")
        context: dict[str, Any] = {"report_reference": str(report_id), "identifier_kind": mention.kind,
                                   "identifier": mention.value, "reason": reason, "recipient_name": partner.name}
        if note:
            context["reason_note"] = note
        notice = self._notices.create(session, report_id=report_id, kind="financial_alert", dedupe=dedupe,
                                      language=language if language in (partner.languages or [language]) else
                                      (partner.languages or ["en"])[0],
                                      context=context, partner=partner, actor=actor)
        now = self._clock()
        alert = FinancialAlert(report_id=report_id, partner_id=partner.id, notice_id=notice.id,
                               reference=notice.reference, identifier_kind=mention.kind, identifier=mention.value,
                               search_key=mention.search_key, reason=reason, reason_note=note,
                               decided_by=_actor_ref(actor), decided_at=now)
        session.add(alert)
        session.flush()
        self._audit.record(session, AuditEvent.FINANCIAL_ALERT, actor, "report", str(report_id),
                           f"alert {partner.name}: {reason}",
                           {"reference": alert.reference, "partner_id": partner.id, "kind": mention.kind,
                            "search_key": mention.search_key, "channel": notice.channel})
        return alert

    def answer(self, session: Session, actor: Actor, reference: str, outcome: str,
               note: str | None = None) -> FinancialAlert:
        """Record the partner's answer (as received by e-mail, webhook reply or telephone)."""
        alert = session.execute(select(FinancialAlert).where(FinancialAlert.reference == reference)
                                .with_for_update()).scalar_one_or_none()
        if alert is None:
            raise AlertError("reference", f"reference: no financial alert {reference}")
        if outcome not in OUTCOMES:
            raise AlertError("outcome", f"outcome: one of {', '.join(OUTCOMES)}")
        text = " ".join((note or "").split()) or None
        if text and len(text) > MAX_PURPOSE:
            raise AlertError("note", f"note: at most {MAX_PURPOSE} characters")
        previous = alert.outcome
        alert.outcome, alert.outcome_note = outcome, text
        alert.outcome_at, alert.outcome_by = self._clock(), _actor_ref(actor)
        self._audit.record(session, AuditEvent.FINANCIAL_ANSWER, actor, "report", str(alert.report_id),
                           "record a financial partner's answer",
                           {"reference": reference, "outcome": outcome, "previous": previous})
        try:
            self._notices.acknowledge(session, reference, actor, {"outcome": outcome})
        except ValueError:
            pass  # a failed notice stays failed; the answer is recorded anyway
        return alert

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[FinancialAlert]:
        return list(session.execute(select(FinancialAlert).where(FinancialAlert.report_id == report_id)
                                    .order_by(FinancialAlert.id)).scalars())

    def figures(self, session: Session, since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
        """Alerts sent and their outcomes (for the transparency figures)."""
        query = select(FinancialAlert.outcome, func.count()).group_by(FinancialAlert.outcome)
        if since is not None:
            query = query.where(FinancialAlert.decided_at >= since)
        if until is not None:
            query = query.where(FinancialAlert.decided_at < until)
        counts = {outcome or "awaiting": n for outcome, n in session.execute(query).all()}
        return {"alerts": sum(counts.values()), **{k: int(v) for k, v in counts.items()}}
