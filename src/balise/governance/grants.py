"""Access grants (CSAR Art. 46): requests, decisions with reasons (four eyes for downloads),
the check every API access passes, expiry, and the periodic review (Art. 46(7)).

The check keeps an organisation's approved grants in memory while the credential epoch
(adapters/db/epoch.py) stays the same, and compares their validity with the clock on every
request: a decision, a revocation or any change of a grant raises the epoch (a database
trigger), and an expiry is a time the check compares, so a revoked or expired grant stops its
organisation's keys with the next request, in every process. Every decision, every refusal and
every expiry is in the audit trail (docs/audit-events.md, docs/oversight.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import AccessGrant, Organisation
from balise.domain.audit import AuditEvent
from balise.domain.grants import (
    DATABASE_LABELS,
    EXPIRING_DAYS,
    MAX_REASON,
    UNUSED_DAYS,
    GrantDatabase,
    GrantOperation,
    GrantState,
    GrantTerms,
    describe_missing,
    needs_review,
)
from balise.governance.audit import AuditTrail


class GrantError(ValueError):
    """A decision that cannot be taken (no such grant, wrong state, the same administrator twice)."""


def actor_ref(actor: Actor) -> str:
    """How a grant row names who acted: ``type:id:label``, so that four eyes compares ids and
    pages show the label."""
    return f"{actor.type.value}:{actor.id}:{actor.label}"[:300]


def actor_label(ref: str | None) -> str:
    if not ref:
        return ""
    kind, ident, label = (ref.split(":", 2) + ["", ""])[:3]
    return label or f"{kind} {ident}"


def _same_actor(ref: str | None, actor: Actor) -> bool:
    return bool(ref) and ref.split(":", 2)[:2] == [actor.type.value, actor.id]  # type: ignore[union-attr]


@dataclass(frozen=True)
class Access:
    """The answer of the check: the live grants that allow the operation and the databases they
    cover, or a refusal naming what is missing."""

    operation: GrantOperation
    wanted: tuple[GrantDatabase, ...]
    grants: tuple[tuple[int, str], ...] = ()  # (grant id, purpose)
    databases: frozenset[GrantDatabase] = field(default_factory=frozenset)

    @property
    def allowed(self) -> bool:
        return bool(self.grants)

    @property
    def missing(self) -> str:
        return describe_missing(self.wanted, self.operation)

    def audit_purpose(self) -> str:
        return "; ".join(f"under grant {gid}: {purpose}" for gid, purpose in self.grants)[:2000]

    def audit_details(self) -> dict[str, object]:
        return {"grants": [{"id": gid, "purpose": purpose} for gid, purpose in self.grants],
                "databases": sorted(d.value for d in self.databases)}


@dataclass(frozen=True)
class Review:
    """Art. 46(7): live grants unused for 90 days, and grants ending within 30 days."""

    unused: list[AccessGrant]
    expiring: list[AccessGrant]
    unused_days: int = UNUSED_DAYS
    expiring_days: int = EXPIRING_DAYS


def _reason(reason: str | None, what: str) -> str:
    text = " ".join((reason or "").split())
    if len(text) < 5:
        raise GrantError(f"give the reason for the {what} (at least 5 characters)")
    if len(text) > MAX_REASON:
        raise GrantError(f"the reason is longer than {MAX_REASON} characters")
    return text


# Built once: the check runs on every API request, and building the statement cost more than
# running it (benchmarks/bench_match_grant.py).
_LIVE_GRANTS = (select(AccessGrant.id, AccessGrant.purpose, AccessGrant.databases, AccessGrant.operations)
                .where(AccessGrant.organisation_id == bindparam("org"),
                       AccessGrant.state == GrantState.APPROVED.value,
                       AccessGrant.valid_from <= bindparam("now"), AccessGrant.valid_until > bindparam("now"))
                .order_by(AccessGrant.id))


# Every approved grant of one organisation, its validity compared in memory with the clock.
_APPROVED_GRANTS = (select(AccessGrant.id, AccessGrant.purpose, AccessGrant.databases, AccessGrant.operations,
                           AccessGrant.valid_from, AccessGrant.valid_until)
                    .where(AccessGrant.organisation_id == bindparam("org"),
                           AccessGrant.state == GrantState.APPROVED.value)
                    .order_by(AccessGrant.id))
CACHE_LIMIT = 10_000


# The review counts days without use: noting each use once an hour (per grant and process) is
# precise enough, and spares a write transaction per match query.
USE_MARK_INTERVAL = timedelta(hours=1)


class Grants:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock
        self._marked: dict[int, datetime] = {}
        # organisation id -> (credential epoch, its approved grants with their validity)
        self._approved: dict[object, tuple[int, list[tuple[int, str, list[str], list[str], datetime, datetime]]]] = {}

    # -- requests and decisions ------------------------------------------------------------

    def request(self, session: Session, actor: Actor, organisation_id: object, terms: GrantTerms) -> AccessGrant:
        org = session.get(Organisation, organisation_id)
        if org is None:
            raise GrantError(f"no organisation {organisation_id}")
        grant = AccessGrant(
            organisation_id=org.id, databases=[d.value for d in terms.databases],
            operations=[o.value for o in terms.operations], purpose=terms.purpose, legal_basis=terms.legal_basis,
            order_reference=terms.order_reference, valid_from=terms.valid_from, valid_until=terms.valid_until,
            state=GrantState.REQUESTED.value, requested_at=self._clock(), requested_by=actor_ref(actor),
        )
        session.add(grant)
        session.flush()
        self._audit.record(session, AuditEvent.GRANT_REQUEST, actor, "grant", str(grant.id), terms.purpose, {
            "organisation": str(org.id), "databases": grant.databases, "operations": grant.operations,
            "legal_basis": terms.legal_basis, "order_reference": terms.order_reference,
            "valid_from": terms.valid_from.isoformat(), "valid_until": terms.valid_until.isoformat()})
        return grant

    def _get(self, session: Session, grant_id: int) -> AccessGrant:
        grant = session.execute(select(AccessGrant).where(AccessGrant.id == grant_id).with_for_update()).scalar_one_or_none()
        if grant is None:
            raise GrantError(f"no grant {grant_id}")
        return grant

    def approve(self, session: Session, actor: Actor, grant_id: int, reason: str) -> AccessGrant:
        """Approve; a grant to download indicators needs two different administrators, so the
        first approval leaves it awaiting the second."""
        text = _reason(reason, "approval")
        grant = self._get(session, grant_id)
        now = self._clock()
        if grant.state not in (GrantState.REQUESTED.value, GrantState.AWAITING_SECOND_APPROVAL.value):
            raise GrantError(f"grant {grant.id} is {grant.state}; only a requested grant can be approved")
        if grant.valid_until <= now:
            raise GrantError(f"grant {grant.id} ended on {grant.valid_until:%Y-%m-%d %H:%M} UTC before it was approved; "
                             "reject it and request a new one")
        four_eyes = GrantOperation.DOWNLOAD.value in grant.operations
        if four_eyes and grant.state == GrantState.REQUESTED.value:
            grant.state = GrantState.AWAITING_SECOND_APPROVAL.value
            grant.first_approved_by, grant.first_approved_at, grant.first_approval_reason = actor_ref(actor), now, text
            stage = "first"
        else:
            if four_eyes and _same_actor(grant.first_approved_by, actor):
                raise GrantError(f"grant {grant.id} allows downloading indicators: a second, different administrator "
                                 f"must approve it ({actor_label(grant.first_approved_by)} gave the first approval)")
            grant.state = GrantState.APPROVED.value
            grant.decided_by, grant.decided_at, grant.decision_reason = actor_ref(actor), now, text
            stage = "final"
        self._audit.record(session, AuditEvent.GRANT_APPROVE, actor, "grant", str(grant.id), text,
                           {"stage": stage, "organisation": str(grant.organisation_id), "state": grant.state})
        return grant

    def reject(self, session: Session, actor: Actor, grant_id: int, reason: str) -> AccessGrant:
        text = _reason(reason, "rejection")
        grant = self._get(session, grant_id)
        if grant.state not in (GrantState.REQUESTED.value, GrantState.AWAITING_SECOND_APPROVAL.value):
            raise GrantError(f"grant {grant.id} is {grant.state}; only a requested grant can be rejected "
                             "(revoke an approved one)")
        grant.state = GrantState.REJECTED.value
        grant.decided_by, grant.decided_at, grant.decision_reason = actor_ref(actor), self._clock(), text
        self._audit.record(session, AuditEvent.GRANT_REJECT, actor, "grant", str(grant.id), text,
                           {"organisation": str(grant.organisation_id)})
        return grant

    def revoke(self, session: Session, actor: Actor, grant_id: int, reason: str) -> AccessGrant:
        text = _reason(reason, "revocation")
        grant = self._get(session, grant_id)
        if grant.state != GrantState.APPROVED.value:
            raise GrantError(f"grant {grant.id} is {grant.state}; only an approved grant can be revoked")
        grant.state = GrantState.REVOKED.value
        grant.revoked_by, grant.revoked_at, grant.revoke_reason = actor_ref(actor), self._clock(), text
        self._audit.record(session, AuditEvent.GRANT_REVOKE, actor, "grant", str(grant.id), text,
                           {"organisation": str(grant.organisation_id)})
        return grant

    def expire(self, session: Session, actor: Actor) -> int:
        """Close every grant whose validity ended, approved or still undecided (once each)."""
        now = self._clock()
        due = session.execute(select(AccessGrant).where(
            AccessGrant.state.in_((GrantState.APPROVED.value, GrantState.REQUESTED.value,
                                   GrantState.AWAITING_SECOND_APPROVAL.value)),
            AccessGrant.valid_until <= now).with_for_update(skip_locked=True)).scalars().all()
        for grant in due:
            was = grant.state
            grant.state, grant.expired_at = GrantState.EXPIRED.value, now
            self._audit.record(session, AuditEvent.GRANT_EXPIRE, actor, "grant", str(grant.id), "grant validity ended",
                               {"organisation": str(grant.organisation_id), "was": was,
                                "valid_until": grant.valid_until.isoformat()})
        return len(due)

    # -- the check ------------------------------------------------------------------------

    def check(self, session: Session, organisation_id: object, operation: GrantOperation,
              wanted: Iterable[GrantDatabase], epoch: int | None = None) -> Access:
        """The live grants of the organisation allowing ``operation`` on any of ``wanted``.
        Without ``epoch``, read from the database; with the credential epoch read in this
        session, from this process's memory while the epoch is unchanged (any change of a grant
        raises it), the validity compared with the clock each time: a revocation or an expiry
        counts from the next request either way."""
        wanted = tuple(wanted)
        now = self._clock()
        if epoch is None:
            rows = session.execute(_LIVE_GRANTS, {"org": organisation_id, "now": now}).all()
        else:
            cached = self._approved.get(organisation_id)
            if cached is None or cached[0] != epoch:
                if len(self._approved) >= CACHE_LIMIT:
                    self._approved = {}
                cached = (epoch, [tuple(r) for r in session.execute(_APPROVED_GRANTS, {"org": organisation_id})])
                self._approved[organisation_id] = cached  # type: ignore[assignment]
            rows = _live(cached[1], now)
        return _access(rows, operation, wanted)

    def from_memory(self, organisation_id: object, operation: GrantOperation, wanted: Iterable[GrantDatabase],
                    epoch: int) -> Access | None:
        """:meth:`check` answered from this process's memory, or None if the organisation's
        grants at ``epoch`` are not there (the caller then checks with a session). Reads and
        changes nothing: for the event loop (web/api/match.py)."""
        cached = self._approved.get(organisation_id)
        if cached is None or cached[0] != epoch:
            return None
        return _access(_live(cached[1], self._clock()), operation, tuple(wanted))

    def refused(self, session: Session, actor: Actor, organisation_id: object, access: Access, endpoint: str) -> None:
        self._audit.record(session, AuditEvent.GRANT_REFUSE, actor, "organisation", str(organisation_id),
                           f"refused: no live grant for {access.missing}",
                           {"operation": access.operation.value, "databases": [d.value for d in access.wanted],
                            "endpoint": endpoint})

    def needs_use_mark(self, access: Access) -> bool:
        """Whether one of the access's grants has not had its use noted by this process within
        ``USE_MARK_INTERVAL``."""
        now = self._clock()
        return any(self._marked.get(g) is None or abs(now - self._marked[g]) >= USE_MARK_INTERVAL
                   for g, _ in access.grants)

    def used(self, session: Session, access: Access) -> None:
        """Record the last use of the grants an access went through (for the review)."""
        if access.grants:
            now = self._clock()
            session.execute(update(AccessGrant).where(AccessGrant.id.in_([g for g, _ in access.grants]))
                            .values(last_used_at=now))
            for g, _ in access.grants:
                self._marked[g] = now

    # -- reading ------------------------------------------------------------------------

    def list(self, session: Session, organisation_id: object | None = None,
             states: Iterable[str] | None = None) -> list[AccessGrant]:
        query = select(AccessGrant)
        if organisation_id is not None:
            query = query.where(AccessGrant.organisation_id == organisation_id)
        if states:
            query = query.where(AccessGrant.state.in_(list(states)))
        return list(session.execute(query.order_by(AccessGrant.id.desc())).scalars())

    def review(self, session: Session) -> Review:
        now = self._clock()
        live = session.execute(select(AccessGrant).where(
            AccessGrant.state == GrantState.APPROVED.value,
            or_(AccessGrant.last_used_at.is_(None), AccessGrant.last_used_at <= now - timedelta(days=UNUSED_DAYS),
                AccessGrant.valid_until <= now + timedelta(days=EXPIRING_DAYS)))
            .order_by(AccessGrant.valid_until)).scalars().all()
        unused, expiring = [], []
        for grant in live:
            reasons = needs_review(grant.state, grant.last_used_at, grant.decided_at, grant.valid_until, now)
            if "unused" in reasons:
                unused.append(grant)
            if "expiring" in reasons:
                expiring.append(grant)
        return Review(unused, expiring)


def describe(grant: AccessGrant) -> str:
    """One line for the command line."""
    dbs = ", ".join(DATABASE_LABELS.get(GrantDatabase(d), d) for d in grant.databases)
    return (f"grant {grant.id} [{grant.state}] {', '.join(grant.operations)} on {dbs}; "
            f"{grant.valid_from:%Y-%m-%d} to {grant.valid_until:%Y-%m-%d}; purpose: {grant.purpose}")


def _live(approved: list[tuple[Any, ...]], now: datetime) -> list[tuple[Any, ...]]:
    """Of the approved grants cached (id, purpose, databases, operations, from, until), those
    valid at ``now``, without their period."""
    return [(gid, purpose, databases, operations)
            for gid, purpose, databases, operations, start, end in approved if start <= now < end]


def _access(rows: Iterable[tuple[Any, ...]], operation: GrantOperation, wanted: tuple[GrantDatabase, ...]) -> Access:
    """What the live grants ``rows`` (id, purpose, databases, operations) allow."""
    grants, covered = [], set()
    for gid, purpose, databases, operations in rows:
        if operation.value not in operations:
            continue
        mine = {GrantDatabase(d) for d in databases} & set(wanted)
        if mine:
            grants.append((gid, purpose))
            covered |= mine
    return Access(operation, wanted, tuple(grants), frozenset(covered))
