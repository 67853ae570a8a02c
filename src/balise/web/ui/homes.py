"""What each role's home page shows (docs/workbench.md, "Home pages"): read-only summaries of
the work waiting for that role, each linking to the page where it is done.

* analyst and senior analyst: their claims, the queue by urgency (unclaimed reports first by
  urgency then priority), the assessment deadlines passed or coming;
* senior analyst, also: the items waiting for their four eyes, by report;
* law-enforcement liaison: the reports forwarded to law enforcement, where they were sent, their
  evidence packages and holds, each with a link that sets a hold on that report; the holds in
  force, those ending soon first;
* auditor: whether the audit chain verifies, and the latest access to content and personal
  data (links to the filtered audit page);
* administrator: the users, the API keys, failed sign-ins and failing jobs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.adapters.db.models import (
    ApiKey,
    AuditRecord,
    EvidencePackage,
    Hold,
    Item,
    Job,
    Notice,
    Organisation,
    Partner,
    Report,
    ReportClaim,
    User,
)
from balise.detection.indicators import candidates_by_item, proposed_by
from balise.domain.audit import AuditEvent
from balise.domain.clocks import ClockKind, ClockState
from balise.domain.model import Role
from balise.domain.states import ReportState
from balise.domain.triage import sla_deadline

LIST = 10
WAITING = (ReportState.RECEIVED.value, ReportState.INCOMPLETE.value, ReportState.IN_ASSESSMENT.value)
FORWARDED = (ReportState.FORWARDED_EUROPOL_AND_STATE.value, ReportState.FORWARDED_EUROPOL_ONLY.value)
LAW_ENFORCEMENT = ("police", "europol")
# What an auditor reviews first: who saw content or personal data (docs/audit-events.md).
ACCESS_EVENTS = (AuditEvent.MEDIA_REVEAL, AuditEvent.MEDIA_READ, AuditEvent.MEDIA_PREVIEW, AuditEvent.MEDIA_REFUSE,
                 AuditEvent.REPORT_READ, AuditEvent.ITEM_READ, AuditEvent.PERSON_READ,
                 AuditEvent.REPORTER_CONTACT_READ, AuditEvent.AUDIT_READ)
FAILED_SIGN_INS_DAYS = 7


def _minutes(deadline: datetime, now: datetime) -> int:
    return int((deadline - now).total_seconds() // 60)


def assessor(balise: Any, session: Session, user: User, now: datetime) -> dict[str, Any]:
    mine = session.execute(
        select(Report, ReportClaim.expires_at).join(ReportClaim, ReportClaim.report_id == Report.id)
        .where(ReportClaim.user_id == user.id, ReportClaim.expires_at > now)
        .order_by(Report.urgent.desc(), Report.priority.desc(), Report.created_at)).all()
    claimed = select(ReportClaim.report_id).where(ReportClaim.expires_at > now)
    unclaimed = session.execute(
        select(Report).where(Report.state.in_(WAITING), Report.id.not_in(claimed))
        .order_by(Report.urgent.desc(), Report.priority.desc(), Report.created_at).limit(LIST)).scalars().all()
    deadlines = [c for c in balise.clocks.running(session, [ClockKind.ASSESSMENT])
                 if c.state(now) in (ClockState.DUE_SOON, ClockState.OVERDUE)]
    deadlines.sort(key=lambda c: c.deadline)

    def row(report: Report) -> dict[str, Any]:
        return {"report": report, "sla_minutes": _minutes(sla_deadline(report.created_at, report.urgent), now),
                "to_assess": sum(1 for i in report.items if i.outcome is None), "item_count": len(report.items)}

    return {
        "claims": [{**row(r), "claim_minutes": _minutes(until, now)} for r, until in mine],
        "queue": [row(r) for r in unclaimed],
        "breaches": [{"report_id": c.report_id or c.subject_id, "minutes": _minutes(c.deadline, now),
                      "overdue": c.state(now) is ClockState.OVERDUE} for c in deadlines[:LIST]],
        "breaches_total": len(deadlines),
    }


def senior(session: Session, user: User) -> dict[str, Any]:
    waiting = {item_id: group for item_id, group in candidates_by_item(session).items()
               if proposed_by(group[0]) != str(user.id)}
    by_report: dict[uuid.UUID, int] = {}
    if waiting:
        for report_id in session.execute(select(Item.report_id).where(
                Item.id.in_([uuid.UUID(i) for i in waiting]))).scalars():
            by_report[report_id] = by_report.get(report_id, 0) + 1
    reports = {r.id: r for r in session.execute(select(Report).where(Report.id.in_(list(by_report)))).scalars()} \
        if by_report else {}
    return {"four_eyes": [{"report": reports[rid], "waiting": n} for rid, n in
                          sorted(by_report.items(), key=lambda kv: reports[kv[0]].created_at) if rid in reports],
            "four_eyes_items": len(waiting)}


def liaison(balise: Any, session: Session, now: datetime) -> dict[str, Any]:
    forwarded = session.execute(
        select(Report).where(Report.state.in_(FORWARDED))
        .order_by(Report.decided_at.desc().nulls_last(), Report.created_at.desc()).limit(LIST * 2)).scalars().all()
    ids = [r.id for r in forwarded]
    sent: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    packages: dict[uuid.UUID, list[EvidencePackage]] = {i: [] for i in ids}
    holds_of: dict[uuid.UUID, int] = {}
    if ids:
        for notice, partner in session.execute(
                select(Notice, Partner).join(Partner, Partner.id == Notice.partner_id)
                .where(Notice.report_id.in_(ids), Partner.kind.in_(LAW_ENFORCEMENT)).order_by(Notice.id)):
            sent[notice.report_id].append({"partner": partner.name, "kind": partner.kind, "status": notice.status})
        for package in session.execute(select(EvidencePackage).where(EvidencePackage.report_id.in_(ids))
                                       .order_by(EvidencePackage.created_at)).scalars():
            packages[package.report_id].append(package)
        holds_of = dict(session.execute(
            select(Hold.report_id, func.count()).where(Hold.report_id.in_(ids), Hold.lifted_at.is_(None),
                                                       Hold.expires_at > now).group_by(Hold.report_id)).all())
    active = session.execute(select(Hold).where(Hold.lifted_at.is_(None), Hold.expires_at > now)
                             .order_by(Hold.expires_at)).scalars().all()
    warning = timedelta(days=balise.settings.hold_warning_days)
    return {
        "forwarded": [{"report": r, "sent": sent[r.id], "packages": packages[r.id], "holds": holds_of.get(r.id, 0)}
                      for r in forwarded],
        "holds": [{"hold": h, "days": max(0, (h.expires_at - now).days), "ending": h.expires_at - now <= warning}
                  for h in active[:LIST * 2]],
        "holds_total": len(active),
        "holds_ending": sum(1 for h in active if h.expires_at - now <= warning),
        "hold_warning_days": balise.settings.hold_warning_days,
    }


def auditor(balise: Any, session: Session) -> dict[str, Any]:
    access = session.execute(
        select(AuditRecord).where(AuditRecord.event_type.in_([e.value for e in ACCESS_EVENTS]))
        .order_by(AuditRecord.seq.desc()).limit(LIST)).scalars().all()
    return {"chain": balise.audit.verify(session), "access": access,
            "access_types": [e.value for e in ACCESS_EVENTS], "names": staff_names(session, access)}


def admin(session: Session, now: datetime) -> dict[str, Any]:
    users = session.execute(select(User).order_by(User.role, User.username)).scalars().all()
    keys = session.execute(select(ApiKey, Organisation.name).outerjoin(
        Organisation, Organisation.id == ApiKey.organisation_id).order_by(ApiKey.created_at.desc())).all()
    since = now - timedelta(days=FAILED_SIGN_INS_DAYS)
    failed = session.execute(
        select(AuditRecord).where(AuditRecord.event_type == AuditEvent.USER_LOGIN_FAILED.value,
                                  AuditRecord.occurred_at >= since)
        .order_by(AuditRecord.seq.desc()).limit(LIST)).scalars().all()
    failed_total = session.execute(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.event_type == AuditEvent.USER_LOGIN_FAILED.value, AuditRecord.occurred_at >= since)).scalar_one()
    jobs = session.execute(
        select(Job).where((Job.status == "failed") | ((Job.status == "pending") & (Job.attempts > 0)))
        .order_by(Job.id.desc()).limit(LIST)).scalars().all()
    return {
        "users": users,
        "users_by_role": {role.value: sum(1 for u in users if u.role == role.value and u.active) for role in Role},
        "users_disabled": sum(1 for u in users if not u.active),
        "keys": [{"key": k, "organisation": name} for k, name in keys[:LIST]],
        "keys_active": sum(1 for k, _ in keys if k.revoked_at is None),
        "keys_revoked": sum(1 for k, _ in keys if k.revoked_at is not None),
        "failed": failed, "failed_total": failed_total, "failed_names": staff_names(session, failed), "failed_days": FAILED_SIGN_INS_DAYS,
        "jobs": jobs,
    }


def staff_names(session: Session, events: Any) -> dict[str, str]:
    """Usernames of the staff actors of ``events`` (their ids are the users' UUIDs)."""
    ids = set()
    for e in events:
        if e.actor_type == "staff":
            try:
                ids.add(uuid.UUID(e.actor_id))
            except ValueError:
                pass
    if not ids:
        return {}
    return {str(i): name for i, name in session.execute(select(User.id, User.username).where(User.id.in_(ids)))}
