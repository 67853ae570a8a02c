"""Hand-built data for the transparency report tests: rows written straight into the tables, so
that every figure of the report can be worked out by hand from what is written here.

In 2026 (the clock says 2026-12-02 12:00 UTC, so the year is running):
* Provider A: 12 reports, known CSAM, hosting service, forwarded to Europol and France. Each has
  a media item (the same SHA-256: the first one was reported 12 times, the others point to it)
  and a URL item whose host was notified 1 h after receipt and removed 2..12 h after receipt
  (the 12th never), through host notices to two abuse addresses.
* Provider B: 3 reports, new CSAM, interpersonal communication, manifestly unfounded, each
  with a media item assessed not illegal.
* Public form: 11 reports, solicitation, "other" service, forwarded to Europol only, each with
  a hash-only item reported once.
* Indicators: 12 known CSAM created in 2026, one more deleted in 2026, a candidate, and 3
  solicitation indicators created in 2025.
In 2025: one report from provider A (never counted for 2026) and the installation's first
audit event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Indicator,
    Item,
    Jurisdiction,
    Notice,
    Organisation,
    Report,
    Takedown,
)
from balise.container import Balise
from balise.domain.audit import AuditEvent

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FIRST_EVENT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _report(org: uuid.UUID | None, source: str, rtype: str, service: str, state: str, at: datetime) -> Report:
    return Report(id=uuid.uuid4(), organisation_id=org, source=source, state=state, report_type=rtype,
                  service_type=service, created_at=at, updated_at=at, is_demo=False)


def seed(balise: Balise, clock: Clock, *, demo: bool = False) -> None:
    clock.now = FIRST_EVENT
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.ORG_CREATE, Actor.system("test"), "organisation", "seed",
                            "hand-built data")
    clock.now = NOW
    with balise.db.transaction() as session:
        a = Organisation(id=uuid.uuid4(), name="Provider A", kind="provider", country="FR")
        b = Organisation(id=uuid.uuid4(), name="Provider B", kind="provider", country="DE")
        session.add_all([a, b])
        session.flush()
        base = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        first_media: uuid.UUID | None = None
        for n in range(12):
            at = base + timedelta(days=n)
            r = _report(a.id, "provider_api", "known_csam", "hosting", "forwarded_europol_and_state", at)
            r.is_demo = demo
            session.add(r)
            session.flush()
            media = Item(id=uuid.uuid4(), report_id=r.id, position=0, kind="media", sha256="a" * 64,
                         times_reported=12 if n == 0 else 1, duplicate_of=first_media, outcome="illegal", created_at=at)
            session.add(media)
            session.flush()
            first_media = first_media or media.id
            url = Item(id=uuid.uuid4(), report_id=r.id, position=1, kind="url", url=f"https://host.example/{n}",
                       created_at=at)
            session.add(url)
            session.add(Jurisdiction(report_id=r.id, reported_country="FR", hosted_countries=[], uploaded_countries=[],
                                     member_state="FR", confidence="high", reasons=[], decided_at=at))
            session.flush()
            removed = at + timedelta(hours=n + 2) if n < 11 else None
            session.add(Takedown(item_id=url.id, report_id=r.id, url=url.url, status="removed" if removed else "watching",
                                 received_at=at, host_notified_at=at + timedelta(hours=1), removed_at=removed))
            session.add(Notice(reference=f"N-{n}", dedupe=f"{r.id}:host_notice:{url.id}", report_id=r.id, item_id=url.id,
                               kind="host_notice", channel="email", recipient=f"abuse@host{n % 2}.example",
                               language="en", subject="s", body="b", status="sent", created_at=at, sent_at=at))
        for n in range(3):
            at = base + timedelta(days=20 + n)
            r = _report(b.id, "provider_api", "new_csam", "interpersonal_communication", "manifestly_unfounded", at)
            session.add(r)
            session.flush()
            session.add(Item(id=uuid.uuid4(), report_id=r.id, position=0, kind="media", sha256=f"{n:064x}",
                             outcome="not_illegal", created_at=at))
        for n in range(11):
            at = base + timedelta(days=40 + n)
            r = _report(None, "public_form", "solicitation", "other", "forwarded_europol_only", at)
            session.add(r)
            session.flush()
            session.add(Item(id=uuid.uuid4(), report_id=r.id, position=0, kind="hash_only", sha256=f"{100 + n:064x}",
                             created_at=at))
        old = _report(a.id, "provider_api", "known_csam", "hosting", "forwarded_europol_and_state",
                      datetime(2025, 6, 1, tzinfo=UTC))
        session.add(old)
        session.flush()
        session.add(Item(id=uuid.uuid4(), report_id=old.id, position=0, kind="media", sha256="b" * 64,
                         created_at=old.created_at))
        version = 0

        def indicator(kind: str, value: str, status: str, created: datetime, updated: datetime | None = None) -> None:
            nonlocal version
            version += 1
            session.add(Indicator(kind=kind, media_type="image", algorithm="sha256", value=value, provenance={},
                                  status=status, version=version, created_at=created, updated_at=updated or created))

        for n in range(12):
            indicator("known_csam", f"{1000 + n:064x}", "active", base + timedelta(days=n))
        indicator("known_csam", f"{2000:064x}", "deleted", base, base + timedelta(days=30))
        indicator("known_csam", f"{2001:064x}", "candidate", base)
        for n in range(3):
            indicator("solicitation", f"{3000 + n:064x}", "active", datetime(2025, 5, 1, tzinfo=UTC))
