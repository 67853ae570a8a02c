"""The analyst's work: claim a report, classify its items, decide, and confirm new indicators
with a second pair of eyes. Every decision records who and when; none is automatic."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator, Item, Report, ReportClaim, User
from balise.casework.triage import transition
from balise.detection.indicators import Indicators, candidates_by_item, proposed_by
from balise.detection.provenance import record_history
from balise.domain.audit import AuditEvent
from balise.domain.clocks import add_months
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus, validate_classification
from balise.domain.model import Role
from balise.domain.states import ReportState
from balise.domain.submissions import HistoryAction, authority_months
from balise.governance.audit import AuditTrail

CLAIM_TTL = timedelta(minutes=30)
OUTCOMES = ("illegal", "not_illegal", "cannot_assess")
UNFOUNDED_REASONS = {
    "adult_content": "the people shown are adults",
    "no_minor_visible": "no child is visible or involved",
    "innocent_context": "innocent context (family, medical, educational)",
    "lawful_fiction": "drawn or fictional content that is not illegal",
    "technical_error": "the detection was a technical error (hash collision, wrong file)",
    "other": "other reason, explained in the text",
}
ASSESSOR_ROLES = {Role.ANALYST.value, Role.SENIOR_ANALYST.value}


class AssessmentError(ValueError):
    """Refused: the message says why; nothing was changed."""


class Conflict(AssessmentError):
    """Someone else changed or holds it: reload and look again."""


@dataclass(frozen=True)
class AwaitingItem:
    """An item whose new indicators wait for a senior's confirmation: one decision covers them all."""

    item: Item | None
    indicators: tuple[Indicator, ...]
    assessed_by: str | None
    assessed_at: str | None
    note: str
    classification: dict[str, Any]

    @property
    def key(self) -> str:
        return str(self.item.id) if self.item is not None else f"indicator:{self.indicators[0].id}"


MAX_NOTE = 2000


@dataclass(frozen=True)
class Decision:
    kind: str  # manifestly_unfounded | forward | request_information
    reasons: tuple[str, ...] = ()
    text: str = ""


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


class Forwarder(Protocol):
    def forward(self, session: Session, report: Report, actor: Actor, now: datetime) -> tuple[ReportState, str]: ...

    def unfounded(self, session: Session, report: Report, now: datetime) -> None: ...


class Assessment:
    def __init__(self, audit: AuditTrail, indicators: Indicators, clock: Callable[[], datetime],
                 claim_ttl: timedelta = CLAIM_TTL, forwarder: Forwarder | None = None) -> None:
        self._forwarder = forwarder
        self._audit = audit
        self._indicators = indicators
        self._clock = clock
        self.claim_ttl = claim_ttl

    # -- claims ----------------------------------------------------------------------------

    def claim(self, session: Session, user: User, report_id: uuid.UUID) -> ReportClaim:
        self._require_assessor(user)
        report = session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise AssessmentError("no such report")
        now = self._clock()
        claim = session.get(ReportClaim, report_id, with_for_update=True)
        if claim is not None and claim.user_id != user.id and claim.expires_at > now:
            holder = session.get(User, claim.user_id)
            raise Conflict(f"{holder.username if holder else 'another analyst'} is working on this report "
                           f"until {claim.expires_at:%H:%M} UTC")
        if claim is None:
            claim = ReportClaim(report_id=report_id, user_id=user.id, claimed_at=now, expires_at=now + self.claim_ttl)
            session.add(claim)
        else:
            claim.user_id, claim.claimed_at, claim.expires_at = user.id, now, now + self.claim_ttl
        session.flush()
        self._audit.record(session, AuditEvent.REPORT_CLAIM, _actor(user), "report", str(report_id), "assess report",
                           {"expires_at": claim.expires_at.isoformat()})
        return claim

    def release(self, session: Session, user: User, report_id: uuid.UUID) -> None:
        claim = session.get(ReportClaim, report_id, with_for_update=True)
        if claim is not None and claim.user_id == user.id:
            session.delete(claim)
            self._audit.record(session, AuditEvent.REPORT_RELEASE, _actor(user), "report", str(report_id), "release claim")

    def holder(self, session: Session, report_id: uuid.UUID) -> ReportClaim | None:
        claim = session.get(ReportClaim, report_id)
        if claim is None or claim.expires_at <= self._clock():
            return None
        return claim

    def _require_claim(self, session: Session, user: User, report_id: uuid.UUID) -> None:
        claim = session.get(ReportClaim, report_id, with_for_update=True)
        if claim is None or claim.user_id != user.id or claim.expires_at <= self._clock():
            raise Conflict("you do not hold this report any more (your claim expired or was taken): claim it again")
        claim.expires_at = self._clock() + self.claim_ttl  # working on it keeps it

    @staticmethod
    def _require_assessor(user: User) -> None:
        if user.role not in ASSESSOR_ROLES:
            raise AssessmentError("only analysts assess reports")

    # -- items -----------------------------------------------------------------------------

    def classify(
        self, session: Session, user: User, item_id: uuid.UUID, *, revision: int, outcome: str,
        classification: dict[str, Any] | None, note: str = "",
    ) -> Item:
        self._require_assessor(user)
        item = session.get(Item, item_id, with_for_update=True)
        if item is None:
            raise AssessmentError("no such item")
        self._require_claim(session, user, item.report_id)
        report = session.get(Report, item.report_id)
        assert report is not None
        if report.state != ReportState.IN_ASSESSMENT.value:
            raise Conflict(f"the report is {report.state}; items can be classified only while it is in assessment")
        if item.revision != revision:
            raise Conflict("this item was classified by someone else since you opened it: reload to see their assessment")
        if outcome not in OUTCOMES:
            raise AssessmentError(f"outcome must be one of {', '.join(OUTCOMES)}")
        clean = validate_classification(classification or {}) if outcome == "illegal" else {}
        now = self._clock()
        item.outcome, item.classification = outcome, clean or None
        item.assessment_source, item.assessed_by, item.assessed_at = "analyst", str(user.id), now
        item.revision += 1
        note = " ".join(note.split())[:MAX_NOTE]
        self._audit.record(session, AuditEvent.ITEM_ASSESS, _actor(user), "item", str(item.id), "assess item",
                           {"outcome": outcome, "classification": clean, "report": str(item.report_id),
                            **({"note": note} if note else {})})
        if outcome == "illegal" and not item.matched:
            self._propose_indicators(session, user, item, clean, now, note)
        return item

    def _propose_indicators(self, session: Session, user: User, item: Item, classification: dict[str, Any],
                            now: datetime, note: str = "") -> None:
        """New, unmatched illegal material becomes a candidate indicator: it matches nothing
        until a second, senior analyst confirms it."""
        values: list[tuple[Algorithm, str]] = []
        pdq = (item.hashes or {}).get("pdq")
        if pdq and (item.hashes or {}).get("pdq_quality", 0) >= 50:
            values.append((Algorithm.PDQ, pdq))
        if item.md5:
            values.append((Algorithm.VIDEO_MD5 if item.media_type == "video" else Algorithm.MD5, item.md5))
        if item.sha256 and item.media_type != "video":
            values.append((Algorithm.SHA256, item.sha256))
        for algorithm, value in values:
            existing = session.execute(
                select(Indicator).where(Indicator.algorithm == algorithm.value, Indicator.value == value)
            ).scalar_one_or_none()
            if existing is not None:
                continue
            proposed = Indicator(
                kind=IndicatorKind.NEW_CSAM.value, media_type=item.media_type or "image", algorithm=algorithm.value,
                value=value, quality=(item.hashes or {}).get("pdq_quality") if algorithm is Algorithm.PDQ else None,
                classification=classification or None,
                provenance={"assessment": {"item": str(item.id), "report": str(item.report_id),
                                           "assessed_by": str(user.id), "assessed_at": now.isoformat(),
                                           **({"note": note} if note else {})}},
                status=IndicatorStatus.CANDIDATE.value, version=self._indicators.reserve_versions(session, 1),
                created_at=now, updated_at=now,
            )
            session.add(proposed)
            session.flush()
            record_history(session, proposed, HistoryAction.PROPOSED, _actor(user), now,
                           detail={"item": str(item.id), "report": str(item.report_id)})
        session.flush()

    # -- four eyes -------------------------------------------------------------------------

    def candidates(self, session: Session) -> list[Indicator]:
        return list(session.execute(
            select(Indicator).where(Indicator.status == IndicatorStatus.CANDIDATE.value).order_by(Indicator.id)
        ).scalars())

    def awaiting(self, session: Session) -> list[AwaitingItem]:
        """The items whose candidate indicators wait for a second pair of eyes, oldest first."""
        out = []
        for key, indicators in candidates_by_item(session).items():
            item = None if key.startswith("indicator:") else session.get(Item, uuid.UUID(key))
            assessment = (indicators[0].provenance or {}).get("assessment") or {}
            out.append(AwaitingItem(
                item=item, indicators=tuple(indicators), assessed_by=proposed_by(indicators[0]),
                assessed_at=assessment.get("assessed_at"), note=str(assessment.get("note") or ""),
                classification=(item.classification if item is not None and item.classification
                                else indicators[0].classification) or {}))
        return out

    def waiting_for(self, session: Session, user: User) -> int:
        """How many items wait for this senior analyst's confirmation (not those they assessed)."""
        if user.role != Role.SENIOR_ANALYST.value:
            return 0
        return sum(1 for group in candidates_by_item(session).values() if proposed_by(group[0]) != str(user.id))

    def confirm_item(self, session: Session, user: User, item_id: uuid.UUID, *, accept: bool,
                     note: str = "") -> list[Indicator]:
        """Four eyes on one item: every candidate indicator its assessment proposed (PDQ, MD5,
        SHA-256) is confirmed or rejected at once, recorded as one audit event."""
        if user.role != Role.SENIOR_ANALYST.value:
            raise AssessmentError("only a senior analyst confirms indicators")
        # Lock the candidates, then keep those this item's assessment proposed.
        rows = session.execute(select(Indicator).where(Indicator.status == IndicatorStatus.CANDIDATE.value)
                               .order_by(Indicator.id).with_for_update()).scalars().all()
        group = [i for i in rows if ((i.provenance or {}).get("assessment") or {}).get("item") == str(item_id)]
        if not group:
            raise Conflict("nothing of this item waits for confirmation (it was already decided)")
        if any(proposed_by(i) == str(user.id) for i in group):
            raise AssessmentError("four eyes: the analyst who assessed the item cannot also confirm it")
        note = " ".join(note.split())[:MAX_NOTE]
        now = self._clock()
        first = self._indicators.reserve_versions(session, len(group))
        # Four eyes make the centre's candidate ready, not active: it waits for a coordinating
        # authority's confirmation (CSAR Art. 36(3)) before it joins the database.
        status = (IndicatorStatus.AWAITING_AUTHORITY if accept else IndicatorStatus.DELETED).value
        confirmation = {"by": str(user.id), "at": now.isoformat(), "accepted": accept, "note": note, "item": str(item_id)}
        for offset, indicator in enumerate(group):
            indicator.status, indicator.version, indicator.updated_at = status, first + offset, now
            indicator.provenance = {**(indicator.provenance or {}), "confirmation": confirmation}
            self._await_authority(session, user, indicator, accept, now, note)
        event = AuditEvent.INDICATOR_CONFIRM if accept else AuditEvent.INDICATOR_REJECT
        report = ((group[0].provenance or {}).get("assessment") or {}).get("report")
        self._audit.record(session, event, _actor(user), "item", str(item_id), "four-eyes confirmation",
                           {"indicators": [i.id for i in group], "algorithms": [i.algorithm for i in group],
                            "versions": [i.version for i in group], "report": report, "note": note})
        return group

    def confirm(self, session: Session, user: User, indicator_id: int, *, accept: bool, note: str = "") -> Indicator:
        if user.role != Role.SENIOR_ANALYST.value:
            raise AssessmentError("only a senior analyst confirms indicators")
        indicator = session.get(Indicator, indicator_id, with_for_update=True)
        if indicator is None or indicator.status != IndicatorStatus.CANDIDATE.value:
            raise Conflict("this candidate was already decided")
        assessed_by = ((indicator.provenance or {}).get("assessment") or {}).get("assessed_by")
        if assessed_by == str(user.id):
            raise AssessmentError("four eyes: the analyst who assessed the item cannot also confirm it")
        now = self._clock()
        indicator.status = (IndicatorStatus.AWAITING_AUTHORITY if accept else IndicatorStatus.DELETED).value
        indicator.version = self._indicators.reserve_versions(session, 1)
        indicator.updated_at = now
        indicator.provenance = {**(indicator.provenance or {}),
                                "confirmation": {"by": str(user.id), "at": now.isoformat(), "accepted": accept, "note": note}}
        self._await_authority(session, user, indicator, accept, now, note)
        event = AuditEvent.INDICATOR_CONFIRM if accept else AuditEvent.INDICATOR_REJECT
        self._audit.record(session, event, _actor(user), "indicator", str(indicator.id), "four-eyes confirmation",
                           {"version": indicator.version, "note": note})
        return indicator

    def _await_authority(self, session: Session, user: User, indicator: Indicator, accept: bool, now: datetime,
                         note: str) -> None:
        if accept:
            indicator.awaiting_since = now
            indicator.authority_due_at = add_months(now, authority_months(extended=False))
        record_history(session, indicator, HistoryAction.FOUR_EYES if accept else HistoryAction.REJECTED,
                       _actor(user), now, detail={"note": note} if note else None)

    # -- report decisions ------------------------------------------------------------------

    def decide(self, session: Session, user: User, report_id: uuid.UUID, *, revision: int, decision: Decision) -> Report:
        self._require_assessor(user)
        report = session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise AssessmentError("no such report")
        self._require_claim(session, user, report_id)
        if report.revision != revision:
            raise Conflict("this report changed since you opened it (another decision was taken): reload it")
        if report.state != ReportState.IN_ASSESSMENT.value:
            raise Conflict(f"the report is already {report.state}")
        now = self._clock()
        actor = _actor(user)
        if decision.kind == "manifestly_unfounded":
            unknown = [r for r in decision.reasons if r not in UNFOUNDED_REASONS]
            if not decision.reasons or unknown:
                raise AssessmentError("choose at least one reason code" if not unknown else f"unknown reason codes: {unknown}")
            if "other" in decision.reasons and not decision.text.strip():
                raise AssessmentError("explain the 'other' reason in the text")
            report.outcome = "manifestly_unfounded"
            report.outcome_reasons = [{"code": r, "label": UNFOUNDED_REASONS[r]} for r in decision.reasons]
            report.outcome_text = decision.text.strip() or None
            transition(session, self._audit, report, ReportState.MANIFESTLY_UNFOUNDED, actor,
                       "manifestly unfounded: " + ", ".join(decision.reasons), now)
            if self._forwarder is not None:
                # The provider is told, with the reasons, so it can correct its detection.
                self._forwarder.unfounded(session, report, now)
        elif decision.kind == "forward":
            if any(i.outcome is None and i.kind == "media" for i in report.items):
                raise AssessmentError("classify every media item before forwarding")
            if not any(i.outcome == "illegal" for i in report.items) and not decision.text.strip():
                raise AssessmentError("no item is assessed illegal: say in the text why the report is forwarded")
            report.outcome = "forwarded"
            report.outcome_reasons = [{"code": "forwarded", "label": "forwarded to law enforcement"}]
            report.outcome_text = decision.text.strip() or None
            if self._forwarder is None:
                # Without routing, CSAR Art. 48(3) applies: Europol only, with the reason.
                target, why = ReportState.FORWARDED_EUROPOL_ONLY, "forwarded; Member State not determined"
            else:
                target, why = self._forwarder.forward(session, report, actor, now)
            transition(session, self._audit, report, target, actor, why, now)
        elif decision.kind == "request_information":
            if not decision.text.strip():
                raise AssessmentError("say what information is needed")
            report.information_request = decision.text.strip()
            transition(session, self._audit, report, ReportState.INFORMATION_REQUESTED, actor,
                       "information requested by the analyst", now)
        else:
            raise AssessmentError(f"unknown decision {decision.kind!r}")
        report.decided_by, report.decided_at = str(user.id), now
        self._audit.record(session, AuditEvent.REPORT_DECIDE, actor, "report", str(report.id), "decide report",
                           {"decision": decision.kind, "reasons": list(decision.reasons)})
        claim = session.get(ReportClaim, report_id)
        if claim is not None:
            session.delete(claim)
        return report
