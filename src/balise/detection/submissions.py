"""Article 36 submissions: the only way an indicator is generated (CSAR Art. 36, 44(4)).

A coordinating authority submits hashes a competent authority confirmed, with its decision
reference (API, or staff enter it in the staff pages or with ``balise submissions add``); a court
decision is recorded the same way with the process ``court_decision``. Each hash becomes an
active indicator linked to the submission, or, when the centre already holds it as a candidate
(its own new material, confirmed by four eyes and waiting for the authority), confirms that
candidate. Every change of an indicator is a row of its history (detection/provenance.py).

The periodic re-verification (CSAR Art. 46(7)) checks that each active indicator is still
backed by a submission that stands, and that URL indicators are still served.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Indicator,
    IndicatorHistory,
    IndicatorSubmission,
    IndicatorVerificationRun,
    Organisation,
)
from balise.detection.indicators import Backing, ImportReport, Indicators
from balise.detection.provenance import actor_label, record_history
from balise.domain.audit import AuditEvent
from balise.domain.clocks import add_months
from balise.domain.indicators import MEDIA_TYPE, Algorithm, IndicatorKind, IndicatorStatus
from balise.domain.model import OrgKind
from balise.domain.submissions import (
    AUTHORITY_CLOCK_EXTENDED_MONTHS,
    Decision,
    HistoryAction,
    InvalidSubmission,
    SubmissionChannel,
    SubmissionProcess,
    SubmissionTerms,
)
from balise.evidence.vault import EvidenceVault
from balise.governance.audit import AuditTrail

SYSTEM = Actor.system("indicator-verification")
MAX_PROBLEMS_KEPT = 500
URLS_PER_RUN = 50


class NotAnAuthority(PermissionError):
    """The organisation is not a coordinating authority (or is suspended)."""


class SubmissionConflict(ValueError):
    """Refused: the record is not in a state that allows this (already extended, withdrawn...)."""


@dataclass
class SubmissionResult:
    submission: IndicatorSubmission
    created: list[Indicator] = field(default_factory=list)
    confirmed: list[Indicator] = field(default_factory=list)  # the centre's candidates, now active
    reconfirmed: list[Indicator] = field(default_factory=list)  # already held: named again

    def indicators(self) -> list[tuple[Indicator, str]]:
        return ([(i, "created") for i in self.created] + [(i, "confirmed") for i in self.confirmed]
                + [(i, "reconfirmed") for i in self.reconfirmed])


@dataclass(frozen=True)
class Provenance:
    indicator: Indicator
    submission: IndicatorSubmission | None
    history: list[IndicatorHistory]


@dataclass
class Material:
    """A file a coordinating authority submitted (Art. 36 "material"), hashed: its exact and
    perceptual hashes become indicators; the file itself is kept encrypted in the vault."""

    field: str  # the form part, named in every refusal
    filename: str | None
    path: str
    size: int
    sha256: str
    media_type: str  # image or video
    hashes: list[dict[str, str]]  # {algorithm, value}: checked with the submission's other hashes
    vpdq: list[tuple[int, int, str, float]] | None = None  # a video's frames


def hash_material(field_name: str, filename: str | None, path: str, size: int, max_bytes: int,
                  hasher: Callable[[str], dict[str, Any]]) -> Material:
    """Hash one submitted file like intake does (exact hashes, PDQ or vPDQ, in an isolated
    process), or InvalidSubmission naming its part: too large, not decodable, not a picture or
    a video, or carrying active content (a file that is also another format)."""
    if size == 0:
        raise InvalidSubmission(field_name, "is empty")
    if size > max_bytes:
        raise InvalidSubmission(field_name, f"has {size} bytes; the limit is {max_bytes}")
    result = hasher(path)
    if result.get("polyglot"):
        raise InvalidSubmission(field_name, "carries active content: the file is also "
                                + ", ".join(str(x) for x in result["polyglot"]))
    media_type = result.get("media_type")
    if media_type not in ("image", "video"):
        raise InvalidSubmission(field_name, "is not a picture or a video: " + str(result.get("error") or media_type))
    if result.get("status") == "error":
        raise InvalidSubmission(field_name, f"cannot be decoded: {result.get('error') or 'unknown error'}")
    if media_type == "image" and result.get("pdq"):
        hashes = [{"algorithm": "md5", "value": result["md5"]}, {"algorithm": "sha1", "value": result["sha1"]},
                  {"algorithm": "sha256", "value": result["sha256"]}, {"algorithm": "pdq", "value": result["pdq"]}]
        return Material(field_name, filename, path, size, result["sha256"], "image", hashes)
    if media_type == "video" and result.get("vpdq"):
        frames = [(int(f["frame_number"]), int(f["quality"]), str(f["pdq"]), float(f["timestamp"]))
                  for f in result["vpdq"]]
        return Material(field_name, filename, path, size, result["sha256"], "video",
                        [{"algorithm": "video_md5", "value": result["md5"]}], frames)
    raise InvalidSubmission(field_name, "is not a picture or a video that can be hashed")


class Submissions:
    def __init__(self, audit: AuditTrail, indicators: Indicators, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._indicators = indicators
        self._clock = clock

    # -- who may submit --------------------------------------------------------------------

    def authority(self, session: Session, organisation_id: uuid.UUID) -> Organisation:
        org = session.get(Organisation, organisation_id)
        if org is None or org.kind != OrgKind.COORDINATING_AUTHORITY.value:
            raise NotAnAuthority("only a coordinating authority submits confirmed material (CSAR Art. 36)")
        if org.suspended_at is not None:
            raise NotAnAuthority(f"the organisation {org.name} is suspended")
        return org

    def authorities(self, session: Session) -> list[Organisation]:
        return list(session.execute(select(Organisation).where(
            Organisation.kind == OrgKind.COORDINATING_AUTHORITY.value, Organisation.suspended_at.is_(None))
            .order_by(Organisation.name)).scalars())

    def refuse(self, session: Session, actor: Actor, reason: str, field_name: str) -> None:
        """Record a refused submission (nothing else is stored): who tried, what was wrong."""
        self._audit.record(session, AuditEvent.SUBMISSION_REFUSE, actor, "submission", "refused",
                           "Article 36 submission refused", {"field": field_name, "reason": reason[:300]})

    # -- submit ----------------------------------------------------------------------------

    def open(self, session: Session, actor: Actor, *, reference: str, process: SubmissionProcess,
             kind: IndicatorKind, authority: str, channel: SubmissionChannel, organisation_id: uuid.UUID | None,
             decided_at: datetime | None = None, classification: dict[str, Any] | None = None, note: str = "",
             hash_count: int = 0) -> tuple[IndicatorSubmission, dict[str, Any]]:
        """Store the submission record (flushed, with its id) and the provenance its indicators
        keep. A coordinating authority's submission names the organisation; a court decision may
        be entered without one (its court is ``authority``)."""
        if organisation_id is not None:
            authority_name = self.authority(session, organisation_id).name
        else:
            if process is not SubmissionProcess.COURT_DECISION:
                raise InvalidSubmission("authority", "a submission comes from a coordinating authority; only a "
                                                     "court decision is recorded without one")
            authority_name = authority
        submission = IndicatorSubmission(
            organisation_id=organisation_id, authority=authority_name, reference=reference,
            process=process.value, kind=kind.value, decided_at=decided_at,
            classification=classification, note=note or None, channel=channel.value,
            entered_by=f"{actor.type.value}:{actor.id}" + (f" ({actor.label})" if actor.label else ""),
            received_at=self._clock(), hash_count=hash_count)
        session.add(submission)
        session.flush()
        return submission, {"id": submission.id, "authority": authority_name, "reference": reference,
                            "process": process.value}

    def import_stream(self, session: Session, actor: Actor, decision: Decision, binary: BinaryIO, *,
                      organisation_id: uuid.UUID | None, fmt: str, source: str,
                      default_kind: IndicatorKind) -> tuple[IndicatorSubmission, ImportReport]:
        """An indicator file under one authority's (or court's) decision: ONE submission, which
        every indicator the file creates or changes keeps, with a history row each (CSAR Art. 36,
        44(4)); in the caller's transaction, so a refused file leaves no submission either."""
        submission, provenance = self.open(session, actor, reference=decision.reference, process=decision.process,
                                           kind=decision.kind, authority=decision.authority,
                                           channel=SubmissionChannel.CLI, organisation_id=organisation_id,
                                           note=f"indicator file {source} ({fmt})")
        backing = Backing(submission.id, provenance, actor_label(actor)[:300])
        report = self._indicators.import_stream(session, actor, binary, fmt=fmt, source=source,
                                                default_kind=default_kind, backing=backing)
        submission.hash_count = report.imported + report.updated + report.unchanged
        self._audit.record(
            session, AuditEvent.SUBMISSION_CREATE, actor, "submission", str(submission.id),
            "Article 36 submission (indicator file)",
            {"authority": submission.authority, "reference": decision.reference, "process": decision.process.value,
             "kind": decision.kind.value, "channel": SubmissionChannel.CLI.value, "file": source, "format": fmt,
             "hashes": submission.hash_count, "created": report.imported, "updated": report.updated,
             "unchanged": report.unchanged, "rejected": report.rejected})
        return submission, report

    def add_video(self, session: Session, actor: Actor, decision: Decision, *, organisation_id: uuid.UUID | None,
                  frames: list[tuple[int, int, str, float]], classification: dict[str, Any] | None,
                  source: str) -> tuple[IndicatorSubmission, Indicator]:
        """One vPDQ indicator under an authority's (or court's) decision: one submission."""
        submission, provenance = self.open(session, actor, reference=decision.reference, process=decision.process,
                                           kind=decision.kind, authority=decision.authority,
                                           channel=SubmissionChannel.CLI, organisation_id=organisation_id,
                                           hash_count=1)
        ind = self._indicators.add_vpdq(session, actor, frames=frames, kind=decision.kind,
                                        provenance={"submission": provenance, "file": source},
                                        classification=classification, submission_id=submission.id)
        self._audit.record(
            session, AuditEvent.SUBMISSION_CREATE, actor, "submission", str(submission.id),
            "Article 36 submission (video)",
            {"authority": submission.authority, "reference": decision.reference, "process": decision.process.value,
             "kind": decision.kind.value, "channel": SubmissionChannel.CLI.value, "file": source, "hashes": 1,
             "indicator": ind.id})
        return submission, ind

    def submit(self, session: Session, actor: Actor, terms: SubmissionTerms, *, channel: SubmissionChannel,
               organisation_id: uuid.UUID | None, material: Sequence[Material] = (),
               vault: EvidenceVault | None = None, stored: list[Any] | None = None) -> SubmissionResult:
        """Store the submission and generate or confirm its indicators, in the caller's
        transaction. A coordinating authority's submission names the organisation; a court
        decision may be entered without one (its court is ``terms.authority``)."""
        submission, source = self.open(session, actor, reference=terms.reference, process=terms.process,
                                       kind=terms.kind, authority=terms.authority, channel=channel,
                                       organisation_id=organisation_id, decided_at=terms.decided_at,
                                       classification=terms.classification, note=terms.note,
                                       hash_count=len(terms.hashes))
        authority_name = submission.authority
        now = submission.received_at
        result = SubmissionResult(submission)
        if material:
            assert vault is not None and stored is not None
            source["material"] = [{"sha256": m.sha256, "media_type": m.media_type, "size": m.size,
                                   "part": m.field} for m in material]
            for m in material:
                with open(m.path, "rb") as stream:
                    blob = vault.store(session, m.sha256, stream, actor,
                                       f"material of Article 36 submission {submission.id} ({terms.reference})")
                if blob.created:
                    stored.append(blob)
        keys = [(h.algorithm.value, h.value) for h in terms.hashes]
        existing: dict[tuple[str, str], Indicator] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for ind in session.execute(select(Indicator).where(tuple_(Indicator.algorithm, Indicator.value).in_(chunk))
                                       .with_for_update()).scalars():
                existing[(ind.algorithm, ind.value)] = ind
        first = self._indicators.reserve_versions(session, len(keys))
        for offset, h in enumerate(terms.hashes):
            version = first + offset
            ind = existing.get((h.algorithm.value, h.value))
            if ind is None:
                ind = Indicator(kind=terms.kind.value, media_type=MEDIA_TYPE[h.algorithm], algorithm=h.algorithm.value,
                                value=h.value, classification=terms.classification,
                                provenance={"submission": source}, status=IndicatorStatus.ACTIVE.value,
                                version=version, created_at=now, updated_at=now, submission_id=submission.id)
                session.add(ind)
                session.flush()
                record_history(session, ind, HistoryAction.CREATED, actor, now, submission_id=submission.id,
                               detail={"reference": terms.reference, "process": terms.process.value,
                                       "authority": authority_name})
                result.created.append(ind)
                continue
            waiting = ind.status in (IndicatorStatus.CANDIDATE.value, IndicatorStatus.AWAITING_AUTHORITY.value)
            before = ind.status
            ind.status, ind.version, ind.updated_at = IndicatorStatus.ACTIVE.value, version, now
            if waiting or ind.submission_id is None:
                ind.submission_id = submission.id
                ind.kind = terms.kind.value if not waiting else ind.kind
                ind.provenance = {**(ind.provenance or {}), "submission": source}
                ind.classification = ind.classification or terms.classification
            else:
                ind.provenance = {**(ind.provenance or {}), "reconfirmed": source}
            ind.awaiting_since = ind.authority_due_at = None
            action = HistoryAction.AUTHORITY_CONFIRMED if waiting else HistoryAction.RECONFIRMED
            record_history(session, ind, action, actor, now, submission_id=submission.id,
                           detail={"reference": terms.reference, "process": terms.process.value,
                                   "authority": authority_name, "status_before": before})
            (result.confirmed if waiting else result.reconfirmed).append(ind)
        for m in material:
            if m.vpdq is None:
                continue
            ind = self._indicators.add_vpdq(session, actor, frames=m.vpdq, kind=terms.kind,
                                            provenance={"submission": source}, classification=terms.classification,
                                            submission_id=submission.id)
            result.created.append(ind)
        session.flush()
        self._audit.record(
            session, AuditEvent.SUBMISSION_CREATE, actor, "submission", str(submission.id),
            "Article 36 submission", {"authority": authority_name, "reference": terms.reference,
                                      "process": terms.process.value, "kind": terms.kind.value,
                                      "channel": channel.value, "hashes": len(keys),
                                      "material": [m.sha256 for m in material],
                                      "created": len(result.created), "confirmed": len(result.confirmed),
                                      "reconfirmed": len(result.reconfirmed)})
        if result.confirmed:
            self._audit.record(
                session, AuditEvent.INDICATOR_AUTHORITY_CONFIRM, actor, "submission", str(submission.id),
                "the authority confirmed the centre's candidates (CSAR Art. 36(3))",
                {"indicators": [i.id for i in result.confirmed], "reference": terms.reference})
        return result

    def withdraw(self, session: Session, actor: Actor, submission_id: int, reason: str,
                 organisation_id: uuid.UUID | None = None) -> list[Indicator]:
        """The authority withdraws its submission: the indicators it backs alone are suspended."""
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidSubmission("reason", "is required")
        submission = session.get(IndicatorSubmission, submission_id, with_for_update=True)
        if submission is None or (organisation_id is not None and submission.organisation_id != organisation_id):
            raise InvalidSubmission("submission", f"no submission {submission_id}")
        if submission.withdrawn_at is not None:
            raise SubmissionConflict("this submission was already withdrawn")
        now = self._clock()
        submission.withdrawn_at, submission.withdrawn_reason = now, reason[:2000]
        rows = list(session.execute(select(Indicator).where(
            Indicator.submission_id == submission_id, Indicator.status == IndicatorStatus.ACTIVE.value)
            .with_for_update()).scalars())
        if rows:
            first = self._indicators.reserve_versions(session, len(rows))
            for offset, ind in enumerate(rows):
                ind.status, ind.version, ind.updated_at = IndicatorStatus.SUSPENDED.value, first + offset, now
                record_history(session, ind, HistoryAction.SUBMISSION_WITHDRAWN, actor, now,
                               submission_id=submission_id, detail={"reason": reason[:300]})
        self._audit.record(session, AuditEvent.SUBMISSION_WITHDRAW, actor, "submission", str(submission_id),
                           reason[:300], {"suspended": [i.id for i in rows]})
        return rows

    # -- the centre's candidates waiting for an authority ------------------------------------

    def extend_clock(self, session: Session, actor: Actor, indicator_id: int, reason: str) -> Indicator:
        """The authority's month becomes two (CSAR Art. 36(3)), once, with a reason."""
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidSubmission("reason", "is required")
        ind = session.get(Indicator, indicator_id, with_for_update=True)
        if ind is None or ind.status != IndicatorStatus.AWAITING_AUTHORITY.value or ind.awaiting_since is None:
            raise SubmissionConflict(f"indicator {indicator_id} does not wait for an authority's confirmation")
        extended = add_months(ind.awaiting_since, AUTHORITY_CLOCK_EXTENDED_MONTHS)
        if ind.authority_due_at is not None and ind.authority_due_at >= extended:
            raise SubmissionConflict("the authority's clock was already extended to 2 months")
        now = self._clock()
        ind.authority_due_at = extended
        record_history(session, ind, HistoryAction.CLOCK_EXTENDED, actor, now,
                       detail={"due": extended.isoformat(), "reason": reason[:300]})
        self._audit.record(session, AuditEvent.INDICATOR_CLOCK_EXTEND, actor, "indicator", str(ind.id), reason[:300],
                           {"due": extended.isoformat()})
        return ind

    def awaiting(self, session: Session) -> list[Indicator]:
        return list(session.execute(select(Indicator).where(
            Indicator.status == IndicatorStatus.AWAITING_AUTHORITY.value).order_by(Indicator.awaiting_since,
                                                                                  Indicator.id)).scalars())

    # -- reading ---------------------------------------------------------------------------

    def list(self, session: Session, organisation_id: uuid.UUID | None = None, limit: int = 200
             ) -> list[IndicatorSubmission]:
        query = select(IndicatorSubmission).order_by(IndicatorSubmission.id.desc()).limit(limit)
        if organisation_id is not None:
            query = query.where(IndicatorSubmission.organisation_id == organisation_id)
        return list(session.execute(query).scalars())

    def indicators_of(self, session: Session, submission_id: int) -> list[Indicator]:
        ids = select(IndicatorHistory.indicator_id).where(IndicatorHistory.submission_id == submission_id)
        return list(session.execute(select(Indicator).where(Indicator.id.in_(ids)).order_by(Indicator.id)).scalars())

    def provenance(self, session: Session, actor: Actor, indicator_id: int, purpose: str) -> Provenance:
        """An indicator, its submission and its whole history: an audited read."""
        ind = session.get(Indicator, indicator_id)
        if ind is None:
            raise InvalidSubmission("indicator", f"no indicator {indicator_id}")
        history = list(session.execute(select(IndicatorHistory).where(IndicatorHistory.indicator_id == indicator_id)
                                       .order_by(IndicatorHistory.id)).scalars())
        submission = session.get(IndicatorSubmission, ind.submission_id) if ind.submission_id else None
        self._audit.record(session, AuditEvent.INDICATOR_HISTORY_READ, actor, "indicator", str(indicator_id), purpose,
                           {"history": len(history)})
        return Provenance(ind, submission, history)

    # -- periodic re-verification (CSAR Art. 46(7)) --------------------------------------------

    def verify(self, new_session: Callable[[], Any], fetch: Callable[[str], str] | None,
               urls_per_run: int = URLS_PER_RUN) -> IndicatorVerificationRun:
        """Check every active indicator: still backed by a submission that stands (not withdrawn,
        its authority not suspended); URL indicators: still served (``fetch`` returns the
        fetcher's outcome, outside any transaction). Records the run and, for each indicator
        found wanting, a history row; changes no status (staff decide)."""
        started = self._clock()
        with new_session() as session:
            standing = (select(IndicatorSubmission.id)
                        .outerjoin(Organisation, Organisation.id == IndicatorSubmission.organisation_id)
                        .where(IndicatorSubmission.withdrawn_at.is_(None), Organisation.suspended_at.is_(None)))
            checked = session.execute(select(func.count()).select_from(Indicator).where(
                Indicator.status == IndicatorStatus.ACTIVE.value)).scalar_one()
            not_backed = (Indicator.status == IndicatorStatus.ACTIVE.value,
                          (Indicator.submission_id.is_(None)) | (Indicator.submission_id.not_in(standing)))
            unconfirmed_count = session.execute(select(func.count()).select_from(Indicator).where(*not_backed)
                                                ).scalar_one()
            unconfirmed = [r[0] for r in session.execute(select(Indicator.id).where(*not_backed)
                                                         .order_by(Indicator.id).limit(MAX_PROBLEMS_KEPT)).all()]
            urls = [(r[0], r[1]) for r in session.execute(select(Indicator.id, Indicator.value).where(
                Indicator.status == IndicatorStatus.ACTIVE.value, Indicator.algorithm == Algorithm.URL.value)
                .order_by(Indicator.updated_at, Indicator.id).limit(urls_per_run)).all()]
        outcomes: dict[int, str] = {}
        if fetch is not None:
            for iid, url in urls:
                try:
                    outcomes[iid] = fetch(url)
                except Exception as exc:  # noqa: BLE001 - recorded, never fatal to the run
                    outcomes[iid] = f"error: {type(exc).__name__}"
        now = self._clock()
        problems: list[dict[str, Any]] = [{"indicator": i, "problem": "not_confirmed"} for i in unconfirmed]
        gone = [i for i, o in outcomes.items() if o == "gone"]
        problems += [{"indicator": i, "problem": "url_gone"} for i in gone]
        with new_session() as session, session.begin():
            flagged = sorted(set(unconfirmed) | set(gone))[:MAX_PROBLEMS_KEPT]
            for ind in session.execute(select(Indicator).where(Indicator.id.in_(flagged))).scalars():
                detail = {"hash_confirmed": ind.id not in unconfirmed}
                if ind.id in outcomes:
                    detail["url"] = outcomes[ind.id]
                record_history(session, ind, HistoryAction.VERIFIED, SYSTEM, now, detail=detail)
            run = IndicatorVerificationRun(
                started_at=started, finished_at=now, checked=int(checked),
                confirmed=int(checked) - int(unconfirmed_count), unconfirmed=int(unconfirmed_count), urls_checked=len(outcomes),
                urls_live=sum(1 for o in outcomes.values() if o == "served"), urls_gone=len(gone),
                problems=problems[:MAX_PROBLEMS_KEPT])
            session.add(run)
            session.flush()
            self._audit.record(session, AuditEvent.INDICATOR_VERIFY, SYSTEM, "indicators", str(run.id),
                               "periodic re-verification of indicators (CSAR Art. 46(7))",
                               {"checked": run.checked, "unconfirmed": run.unconfirmed,
                                "urls_checked": run.urls_checked, "urls_live": run.urls_live,
                                "urls_gone": run.urls_gone})
            session.expunge(run)
        return run

    def verification_runs(self, session: Session, limit: int = 20) -> list[IndicatorVerificationRun]:
        return list(session.execute(select(IndicatorVerificationRun).order_by(IndicatorVerificationRun.id.desc())
                                    .limit(limit)).scalars())
