"""Removal verification and notice-and-takedown statistics (CSAR Art. 48, INHOPE ICCAM).

After a host notice or hotline referral is delivered, the URL is fetched again on a schedule
(settings: 1 h, 6 h, 24 h, 72 h, 7 d after the notice). It counts as removed, with the time of
the check that saw it, when it is ``gone`` (404/410/451, no such name), when it serves
something else (``changed``), or, for a reported page with illegal pictures on it, when every
one of those pictures is gone (``media_gone``). Other bytes are not enough for a picture or a
video: a host that re-encodes or resizes the same picture still serves it, so the new bytes are
hashed again and compared by PDQ with the picture first served (distance within the match
threshold, 31: still ``served``) and a video by vPDQ with the indicators it matched. A refused
fetch, an unreachable host or an error is never taken for a removal. Still served past the
SLA: the coordinating authority of the centre's country is told, once. A do-not-remove hold
pauses the checks; they resume when it ends.

A check may run twice at once (a job whose lease ran out while it fetched): each run remembers
the schedule step it started from and records nothing if another run has moved it meanwhile.
"""

from __future__ import annotations

import hashlib
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Notice, ReferralReceived, ReferralSent, Takedown, TakedownCheck, UrlHosting
from balise.detection.matching_types import HashQuery
from balise.detection.media_hashing import hash_private_copy
from balise.domain.audit import AuditEvent
from balise.domain.indicators import PDQ_MATCH_THRESHOLD, PDQ_MIN_QUALITY
from balise.domain.partners import PartnerKind
from balise.governance.audit import AuditTrail
from balise.jobs.queue import JobQueue
from balise.takedown.holds import Holds
from balise.takedown.notices import Notices
from balise.takedown.partners import Partners
from balise.takedown.ports import UrlFetcher

TAKEDOWN_CHECK_JOB = "takedown.check"
SYSTEM = Actor.system("verifier")
REMOVED_OUTCOMES = ("gone", "changed", "media_gone")


class Matcher(Protocol):
    def match(self, queries: list[HashQuery]) -> list[Any]: ...


@dataclass(frozen=True)
class Original:
    """What was served at inspection, to recognise it again: its SHA-256, and for a picture
    its PDQ, for a video the vPDQ indicators it matched."""

    sha256: str | None
    pdq: str | None = None
    video_indicators: frozenset[int] = frozenset()

    @classmethod
    def of(cls, item: Item | None, sha256: str | None) -> Original:
        if item is None:
            return cls(sha256)
        pdq = (item.hashes or {}).get("pdq") if item.media_type == "image" else None
        videos = frozenset(m["indicator_id"] for m in (item.matches or [])
                           if m.get("algorithm") == "vpdq") if item.media_type == "video" else frozenset()
        return cls(sha256, pdq, videos)

    @property
    def perceptual(self) -> bool:
        return bool(self.pdq or self.video_indicators)


@dataclass(frozen=True)
class Sameness:
    same: bool
    pdq_distance: int | None = None
    detail: str | None = None


def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


class Takedowns:
    """Removal verification of reported URLs. Removed means one of ``REMOVED_OUTCOMES``:
    ``gone``, ``changed`` (another picture, video or page) or ``media_gone``; ``served``,
    ``unreachable``, ``refused`` and ``error`` are not removals."""

    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, clock: Callable[[], datetime], *,
                 jobs: JobQueue, fetcher: UrlFetcher, holds: Holds, notices: Notices, partners: Partners,
                 schedule: list[timedelta], sla: timedelta, centre_country: str | None, centre_name: str,
                 media_hasher: Callable[[str], dict[str, Any]] | None = None, tmp_dir: Path | None = None,
                 matcher: Matcher | None = None) -> None:
        # Re-hashing what a URL serves now (the bounded child process intake uses), to tell a
        # re-encoded copy of the same picture from a removal.
        self._hasher = media_hasher
        self._tmp = tmp_dir
        self._matcher = matcher
        self._new_session = new_session
        self._audit = audit
        self._clock = clock
        self._jobs = jobs
        self._fetcher = fetcher
        self._holds = holds
        self._notices = notices
        self._partners = partners
        self._schedule = schedule
        self._sla = sla
        self._centre_country = centre_country
        self._centre_name = centre_name

    # -- legs recorded when notices are delivered (a Notices on_sent hook) -----------------

    def notice_sent(self, session: Session, notice: Notice) -> None:
        if notice.kind == "police_forward":
            # A package written to the export directory has reached nobody yet: police count as
            # notified when they acknowledge it (notice_acknowledged), not when the file appears.
            if notice.channel != "export":
                self._police_notified(session, notice, notice.sent_at)
        elif notice.kind in ("host_notice", "hotline_referral") and notice.item_id is not None:
            takedown = session.get(Takedown, notice.item_id)
            if takedown is None or takedown.host_notified_at is not None:
                return
            takedown.host_notified_at = notice.sent_at
            takedown.status, takedown.step = "watching", 0
            self._schedule_check(session, takedown)

    def notice_acknowledged(self, session: Session, notice: Notice) -> None:
        """The recipient confirmed (a Notices on_acknowledged hook): for a police package handed
        over through the export directory, this is when police were notified."""
        if notice.kind == "police_forward":
            self._police_notified(session, notice, notice.acknowledged_at)

    @staticmethod
    def _police_notified(session: Session, notice: Notice, when: datetime | None) -> None:
        if when is None:
            return
        for takedown in session.execute(select(Takedown).where(Takedown.report_id == notice.report_id)).scalars():
            takedown.police_notified_at = takedown.police_notified_at or when

    def _schedule_check(self, session: Session, takedown: Takedown) -> None:
        assert takedown.host_notified_at is not None
        takedown.next_check_at = takedown.host_notified_at + self._schedule[takedown.step]
        self._jobs.enqueue(session, TAKEDOWN_CHECK_JOB, {"item_id": str(takedown.item_id)},
                           run_at=takedown.next_check_at, dedupe_key=f"takedown:{takedown.item_id}")

    def recheck_now(self, session: Session, takedown: Takedown, dedupe_key: str) -> bool:
        """Check a notified URL again now (a victim's removal support, docs/victims.md), in the
        caller's transaction; False when the host was never notified or the URL is removed or
        on hold (nothing to check yet, or nothing any more)."""
        if takedown.host_notified_at is None or takedown.status not in ("watching", "not_removed"):
            return False
        now = self._clock()
        takedown.status, takedown.next_check_at = "watching", now
        self._jobs.enqueue(session, TAKEDOWN_CHECK_JOB, {"item_id": str(takedown.item_id)}, run_at=now,
                           dedupe_key=dedupe_key)
        return True

    # -- the check (a job) -------------------------------------------------------------------

    def handle_check(self, payload: dict[str, Any]) -> None:
        item_id = uuid.UUID(payload["item_id"])
        with self._new_session() as session:
            takedown = session.get(Takedown, item_id)
            if takedown is None or takedown.status != "watching":
                return
            if self._clock() < (takedown.next_check_at or self._clock()):
                return  # a stale job from an earlier schedule; the current one is queued
            # The schedule position this run starts from: if another run of the same check
            # records first (a lease that ran out mid-fetch), this one must record nothing.
            started_step, started_next = takedown.step, takedown.next_check_at
            url = takedown.url
            original = Original.of(session.get(Item, item_id), takedown.original_sha256)
            # Illegal pictures found on the reported page: what must actually go.
            pictures = [(i.url, Original.of(i, i.sha256)) for i in session.execute(
                select(Item).where(Item.report_id == takedown.report_id, Item.outcome == "illegal")).scalars()
                if (i.media_metadata or {}).get("found_on_item") == str(item_id) and i.url]
        fetched = self._fetcher.fetch(url)
        outcome, detail = fetched.outcome, fetched.detail
        sha256 = pdq_distance = None
        if fetched.outcome == "served" and fetched.body is not None:
            sha256 = hashlib.sha256(fetched.body).hexdigest()
            if original.sha256 and sha256 != original.sha256:
                outcome = "changed"
                if original.perceptual:
                    sameness = self._same_media(fetched.body, original)
                    pdq_distance, detail = sameness.pdq_distance, sameness.detail
                    if sameness.same:
                        outcome = "served"  # re-encoded or resized, still the same picture
        if pictures and outcome in ("served", "changed"):
            # A page that changes (a counter, an advert) is not removed while its pictures are
            # still served; a page still online whose pictures are all gone is.
            outcome = "media_gone" if all(self._picture_gone(u, o) for u, o in pictures) else "served"
        with self._new_session() as session, session.begin():
            takedown = session.get(Takedown, item_id, with_for_update=True)
            if takedown is None or takedown.status != "watching":
                return
            if (takedown.step, takedown.next_check_at) != (started_step, started_next):
                return  # another run of this check recorded it meanwhile
            now = self._clock()
            if self._holds.active(session, takedown.report_id).do_not_remove_until is not None:
                takedown.status = "on_hold"
                return
            session.add(TakedownCheck(item_id=item_id, checked_at=now, outcome=outcome,
                                      http_status=fetched.http_status, sha256=sha256, pdq_distance=pdq_distance,
                                      detail=detail))
            takedown.last_checked_at, takedown.last_outcome = now, outcome
            details: dict[str, Any] = {"outcome": outcome, "step": takedown.step}
            if pdq_distance is not None:
                details["pdq_distance"] = pdq_distance
            self._audit.record(session, AuditEvent.TAKEDOWN_CHECK, SYSTEM, "item", str(item_id),
                               "verify removal", details)
            if outcome in REMOVED_OUTCOMES:
                takedown.status, takedown.removed_at, takedown.next_check_at = "removed", now, None
                self._audit.record(session, AuditEvent.TAKEDOWN_REMOVED, SYSTEM, "item", str(item_id),
                                   "removal verified", {"outcome": outcome})
                return
            assert takedown.host_notified_at is not None
            if takedown.escalated_at is None and now - takedown.host_notified_at >= self._sla:
                self._escalate(session, takedown, now)
            takedown.step += 1
            if takedown.step < len(self._schedule):
                self._schedule_check(session, takedown)
            else:
                takedown.status, takedown.next_check_at = "not_removed", None

    def verify_url(self, url: str, item_id: uuid.UUID | None = None) -> tuple[str, str | None]:
        """One check of ``url`` outside any schedule (the removal clock of an order, see
        balise/orders/clocks.py): the outcome (``served``, ``gone``, ``changed``, ``unreachable``,
        ``refused``, ``error``) and its detail. With the reported item it concerns, other bytes
        that are still the same picture or video count as ``served``, as in the scheduled checks."""
        original = Original(None)
        if item_id is not None:
            with self._new_session() as session:
                takedown = session.get(Takedown, item_id)
                item = session.get(Item, item_id)
                original = Original.of(item, takedown.original_sha256 if takedown else (item.sha256 if item else None))
        fetched = self._fetcher.fetch(url)
        outcome, detail = fetched.outcome, fetched.detail
        if outcome == "served" and fetched.body is not None and original.sha256:
            if hashlib.sha256(fetched.body).hexdigest() != original.sha256:
                outcome = "changed"
                if original.perceptual:
                    sameness = self._same_media(fetched.body, original)
                    detail = sameness.detail
                    if sameness.same:
                        outcome = "served"
        return outcome, detail

    def _picture_gone(self, url: str, original: Original) -> bool:
        fetched = self._fetcher.fetch(url)
        if fetched.outcome == "gone":
            return True
        if fetched.outcome == "served" and fetched.body is not None:
            if original.sha256 is None or hashlib.sha256(fetched.body).hexdigest() == original.sha256:
                return False
            return not (original.perceptual and self._same_media(fetched.body, original).same)
        return False  # unreachable or refused: not proof of removal

    def _same_media(self, body: bytes, original: Original) -> Sameness:
        """Is ``body`` (other bytes than at inspection) still the same picture or video?"""
        if self._hasher is None or self._tmp is None:
            return Sameness(False, detail="other bytes; no media hasher to compare them")
        hashed = hash_private_copy(self._hasher, self._tmp, "balise-check-", [body])
        if hashed.get("status") == "error" and not hashed.get("pdq") and not hashed.get("vpdq"):
            return Sameness(False, detail=f"other bytes, not a readable picture or video: {hashed.get('error')}"[:500])
        if original.pdq and hashed.get("pdq"):
            # Any of the 8 rotations and flips: a rotated copy is still the same picture.
            candidates = [hashed["pdq"], *(d["pdq"] for d in hashed.get("dihedral") or [])]
            distance = min(_hamming(original.pdq, c) for c in candidates)
            quality = int(hashed.get("pdq_quality") or 0)
            if quality < PDQ_MIN_QUALITY:
                return Sameness(False, distance, f"other bytes; PDQ quality {quality} too low to compare")
            if distance <= PDQ_MATCH_THRESHOLD:
                return Sameness(True, distance, f"the same picture re-encoded (PDQ distance {distance})")
            return Sameness(False, distance, f"another picture (PDQ distance {distance})")
        if original.video_indicators and hashed.get("vpdq") and self._matcher is not None:
            outcomes = self._matcher.match([HashQuery("vpdq", frames=hashed["vpdq"])])
            matched = {m["indicator_id"] for o in outcomes for m in o.matches}
            if matched & original.video_indicators:
                return Sameness(True, detail="the same video re-encoded (vPDQ matches the same indicator)")
            return Sameness(False, detail="another video (vPDQ no longer matches its indicator)")
        return Sameness(False, detail="other bytes; no perceptual hash to compare")

    def _escalate(self, session: Session, takedown: Takedown, now: datetime) -> None:
        takedown.escalated_at = now
        country = self._centre_country
        authorities = self._partners.find(session, PartnerKind.COORDINATING_AUTHORITY, country) if country else []
        checks = session.execute(select(TakedownCheck).where(TakedownCheck.item_id == takedown.item_id)
                                 .order_by(TakedownCheck.id)).scalars().all()
        reference = None
        hosting = session.get(UrlHosting, takedown.item_id)
        if authorities:
            partner = authorities[0]
            notice = self._notices.create(
                session, report_id=takedown.report_id, item_id=takedown.item_id, kind="escalation",
                dedupe=f"{takedown.report_id}:escalation:{takedown.item_id}", partner=partner,
                language=partner.languages[0] if partner.languages else "en",
                context={"recipient_name": partner.name, "urls": [takedown.url],
                         "sla_hours": max(1, round(self._sla.total_seconds() / 3600)),
                         "timeline": self._timeline(takedown, checks),
                         "host_name": hosting.organisation if hosting else None,
                         "hosting_country": hosting.hosted_country if hosting else None})
            reference = notice.reference if notice else None
        self._audit.record(session, AuditEvent.TAKEDOWN_ESCALATE, SYSTEM, "item", str(takedown.item_id),
                           "not removed within the SLA",
                           {"notice": reference, "authority_configured": bool(authorities)})

    @staticmethod
    def _timeline(takedown: Takedown, checks: list[TakedownCheck]) -> list[dict[str, Any]]:
        timeline: list[dict[str, Any]] = [{"at": takedown.received_at, "event": "reported"}]
        if takedown.assessed_at:
            timeline.append({"at": takedown.assessed_at, "event": "assessed"})
        if takedown.police_notified_at:
            timeline.append({"at": takedown.police_notified_at, "event": "police_forwarded"})
        if takedown.host_notified_at:
            timeline.append({"at": takedown.host_notified_at, "event": "host_notice_sent"})
        for check in checks:
            event = "check_removed" if check.outcome in REMOVED_OUTCOMES else "check_still_online"
            timeline.append({"at": check.checked_at, "event": event})
        return timeline

    def for_report(self, session: Session, report_id: uuid.UUID) -> list[Takedown]:
        return list(session.execute(select(Takedown).where(Takedown.report_id == report_id)).scalars())

    def checks(self, session: Session, item_id: uuid.UUID) -> list[TakedownCheck]:
        return list(session.execute(select(TakedownCheck).where(TakedownCheck.item_id == item_id)
                                    .order_by(TakedownCheck.id)).scalars())


# -- statistics ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NtdStats:
    urls: int
    notified: int
    removed: int
    gone_before_notice: int
    not_removed: int
    on_hold: int
    median_received_to_removed: timedelta | None
    median_notice_to_removed: timedelta | None
    median_received_to_assessed: timedelta | None
    median_assessed_to_police: timedelta | None
    median_assessed_to_host: timedelta | None
    within: dict[str, float | None]  # "2.5d", "3d", "7d" -> % of notified URLs removed in time
    # Referrals between Balise installations (docs/federation.md), both sides: URLs we referred
    # to partner installations and those they report removed; URLs partners referred to us and
    # those we removed.
    referrals: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def hours(value: timedelta | None) -> float | None:
            return None if value is None else round(value.total_seconds() / 3600, 2)

        return {"urls": self.urls, "notified": self.notified, "removed": self.removed,
                "gone_before_notice": self.gone_before_notice,
                "not_removed": self.not_removed, "on_hold": self.on_hold,
                "median_hours": {"received_to_removed": hours(self.median_received_to_removed),
                                 "notice_to_removed": hours(self.median_notice_to_removed),
                                 "received_to_assessed": hours(self.median_received_to_assessed),
                                 "assessed_to_police_notified": hours(self.median_assessed_to_police),
                                 "assessed_to_host_notified": hours(self.median_assessed_to_host)},
                "removed_within_percent": self.within, "referrals": self.referrals}


WINDOWS = {"2.5d": timedelta(days=2.5), "3d": timedelta(days=3), "7d": timedelta(days=7)}


def _median(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values)) if values else None


def ntd_stats(session: Session, since: datetime | None = None, until: datetime | None = None) -> NtdStats:
    """Notice-and-takedown figures of the URLs of reports received in [since, until).

    What is measured (INHOPE's measure): for each URL whose host or hotline was notified, the
    time from the report's receipt by the centre to the removal seen by a check. ``removed``,
    both medians to removal and the shares removed within 2.5/3/7 days count only those URLs;
    the shares are over every notified URL, removed or not. A URL already gone when it was
    first inspected was never notified: it is counted apart (``gone_before_notice``) and in
    no median or share, since its "removal" is the moment of inspection, not the host's act."""
    query = select(Takedown)
    if since is not None:
        query = query.where(Takedown.received_at >= since)
    if until is not None:
        query = query.where(Takedown.received_at < until)
    rows = session.execute(query).scalars().all()
    notified = [t for t in rows if t.host_notified_at is not None]
    removed = [t for t in notified if t.removed_at is not None]
    within = {label: (round(100.0 * sum(1 for t in removed if t.removed_at - t.received_at <= window)
                            / len(notified), 1) if notified else None) for label, window in WINDOWS.items()}
    return NtdStats(
        urls=len(rows), notified=len(notified), removed=len(removed),
        gone_before_notice=sum(1 for t in rows if t.removed_at is not None and t.host_notified_at is None),
        not_removed=sum(1 for t in rows if t.status == "not_removed"),
        on_hold=sum(1 for t in rows if t.status == "on_hold"),
        median_received_to_removed=_median([t.removed_at - t.received_at for t in removed]),
        median_notice_to_removed=_median([t.removed_at - t.host_notified_at for t in removed]),
        median_received_to_assessed=_median([t.assessed_at - t.received_at for t in rows if t.assessed_at]),
        median_assessed_to_police=_median([t.police_notified_at - t.assessed_at for t in rows
                                           if t.police_notified_at and t.assessed_at]),
        median_assessed_to_host=_median([t.host_notified_at - t.assessed_at for t in rows
                                         if t.host_notified_at and t.assessed_at]),
        within=within, referrals=_referral_figures(session, since, until))


def _referral_figures(session: Session, since: datetime | None, until: datetime | None) -> dict[str, int]:
    def count(column: Any, stamp: Any, *where: Any) -> int:
        query = select(func.count(column)).where(*where)
        if since is not None:
            query = query.where(stamp >= since)
        if until is not None:
            query = query.where(stamp < until)
        return int(session.execute(query).scalar_one())

    return {"referred_to_partners": count(ReferralSent.id, ReferralSent.created_at),
            "removed_by_partners": count(ReferralSent.id, ReferralSent.created_at, ReferralSent.outcome == "removed"),
            "not_illegal_at_partners": count(ReferralSent.id, ReferralSent.created_at,
                                             ReferralSent.outcome == "not_illegal"),
            "received_from_partners": count(ReferralReceived.id, ReferralReceived.received_at),
            "removed_for_partners": count(ReferralReceived.id, ReferralReceived.received_at,
                                          ReferralReceived.outcome == "removed"),
            "not_illegal_for_partners": count(ReferralReceived.id, ReferralReceived.received_at,
                                              ReferralReceived.outcome == "not_illegal")}
