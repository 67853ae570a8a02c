"""Notices: recorded and queued in the transaction that decides them, delivered by a durable
job, retried with backoff, finally marked failed and kept visible: the notice is ``failed``
(``balise notice list --status failed``) and so is its ``notice.send`` job (``balise jobs list
--status failed``). Either retry sends it again, once: ``balise notice retry REFERENCE`` puts
the failed job back in the queue, ``balise jobs retry ID`` makes the failed notice pending again.

Delivery is at least once: a worker killed between the recipient's acceptance and the commit
that records it sends again on the next attempt. Every delivery carries the notice reference
as its stable identity (the e-mail Message-ID, the webhook's Balise-Delivery header, the file
name of an export), so a recipient recognises a repeat; acknowledgements are recorded once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Notice, Partner, Report
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail
from balise.jobs.queue import JobQueue, PermanentJobFailure
from balise.takedown.ports import Deliverer, DeliveryProblem, Outgoing, Rendered

log = logging.getLogger("balise.notices")

NOTICE_SEND_JOB = "notice.send"
SYSTEM = Actor.system("notices")
# Attempts before a notice is marked failed (the job's backoff doubles each time: about 2 h).
MAX_ATTEMPTS = 12
# The notice decides when delivery has failed; its job only stops on its own after this many
# claims (a worker killed mid-send uses up a claim without a delivery attempt).
JOB_MAX_ATTEMPTS = 2 * MAX_ATTEMPTS
KINDS = ("host_notice", "hotline_referral", "police_forward", "escalation", "provider_feedback",
         "order_escalation", "financial_alert")


class RetryLater(RuntimeError):
    """Raised by the job handler so that the queue retries it with backoff."""


class NoticeFailed(PermanentJobFailure):
    """Raised by the job handler once the notice is marked failed, so that its job is too."""


Render = Callable[[str, str, dict[str, Any]], Rendered]
OnSent = Callable[[Session, Notice], None]


class Notices:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, jobs: JobQueue,
                 clock: Callable[[], datetime], render: Render, deliverer: Deliverer,
                 new_reference: Callable[[], str], webhook_secret: Callable[[Partner], str | None],
                 partner_slug: Callable[[Partner], str]) -> None:
        self._new_session = new_session
        self._audit = audit
        self._jobs = jobs
        self._clock = clock
        self._render = render
        self._deliverer = deliverer
        self._new_reference = new_reference
        self._webhook_secret = webhook_secret
        self._partner_slug = partner_slug
        self._on_sent: list[OnSent] = []
        self._on_acknowledged: list[OnSent] = []

    def on_sent(self, hook: OnSent) -> None:
        """Called in the transaction that records a delivery (e.g. to start removal checks)."""
        self._on_sent.append(hook)

    def on_acknowledged(self, hook: OnSent) -> None:
        """Called in the transaction that records the recipient's acknowledgement (once)."""
        self._on_acknowledged.append(hook)

    def create(self, session: Session, *, report_id: uuid.UUID | None, kind: str, dedupe: str, language: str,
               context: dict[str, Any], partner: Partner | None = None, recipient: str | None = None,
               channel: str | None = None, item_id: uuid.UUID | None = None,
               package: Any = None, actor: Actor = SYSTEM, order_id: uuid.UUID | None = None) -> Notice | None:
        """Record a notice and queue its delivery, in the caller's transaction. None when a
        notice with the same dedupe key exists (routing again creates nothing new). A notice is
        about a report, or about an order (``order_id``) whose URLs no report may concern."""
        if kind not in KINDS:
            raise ValueError(f"unknown notice kind {kind!r}")
        if report_id is None and order_id is None:
            raise ValueError("a notice is about a report or an order")
        if session.execute(select(Notice.id).where(Notice.dedupe == dedupe)).first():
            return None
        reference = self._new_reference()
        rendered = self._render(kind, language, {**context, "reference": reference})
        notice = Notice(reference=reference, dedupe=dedupe, report_id=report_id, order_id=order_id, item_id=item_id,
                        partner_id=partner.id if partner else None, kind=kind,
                        channel=channel or (partner.channel if partner else "email"),
                        recipient=recipient if recipient is not None else (partner.endpoint if partner else None),
                        language=rendered.language, subject=rendered.subject, body=rendered.body,
                        package_id=getattr(package, "package_id", None),
                        package_sha256=getattr(package, "sha256", None),
                        package_path=str(package.path) if package is not None else None,
                        status="pending", attempts=0, created_at=self._clock())
        session.add(notice)
        session.flush()
        self._enqueue_send(session, notice)
        self._audit.record(session, AuditEvent.NOTICE_CREATE, actor, "notice", reference, f"queue a {kind}",
                           {"report_id": str(report_id) if report_id else None, "kind": kind,
                            "channel": notice.channel, "partner_id": notice.partner_id,
                            **({"order_id": str(order_id)} if order_id else {})})
        return notice

    # -- delivery (the job) --------------------------------------------------------------

    def handle_send(self, payload: dict[str, Any]) -> None:
        notice_id = int(payload["notice_id"])
        with self._new_session() as session:
            notice = session.get(Notice, notice_id)
            if notice is None or notice.status != "pending":
                return  # already delivered, failed or cancelled: nothing to do twice
            partner = session.get(Partner, notice.partner_id) if notice.partner_id else None
            outgoing = Outgoing(
                reference=notice.reference, kind=notice.kind, channel=notice.channel, recipient=notice.recipient,
                subject=notice.subject, body=notice.body, language=notice.language,
                partner_name=partner.name if partner else None,
                partner_slug=self._partner_slug(partner) if partner else None,
                webhook_secret=self._webhook_secret(partner) if partner and notice.channel == "webhook" else None,
                package_path=notice.package_path, package_id=notice.package_id,
                package_sha256=notice.package_sha256,
                report_id=str(notice.report_id) if notice.report_id else None,
                order_id=str(notice.order_id) if notice.order_id else None)
        # The delivery runs outside any transaction: a slow recipient holds no lock.
        try:
            receipt = self._deliverer.deliver(outgoing)
        except DeliveryProblem as exc:
            self._record_failure(notice_id, str(exc), permanent=not exc.retryable, retry_after=exc.retry_after)
            return
        except Exception as exc:  # noqa: BLE001 - an adapter bug is retried like a network error
            self._record_failure(notice_id, f"{type(exc).__name__}: {exc}", permanent=False)
            return
        with self._new_session() as session, session.begin():
            notice = session.get(Notice, notice_id, with_for_update=True)
            if notice is None or notice.status != "pending":
                return
            now = self._clock()
            notice.status, notice.sent_at, notice.attempts = "sent", now, notice.attempts + 1
            notice.last_error = None
            if receipt:
                notice.receipt = receipt
            self._audit.record(session, AuditEvent.NOTICE_SEND, SYSTEM, "notice", notice.reference,
                               f"deliver a {notice.kind}", {"channel": notice.channel, "attempt": notice.attempts})
            if receipt and receipt.get("acknowledged"):
                notice.status, notice.acknowledged_at = "acknowledged", now
                self._audit.record(session, AuditEvent.NOTICE_ACKNOWLEDGE, SYSTEM, "notice", notice.reference,
                                   "the recipient acknowledged the delivery", {"kind": notice.kind})
            for hook in self._on_sent:
                hook(session, notice)
            if notice.acknowledged_at is not None:
                for hook in self._on_acknowledged:
                    hook(session, notice)

    def _record_failure(self, notice_id: int, error: str, *, permanent: bool, retry_after: float | None = None) -> None:
        with self._new_session() as session, session.begin():
            notice = session.get(Notice, notice_id, with_for_update=True)
            if notice is None or notice.status != "pending":
                return
            notice.attempts += 1
            notice.last_error = error[-2000:]
            failed = permanent or notice.attempts >= MAX_ATTEMPTS
            if failed:
                notice.status, notice.failed_at = "failed", self._clock()
                self._audit.record(session, AuditEvent.NOTICE_FAIL, SYSTEM, "notice", notice.reference,
                                   "delivery failed", {"attempts": notice.attempts, "permanent": permanent})
            elif retry_after is not None and retry_after > 0:
                # The recipient said when to come back: a new attempt then, instead of backoff.
                self._enqueue_send(session, notice, run_at=self._clock() + timedelta(seconds=min(retry_after, 86400)))
                return
        if failed:
            # Committed above: the notice is failed; now its job is marked failed too.
            why = "refused permanently" if permanent else f"failed {MAX_ATTEMPTS} times"
            raise NoticeFailed(f"{error} (notice {notice_id}: delivery {why}, the notice is failed)")
        raise RetryLater(f"notice {notice_id}: {error}")

    def _enqueue_send(self, session: Session, notice: Notice, run_at: datetime | None = None) -> None:
        self._jobs.enqueue(session, NOTICE_SEND_JOB, {"notice_id": notice.id}, run_at=run_at,
                           dedupe_key=f"notice:{notice.id}", max_attempts=JOB_MAX_ATTEMPTS)

    def retry(self, session: Session, reference: str, actor: Actor = SYSTEM) -> Notice:
        """Send a failed notice again (after fixing the partner's endpoint). Its failed job
        goes back in the queue, so `balise jobs list` shows the same job pending again."""
        notice = session.execute(select(Notice).where(Notice.reference == reference).with_for_update()).scalar_one_or_none()
        if notice is None:
            raise LookupError(f"no notice {reference}")
        if notice.status != "failed":
            raise ValueError(f"notice {reference} is {notice.status}, not failed")
        report = session.get(Report, notice.report_id) if notice.report_id else None
        if report is not None and report.redacted_at is not None:
            raise ValueError(f"notice {reference} belongs to a report redacted by retention on "
                             f"{report.redacted_at:%Y-%m-%d}: its text is gone")
        self._reopen(session, notice, actor)
        if not self._jobs.reset_failed(session, f"notice:{notice.id}"):
            self._enqueue_send(session, notice)
        return notice

    def job_retried(self, session: Session, payload: dict[str, Any], actor: Actor = SYSTEM) -> None:
        """`balise jobs retry` of a notice.send job (a JobQueue retry hook, in its transaction):
        a failed notice becomes pending again, as with `balise notice retry`; a notice in any
        other state is left alone, and the job then finds nothing to send."""
        notice = session.get(Notice, int(payload["notice_id"]), with_for_update=True)
        if notice is None or notice.status != "failed":
            return
        report = session.get(Report, notice.report_id) if notice.report_id else None
        if report is not None and report.redacted_at is not None:
            return  # its text is gone: the notice stays failed and the job finds nothing to send
        self._reopen(session, notice, actor)

    def _reopen(self, session: Session, notice: Notice, actor: Actor) -> None:
        partner = session.get(Partner, notice.partner_id) if notice.partner_id else None
        if partner is not None:
            # The notice copied the partner's channel when it was created; the fix the
            # operator just made to the partner is what the retry must use.
            notice.channel, notice.recipient = partner.channel, partner.endpoint
        notice.status, notice.attempts, notice.failed_at = "pending", 0, None
        self._audit.record(session, AuditEvent.NOTICE_RETRY, actor, "notice", notice.reference,
                           "send a failed notice again", {"channel": notice.channel, "partner_id": notice.partner_id})

    def acknowledge(self, session: Session, reference: str, actor: Actor,
                    receipt: dict[str, Any] | None = None) -> tuple[Notice, bool]:
        """Record the recipient's acknowledgement once; a duplicate returns (notice, False)."""
        notice = session.execute(select(Notice).where(Notice.reference == reference).with_for_update()).scalar_one_or_none()
        if notice is None:
            raise LookupError(f"no notice {reference}")
        if notice.acknowledged_at is not None:
            return notice, False
        if notice.status not in ("sent", "pending"):
            raise ValueError(f"notice {reference} is {notice.status}: nothing to acknowledge")
        notice.acknowledged_at = self._clock()
        notice.status = "acknowledged"
        if receipt:
            notice.receipt = {**(notice.receipt or {}), **receipt}
        self._audit.record(session, AuditEvent.NOTICE_ACKNOWLEDGE, actor, "notice", notice.reference,
                           "recipient acknowledged", {"kind": notice.kind})
        for hook in self._on_acknowledged:
            hook(session, notice)
        return notice, True

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[Notice]:
        return list(session.execute(select(Notice).where(Notice.report_id == report_id).order_by(Notice.id)).scalars())
