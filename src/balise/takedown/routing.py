"""Where a forwarded report goes (CSAR Art. 48(3), INHOPE ICCAM).

When an analyst forwards a report, the Member State likely to have jurisdiction is decided
in the same transaction (domain/jurisdiction.py), the report moves to "forwarded to Europol
and the State" or "forwarded to Europol only" with the reasons, and a routing job is queued.
The job (idempotent: it only adds what is missing) then:

* builds a signed evidence package for Europol and, when the State is determined, for that
  State's police contact point, and queues a police notice carrying it;
* for each reported URL not assessed legal: unless police placed a do-not-remove hold, refers
  it to the hotline of the hosting country when a partner hotline of that country (in the EU
  or not) is in the directory and it is not the centre's own country, otherwise sends a
  notice to the hosting network's abuse contact (RDAP).

Removal verification starts when a host notice or referral is delivered (services/takedowns).
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Item,
    Jurisdiction,
    Notice,
    Organisation,
    Person,
    PersonIdentifier,
    ReferralSent,
    Report,
    Takedown,
    UrlHosting,
)
from balise.domain.audit import AuditEvent
from balise.domain.jurisdiction import Facts, HostedUrl, decide
from balise.domain.partners import BY_CODE, PartnerKind
from balise.domain.states import ReportState
from balise.governance.audit import AuditTrail
from balise.jobs.queue import JobQueue
from balise.takedown.holds import Holds
from balise.takedown.notices import Notices
from balise.takedown.partners import Partners
from balise.takedown.ports import Locator

log = logging.getLogger("balise.routing")

ROUTE_JOB = "report.route"
SYSTEM = Actor.system("routing")
REPORT_TYPES = ("known_csam", "new_csam", "solicitation")
RETRIEVAL = {"export": "secure export directory of the centre", "webhook": "attached to the webhook delivery",
             "email": "on request from the centre (not sent by e-mail)"}
FORWARDED = (ReportState.FORWARDED_EUROPOL_AND_STATE.value, ReportState.FORWARDED_EUROPOL_ONLY.value)


class PackageBuilder(Protocol):
    def build(self, session: Session, actor: Actor, report_id: uuid.UUID, include_media: bool = False) -> Any: ...

    def discard(self, built: Any) -> None:
        """Remove a built zip whose transaction did not commit."""
        ...


def _is_upload(event: str | None) -> bool:
    return event is None or "upload" in event.lower()


class Router:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, clock: Callable[[], datetime], *,
                 jobs: JobQueue, partners: Partners, holds: Holds, notices: Notices, locator: Locator,
                 packages: PackageBuilder, centre_country: str | None, centre_name: str,
                 include_media: bool, respond_within: timedelta, federation: Any = None,
                 referrals: Any = None) -> None:
        # federation, referrals: the partner installations and the referrals to them
        # (exchange/federation.py); a URL hosted in a partner installation's country goes there.
        self._federation = federation
        self._referrals = referrals
        self._respond_within = respond_within
        self._new_session = new_session
        self._audit = audit
        self._clock = clock
        self._jobs = jobs
        self._partners = partners
        self._holds = holds
        self._notices = notices
        self._locator = locator
        self._packages = packages
        self._centre_country = centre_country
        self._centre_name = centre_name
        self._include_media = include_media

    # -- the decision, in the analyst's transaction ----------------------------------------

    def facts(self, session: Session, report: Report) -> Facts:
        hosted = [HostedUrl(h.hosted_country, h.cdn) for h in session.execute(
            select(UrlHosting).where(UrlHosting.report_id == report.id)).scalars()]
        uploaded: list[str] = []
        rows = session.execute(
            select(PersonIdentifier.value, PersonIdentifier.event).join(Person)
            .where(Person.report_id == report.id, PersonIdentifier.type == "ip")).all()
        for value, event in rows:
            if not _is_upload(event):
                continue
            try:
                ipaddress.ip_address(value)
            except ValueError:
                continue
            country = self._locator.locate(value).country
            if country:
                uploaded.append(country)
        provider_country = None
        if report.organisation_id:
            org = session.get(Organisation, report.organisation_id)
            provider_country = org.country if org else None
        return Facts(reported_country=self._centre_country or provider_country, hosted=hosted,
                     uploaded_countries=uploaded,
                     geolocation_country=(report.geolocation or {}).get("country"),
                     provider_country=provider_country)

    def forward(self, session: Session, report: Report, actor: Actor, now: datetime) -> tuple[ReportState, str]:
        """Decide the recipients of a report being forwarded; returns its new state and why."""
        facts = self.facts(session, report)
        decision = decide(facts)
        existing = session.get(Jurisdiction, report.id)
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(Jurisdiction(report_id=report.id, reported_country=facts.reported_country,
                                 hosted_countries=sorted({h.country for h in facts.hosted if h.country}),
                                 uploaded_countries=sorted(set(facts.uploaded_countries)),
                                 member_state=decision.member_state if decision.forward_to_state else None,
                                 confidence=decision.confidence, reasons=decision.reasons, decided_at=now))
        for item in report.items:
            # A picture found on a reported page is named in its page's notice; the page is
            # what the host removes and what is verified.
            found_on = (item.media_metadata or {}).get("found_on")
            if item.kind == "url" and item.url and not found_on and session.get(Takedown, item.id) is None:
                hosting = session.get(UrlHosting, item.id)
                session.add(Takedown(item_id=item.id, report_id=report.id, url=item.url,
                                     original_sha256=hosting.content_sha256 if hosting else None, status="pending",
                                     received_at=report.created_at, assessed_at=now, step=0))
        self._jobs.enqueue(session, ROUTE_JOB, {"report_id": str(report.id)}, dedupe_key=f"route:{report.id}")
        if decision.forward_to_state:
            return (ReportState.FORWARDED_EUROPOL_AND_STATE,
                    f"forwarded to Europol and {decision.member_state} (confidence {decision.confidence})")
        why = "; ".join(str(r["text"]) for r in decision.reasons) or "no indication"
        return (ReportState.FORWARDED_EUROPOL_ONLY,
                f"forwarded to Europol only: the Member State cannot be determined with sufficient certainty ({why})")

    def unfounded(self, session: Session, report: Report, now: datetime) -> Notice | None:
        """Feedback to the reporting provider (CSAR Art. 48(2)): the report was manifestly
        unfounded, and why. Sent to the provider's contact point when it gave an e-mail; the
        provider also sees the outcome through the API."""
        contact = ((report.provider_contact or {}).get("contact_point") or {}).get("email")
        if report.organisation_id is None or not contact:
            return None
        reasons = [r["code"] for r in (report.outcome_reasons or [])]
        # Items given by MD5 or PDQ alone have no SHA-256 to quote; a given list must not be empty.
        hashes = sorted({i.sha256 for i in report.items if i.sha256})
        return self._notices.create(
            session, report_id=report.id, kind="provider_feedback", dedupe=f"{report.id}:provider_feedback",
            recipient=contact, channel="email", language="en",
            context={"report_reference": str(report.id), "received_at": report.created_at, "decided_at": now,
                     "reasons": reasons, "reason_note": report.outcome_text,
                     "provider_report_reference": report.reported_elsewhere_reference,
                     **({"item_hashes": hashes} if hashes else {})})

    def resume(self, session: Session, report_id: uuid.UUID) -> None:
        """A hold ended: route again (only what is missing is added)."""
        self._jobs.enqueue(session, ROUTE_JOB, {"report_id": str(report_id)}, dedupe_key=f"route:{report_id}")

    # -- the job ---------------------------------------------------------------------------

    def handle(self, payload: dict[str, Any]) -> None:
        report_id = uuid.UUID(payload["report_id"])
        built: list[Any] = []
        try:
            self._route(report_id, built)
        except BaseException:
            # The packages were written but their records rolled back: no zip is left behind
            # without a record (a process killed here leaves it to the periodic sweep).
            for package in built:
                self._packages.discard(package)
            raise

    def _route(self, report_id: uuid.UUID, built: list[Any]) -> None:
        with self._new_session() as session, session.begin():
            report = session.get(Report, report_id, with_for_update=True)
            if report is None or report.state not in FORWARDED or report.redacted_at is not None:
                return  # a redacted report has nothing left to send
            jurisdiction = session.get(Jurisdiction, report_id)
            holds = self._holds.active(session, report_id)
            created: list[str] = []
            problems: list[str] = []
            do_not_inform = holds.do_not_inform_until is not None
            provider = session.get(Organisation, report.organisation_id) if report.organisation_id else None
            # Police: Europol always; the State when determined.
            police_targets = [(PartnerKind.EUROPOL, None)]
            if jurisdiction is not None and jurisdiction.member_state:
                police_targets.append((PartnerKind.POLICE, jurisdiction.member_state))
            for kind, country in police_targets:
                partners = self._partners.find(session, kind, country)
                if not partners:
                    problems.append(f"no active {kind.value} partner" + (f" for {country}" if country else ""))
                    continue
                partner = partners[0]
                dedupe = f"{report.id}:police_forward:{partner.id}"
                if session.execute(select(Notice.id).where(Notice.dedupe == dedupe)).first():
                    continue
                package = self._packages.build(session, SYSTEM, report.id, include_media=self._include_media)
                built.append(package)
                notice = self._notices.create(
                    session, report_id=report.id, kind="police_forward", dedupe=dedupe, partner=partner,
                    language=partner.languages[0] if partner.languages else "en",
                    context={"recipient_name": partner.name, "report_reference": str(report.id),
                             "received_at": report.created_at, "urgent": bool(report.urgent),
                             "package_id": str(package.package_id), "package_sha256": package.sha256,
                             "package_size": package.size, "retrieval": RETRIEVAL.get(partner.channel),
                             "report_type": report.report_type if report.report_type in REPORT_TYPES else None,
                             "provider_name": provider.name if provider else None,
                             "europol_informed": kind is PartnerKind.POLICE},
                    package=package)
                if notice is not None:
                    created.append(notice.reference)
            # URLs: hotline referral or host notice.
            for item in report.items:
                takedown = session.get(Takedown, item.id)
                if takedown is None or item.outcome == "not_illegal":
                    continue
                if holds.do_not_remove_until is not None:
                    if takedown.status in ("pending", "watching"):
                        takedown.status = "on_hold"
                    continue
                if takedown.status == "on_hold":
                    takedown.status = "watching" if takedown.host_notified_at else "pending"
                    if takedown.host_notified_at:
                        self._jobs.enqueue(session, "takedown.check", {"item_id": str(item.id)},
                                           dedupe_key=f"takedown:{item.id}")
                if takedown.status != "pending":
                    continue
                hosting = session.get(UrlHosting, item.id)
                if hosting is not None and hosting.fetch_status == "gone":
                    takedown.status, takedown.removed_at = "removed", hosting.fetched_at
                    # Counted in the NTD figures like a removal seen by a check, so audited like one.
                    self._audit.record(session, AuditEvent.TAKEDOWN_REMOVED, SYSTEM, "item", str(item.id),
                                       "removal seen when the URL was inspected",
                                       {"outcome": "gone", "http_status": hosting.http_status,
                                        "seen_at": hosting.fetched_at.isoformat()})
                    continue
                installation = self._partner_installation(session, hosting)
                if installation is not None:
                    if not session.execute(select(ReferralSent.id).where(ReferralSent.item_id == item.id)).first():
                        self._referrals.refer_item(session, SYSTEM, report, item, installation,
                                                   f"hosted in {installation.country}: referred to the partner "
                                                   "installation of that country")
                        created.append(f"referral to {installation.name}")
                    takedown.status = "referred"
                    continue
                try:
                    notice = self._url_notice(session, report, item, hosting, do_not_inform, problems)
                except ValueError as exc:
                    # A URL no notice can carry (e.g. longer than notices allow): a person must act.
                    problems.append(f"no notice for {item.url[:200]}: {exc}")
                    takedown.status = "no_contact"
                    continue
                if notice is not None:
                    created.append(notice.reference)
                elif not session.execute(select(Notice.id).where(Notice.item_id == item.id)).first():
                    takedown.status = "no_contact"
            self._audit.record(session, AuditEvent.REPORT_ROUTE, SYSTEM, "report", str(report.id), "route a report",
                               {"member_state": jurisdiction.member_state if jurisdiction else None,
                                "notices": created, "problems": problems,
                                "held": holds.do_not_remove_until is not None})

    def _partner_installation(self, session: Session, hosting: UrlHosting | None) -> Any:
        """The partner Balise installation of the hosting country, if any and not ours: it
        takes the referral in place of a hotline notice or a host notice."""
        country = hosting.hosted_country if hosting else None
        if self._federation is None or not country or country == self._centre_country:
            return None
        return self._federation.for_country(session, country)

    def _url_notice(self, session: Session, report: Report, item: Item, hosting: UrlHosting | None,
                    do_not_inform: bool, problems: list[str]) -> Notice | None:
        country = hosting.hosted_country if hosting else None
        assessed_at = report.decided_at or self._clock()
        hashes = [hosting.content_sha256] if hosting and hosting.content_sha256 else []
        found = [i for i in report.items if (i.media_metadata or {}).get("found_on_item") == str(item.id)
                 and i.outcome == "illegal" and i.url]
        urls = [item.url] + [i.url for i in found]
        hashes += [i.sha256 for i in found if i.sha256 and i.sha256 not in hashes]
        # A URL hosted in a partner hotline's country goes to that hotline, EU or not (INHOPE
        # has members outside the EU); the Member-State rules are for police and jurisdiction.
        if country and country != self._centre_country:
            hotlines = self._partners.find(session, PartnerKind.HOTLINE, country)
            if hotlines:
                partner = hotlines[0]
                return self._notices.create(
                    session, report_id=report.id, item_id=item.id, kind="hotline_referral",
                    dedupe=f"{report.id}:hotline_referral:{item.id}", partner=partner,
                    language=partner.languages[0] if partner.languages else "en",
                    context={"recipient_name": partner.name, "urls": urls, "assessed_at": assessed_at,
                             "hosting_country": country, "hashes": hashes, "urgent": bool(report.urgent)})
        if hosting is None or not hosting.abuse_email:
            problems.append(f"no abuse contact for {item.url[:200]}"
                            + (f" ({hosting.rdap_error})" if hosting and hosting.rdap_error else ""))
            return None
        language = BY_CODE[country].languages[0] if country in BY_CODE else "en"
        return self._notices.create(
            session, report_id=report.id, item_id=item.id, kind="host_notice",
            dedupe=f"{report.id}:host_notice:{item.id}", recipient=hosting.abuse_email, channel="email",
            language=language,
            context={"recipient_name": hosting.abuse_name or hosting.organisation, "urls": urls,
                     "assessed_at": assessed_at, "legal_basis": ["csar", "directive_2011_93", "dsa_art16"],
                     "hashes": hashes, "respond_by": self._clock() + self._respond_within,
                     "do_not_inform_user": do_not_inform})
