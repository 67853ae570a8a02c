"""Retention (docs/retention.md): nothing is kept past its retention.

A periodic job (and ``balise retention run``) works in bounded batches:

* **Reports** closed manifestly unfounded, forwarded or retracted are *redacted* once their
  retention has passed: personal data and content are deleted, the row stays as a statistical
  skeleton (``reports.redacted_at``). One transaction per report: the row is locked and every
  condition checked again inside it, so two workers never process a report twice and a crash
  loses nothing (the next run does what was not committed). Vault content is forgotten in the
  transaction and its bytes purged after the commit; content another live record still refers
  to stays (the vault's foreign keys decide).
* A report that is due is **exempt** while a law-enforcement hold applies, a takedown is still
  being verified, a notice is still to be delivered, or it is the source of an indicator that is
  still candidate (or awaiting an authority), active or suspended. The exemption ends with its cause.
* A **public reporter's** optional name, email and IP are deleted a while after the report is
  closed, and in any case a while after it was filed.
* **Housekeeping**: done jobs, old Idempotency-Keys and expired RDAP cache rows are deleted.

Every redaction is audited (``report:redact``, with categories and counts, never the data);
each run ends with a ``retention:run`` summary.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    EntityMention,
    EvidencePackage,
    EvidencePackageEvent,
    Hold,
    IdempotencyKey,
    Indicator,
    IspwsReport,
    Job,
    Notice,
    ReferralReceived,
    ReferralSent,
    PublicReport,
    RdapCacheEntry,
    Report,
    ReportEvent,
    RevealToken,
    Takedown,
    TakedownCheck,
    UrlHosting,
)
from balise.domain.audit import AuditEvent
from balise.domain.exposure import REVEAL_TOKEN_KEEP
from balise.domain.indicators import Algorithm
from balise.domain.retention import (
    CONTACT_RULES,
    HOUSEKEEPING_RULES,
    LIVE_INDICATOR_STATUSES,
    OPEN_NOTICE_STATUSES,
    OPEN_TAKEDOWN_STATUSES,
    REPORT_RULES,
    RULE_STATES,
    RULE_TEXT,
    Exemption,
    Policy,
    Rule,
    redaction_marker,
    rule_for_state,
)
from balise.domain.states import TERMINAL_STATES
from balise.governance.audit import AuditTrail
from balise.takedown.routing import ROUTE_JOB

log = logging.getLogger("balise.retention")

RETENTION_ACTOR = Actor.system("retention")
INDICATOR_ALGORITHMS = (Algorithm.MD5.value, Algorithm.VIDEO_MD5.value, Algorithm.SHA256.value, Algorithm.PDQ.value)
TERMINAL = tuple(sorted(s.value for s in TERMINAL_STATES))


class Vault(Protocol):
    def forget(self, session: Session, sha256: str, actor: Actor, purpose: str) -> bool: ...

    def purge(self, new_session: Callable[[], Session], sha256: str) -> None: ...


class ActiveHoldsView(Protocol):
    @property
    def any(self) -> bool: ...

    do_not_inform_until: datetime | None
    do_not_remove_until: datetime | None


class HoldsView(Protocol):
    def active(self, session: Session, report_id: uuid.UUID) -> ActiveHoldsView: ...


class LocalCopies(Protocol):
    """Files the centre keeps outside the database: evidence package zips, exported notices,
    outbox emails."""

    def delete_package(self, path: str) -> bool: ...

    def delete_notice_copies(self, reference: str, package_file: str | None) -> int: ...


@dataclass
class DueReport:
    report_id: uuid.UUID
    rule: Rule
    closed_at: datetime
    due_at: datetime
    exemptions: list[tuple[Exemption, str]] = field(default_factory=list)
    removes: Counter[str] = field(default_factory=Counter)


@dataclass
class RunResult:
    """What one run removed (or, for a dry run, would remove)."""

    dry_run: bool
    started_at: datetime
    redacted: dict[Rule, list[str]] = field(default_factory=lambda: {r: [] for r in REPORT_RULES})
    exempt: dict[Exemption, list[tuple[str, str]]] = field(default_factory=lambda: {e: [] for e in Exemption})
    contacts: dict[Rule, list[str]] = field(default_factory=lambda: {r: [] for r in CONTACT_RULES})
    removed: Counter[str] = field(default_factory=Counter)
    removed_by_rule: dict[Rule, Counter[str]] = field(
        default_factory=lambda: {r: Counter() for r in REPORT_RULES + CONTACT_RULES})
    housekeeping: dict[Rule, int] = field(default_factory=lambda: {r: 0 for r in HOUSEKEEPING_RULES})
    failed: list[tuple[str, str]] = field(default_factory=list)
    complete: bool = True

    def summary(self) -> dict[str, Any]:
        """The audit details of ``retention:run``: counts only, never data."""
        return {
            "dry_run": self.dry_run,
            "complete": self.complete,
            "reports_redacted": {r.value: len(ids) for r, ids in self.redacted.items()},
            "reports_exempt": {e.value: len(ids) for e, ids in self.exempt.items()},
            "public_contacts_deleted": {r.value: len(ids) for r, ids in self.contacts.items()},
            "removed": dict(sorted(self.removed.items())),
            "removed_by_rule": {r.value: dict(sorted(c.items())) for r, c in self.removed_by_rule.items() if c},
            "rows_deleted": {r.value: n for r, n in self.housekeeping.items()},
            "failed": [report_id for report_id, _ in self.failed],
        }


@dataclass
class RuleStatus:
    rule: Rule
    period_days: int | None
    due_now: int
    next_due: datetime | None
    exempt: Counter[str] = field(default_factory=Counter)


@dataclass
class Status:
    at: datetime
    rules: list[RuleStatus]
    open_reports: int
    redacted_reports: int


class Retention:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, vault: Vault, holds: HoldsView,
                 clock: Callable[[], datetime], policy: Policy, copies: LocalCopies, *, batch_size: int = 200) -> None:
        self._new_session = new_session
        self._audit = audit
        self._vault = vault
        self._holds = holds
        self._clock = clock
        self.policy = policy
        self._copies = copies
        self._batch = batch_size

    # -- the run -------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, budget_seconds: float | None = None,
            actor: Actor = RETENTION_ACTOR) -> RunResult:
        """Redact the reports that are due, delete due reporter contacts, then housekeeping.
        ``dry_run`` changes nothing and writes nothing. ``budget_seconds`` stops a periodic run
        between two reports (the next run goes on), so a large backlog never outlives a job lease."""
        now = self._clock()
        result = RunResult(dry_run=dry_run, started_at=now)
        deadline = time.monotonic() + budget_seconds if budget_seconds is not None else None

        def out_of_time() -> bool:
            if deadline is not None and time.monotonic() > deadline:
                result.complete = False
                return True
            return False

        for rule in REPORT_RULES:
            for report_id in self._due_report_ids(rule, now):
                if out_of_time():
                    break
                self._one_report(report_id, rule, now, result, dry_run, actor)
        for rule in CONTACT_RULES:
            for report_id in self._due_contact_ids(rule, now):
                if out_of_time():
                    break
                self._one_contact(report_id, rule, now, result, dry_run, actor)
        for rule in HOUSEKEEPING_RULES:
            if out_of_time():
                break
            result.housekeeping[rule] = self._housekeeping(rule, now, dry_run)
        if not dry_run:
            with self._new_session() as session, session.begin():
                self._audit.record(session, AuditEvent.RETENTION_RUN, actor, "retention", "run",
                                   "retention run", result.summary())
        return result

    def _one_report(self, report_id: uuid.UUID, rule: Rule, now: datetime, result: RunResult, dry_run: bool,
                    actor: Actor) -> None:
        try:
            if dry_run:
                with self._new_session() as session:
                    report = session.get(Report, report_id)
                    due = self._check(session, report, rule, now) if report is not None else None
                    if due is not None and not due.exemptions:
                        due.removes = self._strip(session, report, now, rule, apply=False)[0]  # type: ignore[arg-type]
            else:
                due = self._redact(report_id, rule, now, actor)
        except Exception as exc:  # noqa: BLE001 - one report's failure must not stop the others
            log.exception("retention of report %s failed", report_id)
            result.failed.append((str(report_id), f"{type(exc).__name__}: {exc}"[:300]))
            return
        if due is None:
            return  # no longer due (redacted by another worker, or changed)
        if due.exemptions:
            for code, detail in due.exemptions:
                result.exempt[code].append((str(report_id), detail))
            return
        result.redacted[rule].append(str(report_id))
        result.removed.update(due.removes)
        result.removed_by_rule[rule].update(due.removes)

    def _redact(self, report_id: uuid.UUID, rule: Rule, now: datetime, actor: Actor) -> DueReport | None:
        gone: list[str] = []
        with self._new_session() as session, session.begin():
            # The row lock serialises two workers; the conditions are checked again under it.
            report = session.get(Report, report_id, with_for_update=True)
            if report is None:
                return None
            due = self._check(session, report, rule, now)
            if due is None or due.exemptions:
                return due
            due.removes, gone = self._strip(session, report, now, rule, apply=True, actor=actor)
            report.redacted_at = report.updated_at = now
            self._audit.record(session, AuditEvent.REPORT_REDACT, actor, "report", str(report.id), RULE_TEXT[rule], {
                "rule": rule.value, "closed_at": due.closed_at.isoformat(), "due_at": due.due_at.isoformat(),
                "retention_days": self.policy.period(rule).days, "removed": dict(sorted(due.removes.items())),
            })
        for sha in gone:
            try:
                self._vault.purge(self._new_session, sha)
            except OSError as exc:
                # An encrypted object no record refers to (logged), never a record without its object.
                log.error("a forgotten vault object's encrypted file could not be removed: %s", exc.strerror)
        return due

    # -- which reports are due, and which are exempt -----------------------------------------

    @staticmethod
    def _closed_at_expr() -> Any:
        """When the report entered its current (terminal) state: its transition event."""
        entered = (select(func.max(ReportEvent.occurred_at))
                   .where(ReportEvent.report_id == Report.id, ReportEvent.to_state == Report.state)
                   .correlate(Report).scalar_subquery())
        return func.coalesce(entered, Report.decided_at, Report.updated_at)

    def _due_report_ids(self, rule: Rule, now: datetime) -> Iterator[uuid.UUID]:
        """Due, unredacted reports of a rule in id order, a page at a time (keyset), so that
        exempt reports never hold up the ones behind them."""
        cutoff = self.policy.cutoff(rule, now)
        closed = self._closed_at_expr()
        yield from self._keyset_pages(
            select(Report.id).where(Report.state.in_(RULE_STATES[rule]), Report.redacted_at.is_(None), closed <= cutoff),
            Report.id)

    def _closed_at(self, session: Session, report: Report) -> datetime:
        entered = session.execute(select(func.max(ReportEvent.occurred_at)).where(
            ReportEvent.report_id == report.id, ReportEvent.to_state == report.state)).scalar()
        return entered or report.decided_at or report.updated_at

    def _check(self, session: Session, report: Report, rule: Rule, now: datetime) -> DueReport | None:
        if report.redacted_at is not None or rule_for_state(report.state) is not rule:
            return None
        closed_at = self._closed_at(session, report)
        due_at = closed_at + self.policy.period(rule)
        if due_at > now:
            return None
        return DueReport(report.id, rule, closed_at, due_at, self.exemptions(session, report, now))

    def exemptions(self, session: Session, report: Report, now: datetime) -> list[tuple[Exemption, str]]:
        found: list[tuple[Exemption, str]] = []
        holds = self._holds.active(session, report.id)
        if holds.any:
            until = max(d for d in (holds.do_not_inform_until, holds.do_not_remove_until) if d is not None)
            found.append((Exemption.HOLD, f"hold until {until:%Y-%m-%d}"))
        statuses = Counter(session.execute(select(Takedown.status).where(
            Takedown.report_id == report.id, Takedown.status.in_(OPEN_TAKEDOWN_STATUSES))).scalars())
        # A referral between installations is open until its outcome is known (docs/federation.md).
        referrals = session.execute(select(func.count()).select_from(ReferralSent).where(
            ReferralSent.report_id == report.id, ReferralSent.status.in_(("pending", "acknowledged")))).scalar_one()
        referrals += session.execute(select(func.count()).select_from(ReferralReceived).where(
            ReferralReceived.report_id == report.id, ReferralReceived.status == "open")).scalar_one()
        if statuses or referrals:
            found.append((Exemption.TAKEDOWN, ", ".join([f"{n} URL(s) {s}" for s, n in sorted(statuses.items())]
                                                        + ([f"{referrals} referral(s) open"] if referrals else []))))
        indicators = self._live_indicators(session, report)
        if indicators:
            found.append((Exemption.INDICATOR, "indicator(s) " + ", ".join(f"#{i}" for i in indicators)))
        notices = Counter(session.execute(select(Notice.status).where(
            Notice.report_id == report.id, Notice.status.in_(OPEN_NOTICE_STATUSES))).scalars())
        # Routing acts on forwarded reports only (a hold that ends queues it for any report).
        routing = report.state in RULE_STATES[Rule.FORWARDED] and session.execute(select(Job.id).where(
            Job.kind == ROUTE_JOB, Job.dedupe_key == f"route:{report.id}",
            Job.status.in_(("pending", "running"))).limit(1)).first()
        if notices or routing:
            parts = [f"{n} notice(s) {s}" for s, n in sorted(notices.items())] + (["routing queued"] if routing else [])
            found.append((Exemption.DELIVERY, ", ".join(parts)))
        return found

    @staticmethod
    def _live_indicators(session: Session, report: Report) -> list[int]:
        """Indicators generated from this report's items (their provenance names the report)
        and still in use. Looked up by the items' hashes, which the (algorithm, value) index
        answers, then checked against the provenance."""
        values = set()
        for item in report.items:
            values.update(v for v in (item.md5, item.sha256, (item.hashes or {}).get("pdq")) if v)
        if not values:
            return []
        rows = session.execute(select(Indicator.id, Indicator.provenance).where(
            Indicator.algorithm.in_(INDICATOR_ALGORITHMS), Indicator.value.in_(sorted(values)),
            Indicator.status.in_(LIVE_INDICATOR_STATUSES))).all()
        return sorted(i for i, provenance in rows
                      if str(((provenance or {}).get("assessment") or {}).get("report")) == str(report.id))

    # -- redaction ---------------------------------------------------------------------------

    def _strip(self, session: Session, report: Report, now: datetime, rule: Rule, *, apply: bool,
               actor: Actor = RETENTION_ACTOR) -> tuple[Counter[str], list[str]]:
        """Remove (``apply``) or count what redaction removes. Returns the counts per category
        and the vault objects forgotten (to purge after the commit)."""
        removed: Counter[str] = Counter()
        marker = redaction_marker(now)
        purpose = f"retention: {RULE_TEXT[rule]}"

        persons = list(report.persons)
        removed["persons"] += len(persons)
        removed["person_identifiers"] += sum(len(p.identifiers) for p in persons)
        if apply:
            report.persons.clear()  # delete-orphan: the persons and their identifiers go
        # The cross-report entity index holds the same values in normal form (docs/intelligence.md).
        mentions = session.execute(select(func.count()).select_from(EntityMention)
                                   .where(EntityMention.report_id == report.id)).scalar_one()
        if mentions:
            removed["entity_mentions"] += mentions
            if apply:
                session.execute(delete(EntityMention).where(EntityMention.report_id == report.id))
        removed["victims"] += len(report.victims or [])
        for name in ("geolocation", "provider_contact"):
            if getattr(report, name):
                removed[name] += 1
        for name in ("additional_info", "outcome_text", "information_request", "service_url", "awareness_detail",
                     "provider_signature", "reported_elsewhere_reference"):
            if getattr(report, name):
                removed["report_texts"] += 1
        if apply:
            for name in ("victims", "geolocation", "provider_contact", "additional_info", "outcome_text",
                         "information_request", "service_url", "awareness_detail", "provider_signature",
                         "reported_elsewhere_reference"):
                setattr(report, name, None)
            # Codes and points stay (why it was prioritised); the sentences may describe a victim.
            report.priority_reasons = [{"code": r.get("code"), "points": r.get("points")}
                                       for r in (report.priority_reasons or [])] or None
        for event in report.events:
            if event.reason:
                removed["event_reasons"] += 1
                if apply:
                    event.reason = None

        objects: list[str] = []
        for item in report.items:
            if item.url or item.filename or item.media_metadata:
                removed["item_details"] += 1
            if item.vault_object:
                objects.append(item.vault_object)
            if apply:
                # Hashes, PDQ, classification and times reported stay: not personal data, and
                # the duplicate and re-use statistics need them.
                item.url = item.filename = item.media_metadata = item.vault_object = None
                item.hash_error = None

        for staged in session.execute(select(IspwsReport).where(IspwsReport.report_id == report.id)).scalars():
            staged_objects = [staged.document_object] + [o for f in staged.files
                                                          for o in (f.vault_object, f.details_object)]
            if staged.document_object:
                removed["ncmec_documents"] += 1
            removed["ncmec_staged_files"] += len(staged.files)
            objects.extend(o for o in staged_objects if o)
            if apply:
                staged.files.clear()
                staged.document_object = None

        for hosting in session.execute(select(UrlHosting).where(UrlHosting.report_id == report.id)).scalars():
            if hosting.host or hosting.final_url or hosting.address or hosting.abuse_email:
                removed["url_hosting"] += 1
            if apply:
                # Country, network operator, CDN and fetch status stay for the NTD figures.
                hosting.host = hosting.final_url = hosting.address = hosting.addresses = None
                hosting.abuse_email = hosting.abuse_name = hosting.fetch_error = hosting.rdap_error = None

        for takedown in session.execute(select(Takedown).where(Takedown.report_id == report.id)).scalars():
            removed["takedown_urls"] += 1
            if apply:
                takedown.url = marker  # timestamps and status stay: they are the NTD figures
                for check in session.execute(select(TakedownCheck).where(TakedownCheck.item_id == takedown.item_id)).scalars():
                    check.detail = None

        # Referrals keep partner, status, outcome and times (the NTD figures), not the URL.
        for referral in [*session.execute(select(ReferralSent).where(ReferralSent.report_id == report.id)).scalars(),
                         *session.execute(select(ReferralReceived).where(
                             ReferralReceived.report_id == report.id)).scalars()]:
            if referral.url is not None:
                removed["referral_urls"] += 1
                if apply:
                    referral.url = None

        for notice in session.execute(select(Notice).where(Notice.report_id == report.id)).scalars():
            removed["notice_texts"] += 1
            if apply:
                notice.subject = notice.body = marker
                notice.last_error = None
                if notice.partner_id is None:
                    notice.recipient = None  # a host's or provider's address, not a directory entry
                package_file = Path(notice.package_path).name if notice.package_path else None
                removed["notice_files"] += self._copies.delete_notice_copies(notice.reference, package_file)

        for hold in session.execute(select(Hold).where(Hold.report_id == report.id)).scalars():
            if hold.reason:
                removed["hold_reasons"] += 1
                if apply:
                    hold.reason = None

        packages = session.execute(select(EvidencePackage).where(
            EvidencePackage.report_id == report.id, EvidencePackage.file_deleted_at.is_(None))).scalars().all()
        for package in packages:
            removed["package_files"] += 1
            if apply:
                existed = self._copies.delete_package(package.path)
                package.file_deleted_at = now
                record = self._audit.record(session, AuditEvent.PACKAGE_DELETE, actor, "package", str(package.id),
                                            purpose, {"report": str(report.id), "sha256": package.sha256,
                                                      "file_existed": existed})
                package.events.append(EvidencePackageEvent(
                    kind="deleted", occurred_at=now, actor_type=actor.type.value, actor_id=actor.id,
                    details={"by": "retention", "rule": rule.value}, audit_seq=record.seq))

        public = session.get(PublicReport, report.id)
        if public is not None and (public.reporter_name or public.reporter_email or public.reporter_ip):
            removed["public_contact"] += 1
            if apply:
                public.reporter_name = public.reporter_email = public.reporter_ip = None
                public.contact_deleted_at = now

        keys = session.execute(select(IdempotencyKey.id).where(IdempotencyKey.report_id == report.id)).scalars().all()
        removed["idempotency_keys"] += len(keys)
        if apply and keys:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(keys)))

        gone: list[str] = []
        unique = list(dict.fromkeys(objects))
        if not apply:
            removed["vault_objects"] += len(unique)
        else:
            session.flush()  # no row of this report refers to the objects any more
            for sha in unique:
                if self._vault.forget(session, sha, actor, purpose):
                    gone.append(sha)
                    removed["vault_objects"] += 1
                else:
                    removed["vault_objects_kept_shared"] += 1
        return +removed, gone

    # -- public reporters' contact ---------------------------------------------------------

    @staticmethod
    def _has_contact() -> Any:
        return or_(PublicReport.reporter_name.is_not(None), PublicReport.reporter_email.is_not(None),
                   PublicReport.reporter_ip.is_not(None))

    def _due_contact_query(self, rule: Rule, now: datetime) -> Any:
        cutoff = self.policy.cutoff(rule, now)
        query = select(PublicReport.report_id).where(self._has_contact())
        if rule is Rule.PUBLIC_CONTACT:
            return (query.join(Report, Report.id == PublicReport.report_id)
                    .where(Report.state.in_(TERMINAL), self._closed_at_expr() <= cutoff))
        return query.where(PublicReport.created_at <= cutoff)

    def _due_contact_ids(self, rule: Rule, now: datetime) -> Iterator[uuid.UUID]:
        yield from self._keyset_pages(self._due_contact_query(rule, now), PublicReport.report_id)

    def _keyset_pages(self, query: Any, key: Any) -> Iterator[uuid.UUID]:
        """The ids ``query`` selects, a batch per short read-only session, in ``key`` order: each
        page starts after the last id seen, so a record processed (and changed) meanwhile is not
        read again and the walk ends however many records the run changes."""
        after: uuid.UUID | None = None
        while True:
            page_query = query.order_by(key).limit(self._batch)
            if after is not None:
                page_query = page_query.where(key > after)
            with self._new_session() as session:
                page = list(session.execute(page_query).scalars())
            yield from page
            if len(page) < self._batch:
                return
            after = page[-1]

    def _contact_due(self, session: Session, row: PublicReport, rule: Rule, now: datetime) -> datetime | None:
        if not (row.reporter_name or row.reporter_email or row.reporter_ip):
            return None
        if rule is Rule.PUBLIC_CONTACT:
            report = session.get(Report, row.report_id)
            if report is None or report.state not in TERMINAL:
                return None
            due_at = self._closed_at(session, report) + self.policy.public_contact
        else:
            due_at = row.created_at + self.policy.public_contact_max
        return due_at if due_at <= now else None

    def _one_contact(self, report_id: uuid.UUID, rule: Rule, now: datetime, result: RunResult, dry_run: bool,
                     actor: Actor) -> None:
        try:
            if dry_run:
                with self._new_session() as session:
                    row = session.get(PublicReport, report_id)
                    due_at = self._contact_due(session, row, rule, now) if row is not None else None
            else:
                due_at = self._delete_contact(report_id, rule, now, actor)
        except Exception as exc:  # noqa: BLE001 - one failure must not stop the others
            log.exception("retention of the reporter contact of report %s failed", report_id)
            result.failed.append((str(report_id), f"{type(exc).__name__}: {exc}"[:300]))
            return
        if due_at is not None:
            result.contacts[rule].append(str(report_id))
            result.removed["public_contact"] += 1
            result.removed_by_rule[rule]["public_contact"] += 1

    def _delete_contact(self, report_id: uuid.UUID, rule: Rule, now: datetime, actor: Actor) -> datetime | None:
        with self._new_session() as session, session.begin():
            row = session.execute(select(PublicReport).where(PublicReport.report_id == report_id)
                                  .with_for_update()).scalar_one_or_none()
            due_at = self._contact_due(session, row, rule, now) if row is not None else None
            if row is None or due_at is None:
                return None  # deleted meanwhile (another worker, or the report's redaction)
            fields = [name for name, value in (("name", row.reporter_name), ("email", row.reporter_email),
                                               ("ip", row.reporter_ip)) if value]
            row.reporter_name = row.reporter_email = row.reporter_ip = None
            row.contact_deleted_at = now
            self._audit.record(session, AuditEvent.REPORTER_CONTACT_DELETE, actor, "report", str(report_id),
                               RULE_TEXT[rule], {"rule": rule.value, "fields": fields, "due_at": due_at.isoformat()})
            return due_at

    # -- housekeeping ------------------------------------------------------------------------

    def _housekeeping_target(self, rule: Rule, now: datetime) -> tuple[Any, Any, Any]:
        """(table, key column, condition) of the rows a housekeeping rule deletes."""
        if rule is Rule.JOBS:
            # Failed jobs stay visible (balise jobs list) until someone retries them.
            return Job, Job.id, (Job.status == "done") & (Job.finished_at <= self.policy.cutoff(rule, now))
        if rule is Rule.IDEMPOTENCY_KEYS:
            return IdempotencyKey, IdempotencyKey.id, IdempotencyKey.created_at <= self.policy.cutoff(rule, now)
        if rule is Rule.REVEAL_TOKENS:
            # Kept a little past expiry so that a late use is refused as "expired", not "unknown".
            return RevealToken, RevealToken.digest, RevealToken.expires_at <= now - REVEAL_TOKEN_KEEP
        return RdapCacheEntry, RdapCacheEntry.key, RdapCacheEntry.expires_at <= now

    def _housekeeping(self, rule: Rule, now: datetime, dry_run: bool) -> int:
        table, key, condition = self._housekeeping_target(rule, now)
        if dry_run:
            with self._new_session() as session:
                return int(session.execute(select(func.count()).select_from(table).where(condition)).scalar() or 0)
        total = 0
        while True:
            with self._new_session() as session, session.begin():
                keys = session.execute(select(key).where(condition).limit(self._batch)).scalars().all()
                if keys:
                    deleted = session.execute(delete(table).where(key.in_(keys)).execution_options(
                        synchronize_session=False))
                    total += deleted.rowcount or 0  # type: ignore[attr-defined]
            if len(keys) < self._batch:
                return total

    # -- status ------------------------------------------------------------------------------

    def status(self) -> Status:
        """For each rule: how many records are due now, when the next one falls due, and the
        due reports that are exempt, counted by reason. Reads only."""
        now = self._clock()
        rules: list[RuleStatus] = []
        closed = self._closed_at_expr()
        for rule in REPORT_RULES:
            period = self.policy.period(rule)
            entry = RuleStatus(rule, period.days, 0, None)
            for report_id in self._due_report_ids(rule, now):
                with self._new_session() as session:
                    report = session.get(Report, report_id)
                    due = self._check(session, report, rule, now) if report is not None else None
                if due is None:
                    continue
                if due.exemptions:
                    entry.exempt.update(code.value for code, _ in due.exemptions)
                else:
                    entry.due_now += 1
            with self._new_session() as session:
                first = session.execute(select(func.min(closed)).where(
                    Report.state.in_(RULE_STATES[rule]), Report.redacted_at.is_(None),
                    closed > self.policy.cutoff(rule, now))).scalar()
            entry.next_due = _aware(first) + period if first is not None else None
            rules.append(entry)
        for rule in CONTACT_RULES:
            period = self.policy.period(rule)
            entry = RuleStatus(rule, period.days, 0, None)
            with self._new_session() as session:
                entry.due_now = int(session.execute(select(func.count()).select_from(
                    self._due_contact_query(rule, now).subquery())).scalar() or 0)
                start = closed if rule is Rule.PUBLIC_CONTACT else PublicReport.created_at
                query = select(func.min(start)).select_from(PublicReport).where(
                    self._has_contact(), start > self.policy.cutoff(rule, now))
                if rule is Rule.PUBLIC_CONTACT:
                    query = query.join(Report, Report.id == PublicReport.report_id).where(Report.state.in_(TERMINAL))
                first = session.execute(query).scalar()
            entry.next_due = _aware(first) + period if first is not None else None
            rules.append(entry)
        for rule in HOUSEKEEPING_RULES:
            table, _, condition = self._housekeeping_target(rule, now)
            period = self.policy.period(rule)
            with self._new_session() as session:
                due_now = int(session.execute(select(func.count()).select_from(table).where(condition)).scalar() or 0)
                if rule is Rule.JOBS:
                    first = session.execute(select(func.min(Job.finished_at)).where(
                        Job.status == "done", Job.finished_at > self.policy.cutoff(rule, now))).scalar()
                elif rule is Rule.IDEMPOTENCY_KEYS:
                    first = session.execute(select(func.min(IdempotencyKey.created_at)).where(
                        IdempotencyKey.created_at > self.policy.cutoff(rule, now))).scalar()
                else:
                    first = session.execute(select(func.min(RdapCacheEntry.expires_at)).where(
                        RdapCacheEntry.expires_at > now)).scalar()
            rules.append(RuleStatus(rule, period.days if period else None, due_now,
                                    _aware(first) + period if first is not None else None))
        with self._new_session() as session:
            open_reports = int(session.execute(select(func.count()).select_from(Report).where(
                Report.state.not_in(TERMINAL))).scalar() or 0)
            redacted = int(session.execute(select(func.count()).select_from(Report).where(
                Report.redacted_at.is_not(None))).scalar() or 0)
        return Status(now, rules, open_reports, redacted)


def _aware(value: datetime) -> datetime:
    """Aggregates (min, max) bypass the column type: SQLite hands them back as naive UTC text."""
    from datetime import timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)

