"""The cross-report entity index (docs/intelligence.md): what each report names, extracted and
normalised by a job queued with the report, searched by value (every search audited with its
purpose), and a report's neighbourhood: the other reports that share one of its entities.

Values are normalised by ``domain/entities.py``; only valid ones link reports. The index row
holds the value in its normal form (as the report's own person identifiers do) and a digest of
it, ``search_key``, which is what searches and links compare; the audit trail records the
digests searched, never the values.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import EntityMention, Organisation, Report
from balise.domain import entities as E
from balise.domain.audit import AuditEvent
from balise.domain.entities import Entity, EntityKind
from balise.governance.audit import AuditTrail
from balise.jobs.queue import NewJob

ENTITY_EXTRACT_JOB = "entities.extract"
EXTRACTOR = Actor.system("entities")
MAX_MENTIONS = 2000  # per report: a hostile report cannot blow the index up
MAX_NEIGHBOURS = 200
MAX_RESULTS = 200


class EntitySearchError(ValueError):
    """A search or graph request that cannot be answered; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Found:
    """One mention as extracted: the entity and where the report names it."""

    entity: Entity
    source: str
    position: str | None = None
    person_role: str | None = None
    observed_at: datetime | None = None
    port: int | None = None
    event: str | None = None


def _identifier_entities(kind: str, value: str, service: str, region: str | None) -> list[Entity]:
    if kind == "username":
        return [E.account(service, value, case_sensitive=False)]
    if kind == "user_id":
        return [E.account(service, value, case_sensitive=True)]
    if kind == "email":
        return [E.email(value)]
    if kind == "phone":
        return [E.phone(value, region)]
    if kind == "ip":
        return [E.ip(value)]
    if kind == "payment":
        return E.payment(value)
    if kind == "crypto_wallet":
        return [E.crypto(value)]
    if kind == "profile_url":
        return E.url(value)
    return E.in_text(value)


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > 4:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in list(value.values())[:200]:
            yield from _strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value[:200]:
            yield from _strings(v, depth + 1)


def extract(report: Report, organisation_name: str | None = None,
            organisation_country: str | None = None) -> list[Found]:
    """Everything a report names, from its Annex III fields (persons and their identifiers,
    the service, items' URLs and file names, media metadata) and its free texts. The public
    reporter's own contact is not read: it is not about the incident."""
    region = (report.geolocation or {}).get("country") or organisation_country
    service = E.service_of(report.service_url, organisation_name)
    found: list[Found] = []
    for p_index, person in enumerate(report.persons):
        for i_index, ident in enumerate(person.identifiers):
            where = f"persons.{p_index}.identifiers.{i_index}"
            for entity in _identifier_entities(ident.type, ident.value, service, region):
                found.append(Found(entity, "identifier", where, person.role,
                                   ident.observed_at if entity.kind is EntityKind.IP else None,
                                   ident.port if entity.kind is EntityKind.IP else None, ident.event))
        for text in _strings(person.details):
            found += [Found(e, "free_text", f"persons.{p_index}.details", person.role) for e in E.in_text(text)]
    if report.service_url:
        # The URL only: the service's domain is the platform's own and would link all its reports.
        found += [Found(e, "service", "service.url") for e in E.url(report.service_url)[:1]]
    for item in report.items:
        where = f"items.{item.position}"
        if item.url:
            found += [Found(e, "item_url", f"{where}.url") for e in E.url(item.url)]
        if item.filename:
            name = E.file_name(item.filename)
            if name is not None:
                found.append(Found(name, "item_file_name", f"{where}.filename"))
        for text in _strings(item.media_metadata):
            found += [Found(e, "metadata", f"{where}.metadata") for e in E.in_text(text)]
    for name in ("additional_info", "awareness_detail"):
        found += [Found(e, "free_text", name) for e in E.in_text(getattr(report, name))]
    seen: set[tuple[str, datetime | None, int | None, str]] = set()
    unique = []
    for f in found:
        mark = (f.entity.key, f.observed_at, f.port, f.source)
        if mark not in seen:
            seen.add(mark)
            unique.append(f)
    return unique[:MAX_MENTIONS]


@dataclass
class Match:
    kind: str
    value: str
    valid: bool
    problem: str | None
    reports: list[dict[str, Any]] = field(default_factory=list)
    hidden: int = 0


@dataclass
class SearchResult:
    query_kinds: list[str]
    matches: list[Match]

    @property
    def report_count(self) -> int:
        return len({r["id"] for m in self.matches for r in m.reports})


@dataclass
class Neighbourhood:
    report: Report
    entities: list[dict[str, Any]]  # {kind, value, key, problem?, valid}
    neighbours: list[dict[str, Any]]  # {id, state, created_at, keys}
    hidden: int
    unvalidated: list[dict[str, Any]]


class EntityIndex:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime],
                 new_session: Callable[[], Session]) -> None:
        self._audit = audit
        self._clock = clock
        self._new_session = new_session

    # -- extraction (the job) -------------------------------------------------------------

    def index(self, session: Session, report: Report, actor: Actor = EXTRACTOR) -> dict[str, int]:
        """(Re)write the report's mentions: idempotent, as a job may run twice."""
        organisation = session.get(Organisation, report.organisation_id) if report.organisation_id else None
        found = extract(report, organisation.name if organisation else None,
                        organisation.country if organisation else None)
        session.execute(delete(EntityMention).where(EntityMention.report_id == report.id))
        now = self._clock()
        for f in found:
            e = f.entity
            detail = dict(e.detail)
            if f.event:
                detail["event"] = f.event[:64]
            session.add(EntityMention(
                report_id=report.id, kind=e.kind.value, value=e.value, valid=e.valid,
                problem=e.problem.value if e.problem else None, search_key=e.key, source=f.source,
                position=f.position, person_role=f.person_role, detail=detail or None,
                observed_at=f.observed_at, port=f.port, created_at=now))
        counts = {"valid": sum(1 for f in found if f.entity.valid),
                  "unvalidated": sum(1 for f in found if not f.entity.valid)}
        self._audit.record(session, AuditEvent.ENTITY_EXTRACT, actor, "report", str(report.id),
                           "cross-report entity index", counts)
        session.flush()
        return counts

    def handle(self, payload: dict[str, Any]) -> None:
        with self._new_session() as session, session.begin():
            report = session.get(Report, uuid.UUID(payload["report_id"]))
            if report is None or report.redacted_at is not None:
                return
            self.index(session, report)

    def job_for(self, report: Report) -> NewJob:
        """The extraction job of a new ``report``, to queue with its other jobs."""
        return NewJob(ENTITY_EXTRACT_JOB, {"report_id": str(report.id)}, f"entities:{report.id}")

    # -- search ----------------------------------------------------------------------------

    def search(self, session: Session, actor: Actor, role: str, query: str, purpose: str | None,
               kind: str | None = None, limit: int = MAX_RESULTS) -> SearchResult:
        """Reports naming ``query``, read in every way it may be meant (a wallet, an e-mail, a
        phone number…), and as unvalidated text. Reports the role may not see are counted, not
        shown. Audited as entity:search with the purpose and the digests searched."""
        try:
            purpose = E.check_purpose(purpose)
        except ValueError as exc:
            raise EntitySearchError("purpose", str(exc)) from None
        text = " ".join((query or "").split())
        if not text:
            raise EntitySearchError("value", "value: give the value to search for")
        if len(text) > E.MAX_VALUE:
            raise EntitySearchError("value", f"value: at most {E.MAX_VALUE} characters")
        if kind:
            try:
                wanted = EntityKind(kind)
            except ValueError:
                raise EntitySearchError("kind", f"kind: unknown kind {kind!r}; one of "
                                        + ", ".join(k.value for k in EntityKind)) from None
        readings = [e for e in E.interpretations(text) if not kind or e.kind is wanted]
        keys = {e.key for e in readings}
        keys.add(E.search_key("", text, valid=False))
        rows = self.lookup(session, keys, limit)
        matches: dict[tuple[str, str, bool], Match] = {}
        seen: set[tuple[tuple[str, str, bool], uuid.UUID]] = set()
        for key, m_kind, value, valid, problem, rid, state, created, source in rows:
            if kind and m_kind != kind:
                continue
            mark = (m_kind, value, valid)
            match = matches.setdefault(mark, Match(m_kind, value, valid, problem))
            if (mark, rid) in seen:
                continue
            seen.add((mark, rid))
            if E.visible_to(role, state):
                if len(match.reports) < limit:
                    match.reports.append({"id": rid, "state": state, "created_at": created, "source": source})
            else:
                match.hidden += 1
        ordered = sorted(matches.values(), key=lambda m: (not m.valid, -len(m.reports), m.kind))
        result = SearchResult(sorted({e.kind.value for e in readings}), ordered)
        self._audit.record(session, AuditEvent.ENTITY_SEARCH, actor, "entity_index", "search", purpose,
                           {"keys": sorted(keys), "kind": kind, "role": role,
                            "reports": result.report_count, "hidden": sum(m.hidden for m in ordered)})
        return result

    def lookup(self, session: Session, keys: Iterable[str], limit: int = MAX_RESULTS) -> list[Any]:
        """The mentions with these digests and their reports, newest first (one index scan)."""
        return list(session.execute(
            select(EntityMention.search_key, EntityMention.kind, EntityMention.value, EntityMention.valid,
                   EntityMention.problem, Report.id, Report.state, Report.created_at, Report.source)
            .join(Report, Report.id == EntityMention.report_id)
            .where(EntityMention.search_key.in_(sorted(keys)))
            .order_by(Report.created_at.desc()).limit(limit * 4)).all())

    # -- a report's neighbourhood ------------------------------------------------------------

    def neighbourhood(self, session: Session, actor: Actor, role: str, report_id: uuid.UUID,
                      purpose: str | None) -> Neighbourhood | None:
        """The report's entities and the other reports sharing a valid one, as far as the role
        may see them. Audited as entity:graph with the purpose."""
        try:
            purpose = E.check_purpose(purpose)
        except ValueError as exc:
            raise EntitySearchError("purpose", str(exc)) from None
        report = session.get(Report, report_id)
        if report is None or not E.visible_to(role, report.state):
            return None
        mentions = session.execute(select(EntityMention).where(EntityMention.report_id == report_id)
                                   .order_by(EntityMention.id)).scalars().all()
        entities: dict[str, dict[str, Any]] = {}
        unvalidated = []
        for m in mentions:
            if m.valid:
                entities.setdefault(m.search_key, {"kind": m.kind, "value": m.value, "key": m.search_key,
                                                   "source": m.source, "observed": []})
                if m.observed_at:
                    entities[m.search_key]["observed"].append((m.observed_at, m.port))
            else:
                unvalidated.append({"kind": m.kind, "value": m.value, "problem": m.problem, "source": m.source})
        neighbours: dict[uuid.UUID, dict[str, Any]] = {}
        hidden: set[uuid.UUID] = set()
        if entities:
            rows = session.execute(
                select(EntityMention.report_id, EntityMention.search_key, Report.state, Report.created_at)
                .join(Report, Report.id == EntityMention.report_id)
                .where(EntityMention.search_key.in_(sorted(entities)), EntityMention.valid.is_(True),
                       EntityMention.report_id != report_id)
                .order_by(Report.created_at.desc()).limit(MAX_NEIGHBOURS * 10)).all()
            for rid, key, state, created in rows:
                if not E.visible_to(role, state):
                    hidden.add(rid)
                    continue
                if rid not in neighbours and len(neighbours) >= MAX_NEIGHBOURS:
                    continue
                node = neighbours.setdefault(rid, {"id": rid, "state": state, "created_at": created, "keys": set()})
                node["keys"].add(key)
        self._audit.record(session, AuditEvent.ENTITY_GRAPH, actor, "report", str(report_id), purpose,
                           {"entities": len(entities), "neighbours": len(neighbours), "hidden": len(hidden),
                            "role": role})
        return Neighbourhood(report, list(entities.values()), list(neighbours.values()), len(hidden), unvalidated)

    def linked_count(self, session: Session, report_id: uuid.UUID) -> int:
        """How many other reports share a valid entity with this one (no values: not audited)."""
        mine = select(EntityMention.search_key).where(EntityMention.report_id == report_id,
                                                      EntityMention.valid.is_(True))
        return session.execute(
            select(func.count(func.distinct(EntityMention.report_id)))
            .where(EntityMention.search_key.in_(mine), EntityMention.valid.is_(True),
                   EntityMention.report_id != report_id)).scalar_one()
