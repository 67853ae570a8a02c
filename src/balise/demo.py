"""Demo data: organisations, staff and reports that say they are DEMO, with generated,
benign images (gradients and shapes). Development only."""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw

from balise.domain.audit import AuditEvent
from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind, Role, Scope
from balise.intake.filing import UploadedFile, request_fingerprint
from balise.intake.report_schema import ReportIn

DEMO_PASSWORD = "demo-password-not-secret"
# Display names in words (a page shows a name as it is).
DEMO_TITLES = {Role.ANALYST: "analyst", Role.SENIOR_ANALYST: "senior analyst", Role.ADMIN: "administrator",
               Role.AUDITOR: "auditor", Role.LE_LIAISON: "police liaison"}
DEMO_USERS = (
    ("demo-analyst", Role.ANALYST),
    ("demo-senior", Role.SENIOR_ANALYST),
    ("demo-admin", Role.ADMIN),
    ("demo-auditor", Role.AUDITOR),
    ("demo-police", Role.LE_LIAISON),
)


def demo_image(seed: int, size: tuple[int, int] = (640, 480), fmt: str = "JPEG") -> bytes:
    """A benign picture: a colour gradient, many shapes, fine texture and the word DEMO.
    Detailed enough that its PDQ quality is well above the matching floor of 50."""
    import numpy as np

    rng = random.Random(seed)
    w, h = size
    c1 = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    c2 = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    base = np.broadcast_to(c1 + (c2 - c1) * t, (h, w, 3))
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1 = x0 + rng.randrange(8, max(9, w // 4))
        y1 = y0 + rng.randrange(8, max(9, h // 4))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    draw.text((10, 10), f"DEMO {seed}", fill=(255, 255, 255))
    noise = np.random.default_rng(seed).normal(0.0, 6.0, (h, w, 3)).astype(np.float32)
    img = Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8), "RGB")
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, format=fmt, quality=90)
    else:
        img.save(out, format=fmt)
    return out.getvalue()


@dataclass
class DemoResult:
    api_key: str
    users: list[tuple[str, str, str]]  # username, role, totp secret
    reports: int
    ispws: tuple[str, str] | None = None  # NCMEC-compatible API user name and password
    # The DEMO HMA platform's key: it may download the known_indicators exchange list.
    exchange_key: str | None = None
    authority_key: str | None = None  # the DEMO coordinating authority's key (victims' requests)


def has_data(balise: Balise) -> bool:
    from sqlalchemy import func, select

    from balise.adapters.db.models import Organisation

    with balise.db.sessions() as session:
        return bool(session.execute(select(func.count()).select_from(Organisation)).scalar_one())


# Measured error rates (docs/oversight.md): months of DEMO history, one hash-only item per
# report: (route, how many per month). The hashes are random values standing for nothing.
HISTORY_MONTHS = 6
HISTORY_PLAN = (("exact", 3), ("pdq:0", 1), ("pdq:6", 2), ("pdq:15", 2), ("pdq:27", 3), ("flag", 3))


class _DemoClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _flip_bits(hex_value: str, bits: int, rng: random.Random) -> str:
    value = int(hex_value, 16)
    for position in rng.sample(range(256), bits):
        value ^= 1 << position
    return f"{value:064x}"


def _history_decision(route: str, month: int, n: int, months: int) -> str | None:
    """forward, unfounded, not_illegal (item overturned, report forwarded), or None
    (not yet assessed). More far PDQ matches are overturned in later months (drift)."""
    if month == 0 and n % 3 == 0:
        return None  # the current month is not all assessed yet
    if route == "exact":
        return "unfounded" if (month, n) == (3, 1) else "forward"
    if route == "pdq:27":
        return "unfounded" if (n == 1 and month < months // 2) or (n == 2 and month < 2) else "forward"
    if route == "pdq:15":
        return "unfounded" if (month + n) % 5 == 0 else "forward"
    if route == "flag":
        return "not_illegal" if n == 0 else ("unfounded" if (month + n) % 4 == 0 else "forward")
    return "forward"


def seed_error_rate_history(balise: Balise, provider_id: uuid.UUID, provider_actor: Actor,
                            months: int = HISTORY_MONTHS) -> int:
    """DEMO reports of past months decided by the DEMO analyst, so that the measured error
    rates (per route, source and month) are not empty. Decisions are taken without routing
    (forwarded reports go to Europol only): the routing is shown by the current DEMO reports."""
    from sqlalchemy import select

    from balise.adapters.db.models import Item, User
    from balise.casework.assessment import Assessment, Decision
    from balise.domain.error_rates import months_back

    rng = random.Random(2026)
    now = datetime.now(timezone.utc)
    clock = _DemoClock(now)
    past = Balise(balise.settings, clock=clock)
    try:
        exact_md5, exact_sha256 = rng.randbytes(16).hex(), rng.randbytes(32).hex()
        pdq = rng.randbytes(32).hex()
        # The known-material indicators come from the DEMO coordinating authority's submissions
        # (CSAR Art. 36); the PDQ one is named again by a later decision: its history shows both.
        clock.now = months_back(now, months).replace(day=1, hour=8)
        _authority_submits(past, [("md5", exact_md5), ("sha256", exact_sha256)], "DEMO-CA-FR-2025-001")
        _authority_submits(past, [("pdq", pdq)], "DEMO TJ Paris 25/0042", court=DEMO_COURT)
        clock.now = months_back(now, 1).replace(day=1, hour=8)
        _authority_submits(past, [("pdq", pdq)], "DEMO-CA-FR-2026-031",
                           "DEMO: the same series confirmed again in a later case")
        assessment = Assessment(past.audit, past.indicators, clock)
        filed = 0
        for month in range(months - 1, -1, -1):
            first = months_back(now, month).replace(day=2, hour=9)
            for route, count in HISTORY_PLAN:
                for n in range(count):
                    received = min(first + timedelta(days=2 * n + 3 * len(route), hours=filed % 7), now - timedelta(hours=2))
                    clock.now = received
                    if route == "exact":
                        hashes = {"md5": exact_md5, "sha256": exact_sha256}
                    elif route.startswith("pdq:"):
                        hashes = {"pdq": _flip_bits(pdq, int(route[4:]), rng), "pdq_quality": 90}
                    else:
                        hashes = {"md5": rng.randbytes(16).hex(), "sha256": rng.randbytes(32).hex()}
                    document = {
                        "reported_at": received.isoformat(), "signature": "DEMO-SIGNATURE",
                        "provider": {"contact_point": {"name": "DEMO Trust & Safety", "email": "ts@provider.demo.invalid"}},
                        "reported_elsewhere": {"reported": False}, "type": "known_csam",
                        "service": {"type": "hosting"}, "awareness": {"source": "own_motion"},
                        "content_removed": True, "user_decision": "suspend",
                        "additional_info": "DEMO report (error-rate history): hashes only, random values.",
                        "items": [{"kind": "hash_only", "hashes": hashes, "filename": f"demo-history-{filed}.jpg"}],
                    }
                    report = ReportIn.model_validate(document)
                    report_id = past.intake.file(
                        actor=provider_actor, organisation_id=provider_id, report=report, files={},
                        fingerprint=request_fingerprint(document, {}), idempotency_key=None, is_demo=True,
                    ).report.id
                    filed += 1
                    past.run_jobs()  # triage: complete, so in assessment
                    decision = _history_decision(route, month, n, months)
                    if decision is None:
                        continue
                    clock.now = received + timedelta(hours=1)
                    with past.db.transaction() as session:
                        analyst = session.execute(select(User).where(User.username == "demo-analyst")).scalar_one()
                        assessment.claim(session, analyst, report_id)
                        item = session.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
                        if route == "flag":
                            assessment.classify(session, analyst, item.id, revision=item.revision,
                                                outcome="not_illegal" if decision == "not_illegal" else "illegal",
                                                classification={"interpol_baseline": True} if decision == "forward" else None)
                        session.flush()
                        if decision == "unfounded":
                            chosen = Decision("manifestly_unfounded", ("technical_error",),
                                              "DEMO: the match was a technical error.")
                        else:
                            chosen = Decision("forward", (), "DEMO: forwarded." if decision == "not_illegal" else "")
                        report_row = item.report
                        assessment.decide(session, analyst, report_id, revision=report_row.revision, decision=chosen)
        _confirm_history_candidates(past, assessment, clock, now)
        return filed
    finally:
        past.close()


def seed(balise: Balise, reports: int = 6, error_history: bool = True) -> DemoResult:
    if not balise.settings.is_development:
        raise RuntimeError("demo data is for BALISE_ENV=development only (it has known passwords)")
    actor = Actor.system("demo")
    with balise.db.transaction() as session:
        provider = balise.organisations.create(
            session, actor, name="DEMO Provider (example platform)", kind=OrgKind.PROVIDER,
            country="FR", contact_email="trust-safety@provider.demo.invalid", contact_name="DEMO contact",
            legal_representative="DEMO Legal Rep, 1 rue de l'Exemple, Paris", is_demo=True,
        )
        key = balise.organisations.issue_key(
            session, actor, provider, [Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH], "demo key"
        )
        others = {}
        for name, kind, country in (
            ("DEMO Hotline Deutschland", OrgKind.HOTLINE, "DE"),
            ("DEMO Police unit France", OrgKind.LAW_ENFORCEMENT, "FR"),
            ("DEMO EU Centre", OrgKind.CENTRE, None),
            (DEMO_AUTHORITY, OrgKind.COORDINATING_AUTHORITY, "FR"),
            # Addressed by the DEMO blocking order; the URL list is exported to it.
            ("DEMO Internet access provider", OrgKind.PROVIDER, "FR"),
        ):
            others[name] = balise.organisations.create(session, actor, name=name, kind=kind, country=country,
                                                       is_demo=True)
        ispws = balise.ispws.issue_credential(session, actor, provider)
        # The partner directory: every EU Member State and Europol, exporting to files only.
        balise.partners.seed(session, actor)
        users = []
        for username, role in DEMO_USERS:
            new = balise.users.create(
                session, actor, username=username, password=DEMO_PASSWORD, role=role,
                display_name=f"DEMO {DEMO_TITLES[role]}", is_demo=True,
            )
            users.append((username, role.value, new.totp_secret))
        # Administration (docs/security.md): an analyst who left, disabled, and a platform whose
        # contract ended, suspended; `balise user list` and `balise org list` show them.
        balise.users.create(session, actor, username="demo-former", password=DEMO_PASSWORD, role=Role.ANALYST,
                            display_name="DEMO former analyst", is_demo=True)
        balise.users.disable(session, actor, "demo-former", "DEMO: left the team")
        balise.organisations.create(session, actor, name="DEMO Suspended platform", kind=OrgKind.PROVIDER,
                                    country="BE", is_demo=True)
        balise.organisations.suspend(session, actor, "DEMO Suspended platform", "DEMO: contract ended")
        provider_id = provider.id
        _seed_grants(balise, session, provider, others["DEMO Hotline Deutschland"], others["DEMO Police unit France"])
        exchange_key = _seed_exchange(balise, session, actor)
        provider_actor = Actor.organisation(str(provider.id), provider.name)
        _seed_url_list(balise, session)

    now = datetime.now(timezone.utc)
    for n in range(reports):
        image = demo_image(1000 + n)
        document = {
            "reported_at": (now - timedelta(hours=n)).isoformat(),
            "signature": "DEMO-SIGNATURE",
            "provider": {"contact_point": {"name": "DEMO Trust & Safety", "email": "ts@provider.demo.invalid"}},
            "reported_elsewhere": {"reported": n % 2 == 1, "body": "NCMEC" if n % 2 else None},
            "type": ["known_csam", "new_csam", "solicitation"][n % 3],
            "service": {"type": "hosting", "url": f"https://provider.demo.invalid/u/{n}"},
            "awareness": {"source": "own_motion"},
            "content_removed": n % 2 == 0,
            "user_decision": "suspend",
            "urgent": n == 0,
            "additional_info": "DEMO report with a generated benign image. Not real material.",
            "persons": [{"role": "reported_user", "identifiers": [
                {"type": "username", "value": f"demo_user_{n}"},
                {"type": "ip", "value": "192.0.2.10", "observed_at": now.isoformat(), "port": 443, "event": "upload"},
                # The first two reports share a (DEMO, checksum-valid) wallet: linked across reports.
                *([{"type": "crypto_wallet", "value": demo_wallet()}] if n < 2 else []),
            ]}],
            "items": [
                {"kind": "media", "file": "file0", "filename": f"demo-{n}.jpg"},
                {"kind": "url", "url": f"https://provider.demo.invalid/media/{n}.jpg"},
            ],
        }
        upload = UploadedFile(part="file0", stream=io.BytesIO(image), filename=f"demo-{n}.jpg", content_type="image/jpeg")
        report = ReportIn.model_validate(document)
        files = {"file0": upload}
        balise.intake.prepare_files(report, files)
        balise.intake.file(
            actor=provider_actor, organisation_id=provider_id, report=report, files=files,
            fingerprint=request_fingerprint(document, files), idempotency_key=None, is_demo=True,
        )
    series_reports = _file_series_reports(balise, provider_id, provider_actor, now) if reports else []
    if error_history:
        seed_error_rate_history(balise, provider_id, provider_actor)
    balise.run_jobs()  # triage the demo reports now, so the queue is ready
    authority_key = _identify_series_and_answer_a_victim(balise, series_reports) if series_reports else None
    _demo_financial_alert(balise, actor)
    with balise.db.transaction() as session:
        balise.error_rates.store_recent(session)  # what the nightly job stores, at once
    _demo_oversight(balise, provider_actor, str(provider_id), str(key.key_id))
    _seed_orders(balise, actor)
    _demo_referral(balise, actor)
    return DemoResult(api_key=key.plaintext, users=users, reports=reports + len(series_reports),
                      ispws=(ispws.username, ispws.password), exchange_key=exchange_key, authority_key=authority_key)


def _demo_referral(balise: Balise, actor: Actor) -> None:
    """A DEMO partner installation and one referral to it, closed by its outcome (docs/federation.md).
    The partner's key is generated here and thrown away: nothing is ever sent to it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from sqlalchemy import select

    from balise.adapters.db.models import Item, ReferralSent, Report

    pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with balise.db.transaction() as session:
        partner = balise.federation_partners.add(session, actor, name="DEMO Hotline Nederland (Balise)", country="NL",
                                                 base_url="http://127.0.0.1:9", public_key_pem=pem.decode())
        # On the first report of the queue (the urgent one), so that its page shows the referral.
        item = session.execute(select(Item).join(Report, Report.id == Item.report_id)
                               .where(Item.kind == "url", Item.url.like("https://provider.demo.invalid/%"))
                               .order_by(Report.urgent.desc(), Report.created_at, Item.position).limit(1)
                               ).scalar_one_or_none()
        if item is None:
            return
        now = balise.clock()
        referral = ReferralSent(partner_id=partner.id, partner_name=partner.name, report_id=item.report_id,
                                item_id=item.id, url=item.url, status="closed", reason="DEMO: hosted in NL",
                                created_by="demo", created_at=now - timedelta(hours=30),
                                acknowledged_at=now - timedelta(hours=30), receiver_reference=str(uuid.uuid4()),
                                outcome="removed", removed_at=now - timedelta(hours=6), closed_at=now - timedelta(hours=5))
        session.add(referral)
        session.flush()
        balise.audit.record(session, AuditEvent.REFERRAL_SEND, actor, "referral", str(referral.id),
                            "DEMO: refer a reported URL to a partner installation",
                            {"partner": partner.name, "country": "NL", "report_id": str(item.report_id),
                             "item_id": str(item.id), "reason": referral.reason})
        balise.audit.record(session, AuditEvent.REFERRAL_OUTCOME_RECEIVE, actor, "referral", str(referral.id),
                            "DEMO: outcome from the partner installation",
                            {"outcome": "removed", "removed_at": referral.removed_at.isoformat()})


def _seed_orders(balise: Balise, actor: Actor) -> None:
    """One order of each kind (docs/orders.md), entered as staff would from a DEMO authority's
    letter: a removal order received 3 hours ago (its 24-hour clock runs, with a 6-week
    non-disclosure period), a blocking order executed, a draft detection order waiting for the
    centre's opinion (its 4-week clock runs). The URL list was exported for the blocking order to
    its internet access provider, so the Article 36 page shows an export."""
    from sqlalchemy import select

    from balise.adapters.db.models import Item, Report
    from balise.orders.registry import Sender

    now = datetime.now(timezone.utc)
    authority = DEMO_AUTHORITY  # created with the other DEMO organisations
    with balise.db.transaction() as session:
        first = session.execute(select(Item.report_id, Item.url).join(Report, Report.id == Item.report_id).where(
            Report.is_demo.is_(True), Item.url.is_not(None)).order_by(Item.url)).first()
        common = {"issuing_authority": {"name": authority, "member_state": "FR", "contact": "orders@ca.demo.invalid"},
                  "addressee": {"name": "DEMO Provider (example platform)"},
                  "redress": "DEMO: the provider and the content provider may challenge this order before the "
                             "competent court within 2 months.",
                  "reasons": "DEMO: material assessed as child sexual abuse material (not real material)."}
        bodies = [
            {**common, "kind": "removal", "reference": "DEMO-CA-FR-RO-001", "legal_basis": "CSAR Art. 14",
             "sent_at": (now - timedelta(hours=4)).isoformat(), "urls": [first[1]] if first else
             ["https://provider.demo.invalid/media/0.jpg"], "non_disclosure_weeks": 6,
             "report_ids": [str(first[0])] if first else []},
            {**common, "kind": "blocking", "reference": "DEMO-CA-FR-BO-001", "legal_basis": "CSAR Art. 16",
             "addressee": {"name": "DEMO Internet access provider"},
             "sent_at": (now - timedelta(days=3)).isoformat(), "urls": ["https://blocked.demo.invalid/gallery"],
             "period": {"start": (now - timedelta(days=3)).isoformat(), "end": (now + timedelta(days=362)).isoformat()}},
            {**common, "kind": "detection", "reference": "DEMO-CA-FR-DO-001", "legal_basis": "CSAR Art. 7",
             "draft": True, "sent_at": (now - timedelta(days=5)).isoformat(), "services": ["DEMO photo sharing"],
             "databases": ["known_indicators"],
             "period": {"start": (now + timedelta(days=30)).isoformat(), "end": (now + timedelta(days=210)).isoformat()}},
        ]
        staff = Sender(actor, "staff", {"method": "staff_entry", "user": "demo", "on_behalf_of": "provider"})
        for body in bodies:
            order = balise.orders.enter(session, actor, body, "DEMO: signature checked on the DEMO letter")
            order.is_demo = True
            if order.kind == "removal":
                balise.orders.transition(session, order.id, "received", staff, at=now - timedelta(hours=3))
            elif order.kind == "blocking":
                balise.orders.transition(session, order.id, "received", staff, at=now - timedelta(days=3))
                balise.orders.report_execution(session, order.id, staff, "disabled", now - timedelta(days=2),
                                               "DEMO: DNS blocking in place")
                balise.url_list.export(session, actor, order.id, fmt="json")


def demo_variant(seed: int, kind: int) -> bytes:
    """Another file of the same DEMO picture (resized, cropped a little, re-encoded): a
    near-duplicate within the PDQ threshold, as copies of one picture are."""
    img = Image.open(io.BytesIO(demo_image(seed, (800, 600))))
    img = [img.resize((640, 480)), img.crop((8, 6, 792, 594)).resize((700, 525)), img.resize((400, 300))][kind % 3]
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80 - (kind % 3) * 5)
    return out.getvalue()


# Series (docs/victims.md): two DEMO pictures, each reported several times in near-duplicate
# copies; three reports carry them: picture 2026 in all three, picture 2027 in the first and last.
SERIES_PLAN = (((2026, 0), (2027, 0)), ((2026, 1),), ((2026, 2), (2027, 2)))


def _file_series_reports(balise: Balise, provider_id: uuid.UUID, provider_actor: Actor,
                         now: datetime) -> list[uuid.UUID]:
    filed = []
    for n, pictures in enumerate(SERIES_PLAN):
        files, items = {}, []
        for m, (seed, kind) in enumerate(pictures):
            name = f"file{m}"
            files[name] = UploadedFile(part=name, stream=io.BytesIO(demo_variant(seed, kind)),
                                       filename=f"demo-series-{seed}-{kind}.jpg", content_type="image/jpeg")
            items.append({"kind": "media", "file": name, "filename": f"demo-series-{seed}-{kind}.jpg"})
        document = {
            "reported_at": (now - timedelta(days=3 - n)).isoformat(), "signature": "DEMO-SIGNATURE",
            "provider": {"contact_point": {"name": "DEMO Trust & Safety", "email": "ts@provider.demo.invalid"}},
            "reported_elsewhere": {"reported": False}, "type": "new_csam",
            "service": {"type": "hosting", "url": f"https://provider.demo.invalid/series/{n}"},
            "awareness": {"source": "user_flag"}, "content_removed": True, "user_decision": "suspend",
            "additional_info": "DEMO report: copies of generated benign pictures, forming DEMO series.",
            "items": items,
        }
        report = ReportIn.model_validate(document)
        balise.intake.prepare_files(report, files)
        filed.append(balise.intake.file(
            actor=provider_actor, organisation_id=provider_id, report=report, files=files,
            fingerprint=request_fingerprint(document, files), idempotency_key=None, is_demo=True,
        ).report.id)
    return filed


def _identify_series_and_answer_a_victim(balise: Balise, series_reports: list[uuid.UUID]) -> str:
    """The smaller DEMO series is marked identified by the DEMO police liaison (a DEMO case
    reference); a DEMO coordinating authority files a victim's request for the larger one's
    picture, which Balise answers. Returns the authority's API key."""
    from sqlalchemy import select

    from balise.adapters.db.models import SeriesHash, User
    from balise.detection.adapters.media_hash import hash_image_bytes

    actor = Actor.system("demo")
    with balise.db.transaction() as session:
        rows = session.execute(select(SeriesHash.series_id, SeriesHash.report_id)
                               .where(SeriesHash.report_id.in_(series_reports), SeriesHash.series_id.is_not(None))).all()
        spans: dict[int, set[uuid.UUID]] = {}
        for sid, rid in rows:
            spans.setdefault(sid, set()).add(rid)
        liaison = session.execute(select(User).where(User.role == Role.LE_LIAISON.value)).scalars().first()
        smaller = min(spans, key=lambda sid: len(spans[sid])) if len(spans) > 1 else None
        if smaller is not None and liaison is not None:
            balise.series.identify(session, Actor.staff(str(liaison.id), liaison.username), smaller,
                                   "DEMO-FR-2026-0001", "DEMO: the victim was identified by the DEMO police unit")
        # The same DEMO authority that submits indicators and issues the DEMO orders.
        authority = balise.organisations.get_by_name(session, DEMO_AUTHORITY)
        assert authority is not None
        key = balise.organisations.issue_key(session, actor, authority, [Scope.REPORTS_READ], "demo authority key")
        pdq = hash_image_bytes(demo_image(2026, (800, 600))).pdq
        balise.victim_requests.file(session, Actor.organisation(str(authority.id), authority.name), authority.id,
                                    {"hashes": [{"type": "pdq", "value": pdq}],
                                     "authority_reference": "DEMO-CA-2026-001"})
        return key.plaintext


def demo_wallet() -> str:
    """A checksum-valid Monero address made from DEMO bytes (nobody's wallet)."""
    import hashlib

    from balise.domain.entities import monero_address

    return monero_address(18, hashlib.sha256(b"DEMO spend key").digest(), hashlib.sha256(b"DEMO view key").digest())



def _demo_financial_alert(balise: Balise, actor: Actor) -> None:
    """A DEMO payment partner (export channel: nothing leaves the machine) alerted about the
    shared wallet of the first DEMO report, and its answer (docs/intelligence.md)."""
    from sqlalchemy import select

    from balise.adapters.db.models import EntityMention

    with balise.db.transaction() as session:
        partner = balise.partners.create(session, actor, kind="crypto_exchange", country="FR",
                                         name="DEMO Payment Partner (crypto-currency exchange)", channel="export",
                                         languages=["en", "fr"], notes="DEMO: alerts are written as files")
        wallet = session.execute(select(EntityMention).where(EntityMention.kind == "monero")
                                 .order_by(EntityMention.id)).scalars().first()
        if wallet is None:
            return
        alert = balise.financial.send(session, actor, report_id=wallet.report_id, identifier_key=wallet.search_key,
                                      partner_id=partner.id, reason="payment_for_csam",
                                      reason_note="DEMO alert: the wallet is made-up DEMO data")
        balise.financial.answer(session, actor, alert.reference, "account_frozen", "DEMO answer")
    balise.run_jobs()


STATISTICS_COUNTRIES = ("FR", "DE", "NL")


def seed_statistics(balise: Balise, reports: int = 80) -> int:
    """DEMO reports enough for a transparency report whose cells are not all withheld
    (docs/transparency.md): hash-only items (no picture), some the same content reported again,
    of every type and service, located in several Member States, then assessed by the DEMO
    analysts through the same steps as in the workbench (claim, classify, decide, confirm).
    Returns how many reports were decided."""
    import hashlib

    from sqlalchemy import select

    from balise.adapters.db.models import Organisation, Report, User
    from balise.casework.assessment import Decision

    if not balise.settings.is_development:
        raise RuntimeError("demo data is for BALISE_ENV=development only (it has known passwords)")
    with balise.db.sessions() as session:
        provider = session.execute(select(Organisation.id).where(
            Organisation.is_demo.is_(True), Organisation.kind == OrgKind.PROVIDER.value)).scalars().first()
    if provider is None:
        raise RuntimeError("seed the DEMO organisations first (balise demo)")
    provider_actor = Actor.organisation(str(provider), "DEMO Provider (example platform)")
    now = datetime.now(timezone.utc)
    types = ("known_csam", "new_csam", "solicitation")
    services = ("hosting", "hosting", "interpersonal_communication", "other")
    for n in range(reports):
        # Every third report carries content an earlier one carried: "reported more than once".
        seeds = [f"{n}-{k}" for k in range(1 + n % 3)]
        if n % 3 == 2:
            seeds.append(f"{n // 4}-0")
        document = {
            "reported_at": (now - timedelta(minutes=10 * n)).isoformat(),
            "signature": "DEMO-SIGNATURE",
            "provider": {"contact_point": {"name": "DEMO Trust & Safety", "email": "ts@provider.demo.invalid"}},
            "reported_elsewhere": {"reported": False},
            "user_decision": "suspend",
            "type": types[n % 3],
            "service": {"type": services[n % 4], "url": f"https://provider.demo.invalid/s/{n}"},
            "awareness": {"source": "own_motion"},
            "content_removed": True,
            "additional_info": "DEMO statistics report: hashes of no real material.",
            "geolocation": {"country": STATISTICS_COUNTRIES[n % len(STATISTICS_COUNTRIES)]} if n % 6 else None,
            "items": [{"kind": "hash_only", "hashes": {
                "sha256": hashlib.sha256(f"DEMO statistics item {s}".encode()).hexdigest()}} for s in seeds],
        }
        report = ReportIn.model_validate(document)
        balise.intake.file(actor=provider_actor, organisation_id=provider, report=report, files={},
                           fingerprint=request_fingerprint(document, {}), idempotency_key=None, is_demo=True)
    balise.run_jobs()
    decided = 0
    with balise.db.transaction() as session:
        analyst = session.execute(select(User).where(User.username == "demo-analyst")).scalar_one()
        senior = session.execute(select(User).where(User.username == "demo-senior")).scalar_one()
        waiting = session.execute(select(Report).where(
            Report.is_demo.is_(True), Report.state == "in_assessment",
            Report.additional_info.like("DEMO statistics%")).order_by(Report.created_at)).scalars().all()
        for index, report in enumerate(waiting):
            balise.assessment.claim(session, analyst, report.id)
            if index % 8 == 0:
                decision = Decision("manifestly_unfounded", ("adult_content",))
            elif index % 8 in (1, 2) and report.report_type != "known_csam":
                for item in report.items:
                    balise.assessment.classify(session, analyst, item.id, revision=item.revision,
                                               outcome="not_illegal", classification=None)
                decision = Decision("manifestly_unfounded", ("no_minor_visible",))
            else:
                for item in report.items:
                    balise.assessment.classify(session, analyst, item.id, revision=item.revision,
                                               outcome="illegal", classification={"ncmec_category": "B2"})
                decision = Decision("forward")
            balise.assessment.decide(session, analyst, report.id, revision=report.revision, decision=decision)
            balise.assessment.release(session, analyst, report.id)
            decided += 1
        confirmed = []
        for awaiting in balise.assessment.awaiting(session):
            if awaiting.item is not None and awaiting.item.report.additional_info.startswith("DEMO statistics"):
                confirmed += balise.assessment.confirm_item(session, senior, awaiting.item.id, accept=True)
        hashes = [(i.algorithm, i.value) for i in confirmed]
    if hashes:  # the DEMO authority confirms what the centre's four eyes sent it (CSAR Art. 36(3))
        _authority_submits(balise, hashes, "DEMO-CA-FR-2026-STATS", kind="new_csam")
    balise.run_jobs()
    return decided


DEMO_AUTHORITY = "DEMO Coordinating Authority France"
DEMO_COURT = "DEMO Tribunal judiciaire de Paris"


def _authority_submits(balise: Balise, hashes: list[tuple[str, str]], reference: str, note: str = "",
                       kind: str = "known_csam", court: str | None = None) -> None:
    """A submission of the DEMO coordinating authority, as its API key would send it; with
    ``court``, a court decision recorded by staff as a submission."""
    from sqlalchemy import select

    from balise.adapters.db.models import Organisation
    from balise.domain.submissions import SubmissionChannel, check_submission

    with balise.db.transaction() as session:
        org = session.execute(select(Organisation).where(Organisation.name == DEMO_AUTHORITY)).scalar_one()
        terms = check_submission(reference=reference, kind=kind, authority=court or org.name,
                                 process="court_decision" if court else "authority_confirmation",
                                 decided_at=balise.clock(), hashes=[{"algorithm": a, "value": v} for a, v in hashes],
                                 note=note or "DEMO submission: random hashes of no real material.")
        if court:
            balise.submissions.submit(session, Actor.system("demo"), terms, channel=SubmissionChannel.UI,
                                      organisation_id=None)
        else:
            balise.submissions.submit(session, Actor.organisation(str(org.id), org.name), terms,
                                      channel=SubmissionChannel.API, organisation_id=org.id)


def _confirm_history_candidates(past: Balise, assessment: object, clock: _DemoClock, now: datetime) -> None:
    """The DEMO history's new material: confirmed by the DEMO senior a day after its assessment,
    then by the DEMO authority five days later, except the newest item, which still waits for
    the authority (its Art. 36(3) clock runs on the clocks page)."""
    from sqlalchemy import select

    from balise.adapters.db.models import User

    with past.db.sessions() as session:
        waiting = [(a.item.id, datetime.fromisoformat(a.assessed_at)) for a in assessment.awaiting(session)  # type: ignore[attr-defined]
                   if a.item is not None and a.assessed_at]
    waiting.sort(key=lambda pair: pair[1])
    for index, (item_id, assessed) in enumerate(waiting):
        clock.now = min(assessed + timedelta(days=1), now - timedelta(hours=1))
        with past.db.transaction() as session:
            senior = session.execute(select(User).where(User.username == "demo-senior")).scalar_one()
            group = assessment.confirm_item(session, senior, item_id, accept=True,  # type: ignore[attr-defined]
                                            note="DEMO: second pair of eyes agrees")
            hashes = [(i.algorithm, i.value) for i in group]
        if index == len(waiting) - 1:
            break
        clock.now = min(assessed + timedelta(days=6), now - timedelta(minutes=30))
        _authority_submits(past, hashes, f"DEMO-CA-FR-{assessed:%Y}-{index + 100:03d}", kind="new_csam")
    clock.now = now


def _seed_url_list(balise: Balise, session: object) -> None:
    """The URL list (CSAR Art. 44(1)(b)): two DEMO URLs listed with their evidence, and one taken
    off the list after the host removed it at last (a feed of changes shows the removal)."""
    from balise.domain.submissions import check_url_entry

    staff = Actor.system("demo")
    entries = []
    for n, country in enumerate(("US", "RU", "US")):
        terms = check_url_entry(
            url=f"https://offshore-host-{n}.demo.invalid/gallery/{n}", host_country=country,
            refusal=f"DEMO: notices sent on day 1 and day 8 to the host's abuse contact; the host answered on day 9 "
                    f"that it does not act on foreign notices (host {n}).",
            authority_non_cooperation="DEMO: request to the host country's authorities through the liaison "
                                      "officer on day 10; no answer after 30 days.")
        entries.append(balise.url_list.add(session, staff, terms))  # type: ignore[arg-type]
    balise.url_list.remove(session, staff, entries[2].id, "DEMO: the host removed it at last")  # type: ignore[arg-type]


def _demo_oversight(balise: Balise, provider: Actor, organisation_id: str, key_id: str) -> None:
    """A few DEMO match queries in the match access log, and (when BALISE_CHECKPOINT_DIR is set,
    as `make run` does) a signed checkpoint, so that the audit page shows one."""
    import hashlib

    import uuid

    from balise.detection.matching import HashQuery
    from balise.domain.checkpoints import match_entry
    from balise.domain.grants import GrantDatabase, GrantOperation

    with balise.db.sessions() as session:  # the DEMO provider's live grant, as the API would find it
        access = balise.grants.check(session, uuid.UUID(organisation_id), GrantOperation.MATCH, tuple(GrantDatabase))
    for n in range(3):
        queries = [HashQuery("md5", hashlib.md5(demo_image(1000 + n)).hexdigest())]
        outcomes = balise.matcher.match(queries)
        balise.match_log.append(match_entry(
            at=balise.clock(), actor_type=provider.type.value, actor_id=provider.id, organisation_id=organisation_id,
            key_id=key_id, grant_id=",".join(str(g) for g, _ in access.grants) or None,
            purpose="provider match query (DEMO); " + access.audit_purpose(), hash_types=["md5"],
            threshold=None, matched_hashes=sum(1 for o in outcomes if o.matches),
            indicator_ids=[m["indicator_id"] for o in outcomes for m in o.matches]))
    balise.match_log.flush()
    if balise.settings.checkpoint_dir is not None:
        balise.checkpoints.write(Actor.system("demo"))
def _seed_exchange(balise: Balise, session: object, actor: Actor) -> str:
    """An exchange list with a grant (docs/exchange.md): the DEMO HMA platform may download the
    known_indicators list through GET /api/v1/exchange/known_indicators, approved by two
    administrators (the DEMO admin and a second, named DEMO administrator)."""
    from sqlalchemy import select

    from balise.adapters.db.models import User
    from balise.domain.grants import add_months, check_terms

    hma = balise.organisations.create(session, actor, name="DEMO HMA platform", kind=OrgKind.PROVIDER,  # type: ignore[arg-type]
                                      country="NL", is_demo=True)
    key = balise.organisations.issue_key(session, actor, hma, [Scope.MATCH], "DEMO exchange key")  # type: ignore[arg-type]
    now = balise.clock()
    terms = check_terms(databases=("known_indicators",), operations=("download",),
                        purpose="DEMO: pull the known-material list into a hasher-matcher-actioner",
                        legal_basis="DEMO: CSAR Art. 46 (demo data, not a real order)", order_reference=None,
                        valid_from=now - timedelta(days=1), valid_until=add_months(now, 12),
                        max_months=balise.settings.grant_max_months, now=now)
    grant = balise.grants.request(session, Actor.organisation(str(hma.id), hma.name), hma.id, terms)  # type: ignore[arg-type]
    admin = session.execute(select(User).where(User.username == "demo-admin")).scalar_one()  # type: ignore[attr-defined]
    balise.grants.approve(session, Actor.staff(str(admin.id), admin.username), grant.id,  # type: ignore[arg-type]
                          "DEMO: exchange agreement checked")
    balise.grants.approve(session, Actor.system("DEMO second administrator"), grant.id,  # type: ignore[arg-type]
                          "DEMO: second approval of the exchange agreement")
    return key.plaintext


def _seed_grants(balise: Balise, session: object, provider: object, hotline: object, police: object) -> None:
    """Access grants (CSAR Art. 46) in every state: the provider's live grant to match (so the
    demo key matches), a download waiting for its second approval, an undecided request, a
    revoked grant, and one ending soon and unused for months (the review lists it)."""
    from sqlalchemy import select

    from balise.adapters.db.models import User
    from balise.domain.grants import add_months, check_terms

    admin = session.execute(select(User).where(User.username == "demo-admin")).scalar_one()  # type: ignore[attr-defined]
    decider = Actor.staff(str(admin.id), admin.username)
    now = balise.clock()
    indicators = ("known_indicators", "new_indicators", "solicitation_indicators", "url_list")

    def request(org: object, databases: tuple[str, ...], operations: tuple[str, ...], purpose: str,
                start: datetime, until: datetime, reference: str | None = None):  # type: ignore[no-untyped-def]
        terms = check_terms(databases=databases, operations=operations, purpose=f"DEMO: {purpose}",
                            legal_basis="DEMO: CSAR Art. 46 (demo data, not a real order)", order_reference=reference,
                            valid_from=start, valid_until=until, max_months=balise.settings.grant_max_months, now=now)
        by = Actor.organisation(str(org.id), org.name)  # type: ignore[attr-defined]
        return balise.grants.request(session, by, org.id, terms)  # type: ignore[arg-type, attr-defined]

    live = request(provider, indicators, ("match",), "check uploads against the indicators before publication",
                   now - timedelta(days=1), add_months(now, 12), "DEMO-DO-2026-001")
    balise.grants.approve(session, decider, live.id, "DEMO: detection order checked")  # type: ignore[arg-type]
    download = request(hotline, ("known_indicators",), ("download",), "block known material on member hosts",
                       now, add_months(now, 6))
    balise.grants.approve(session, decider, download.id, "DEMO: first approval; needs a second administrator")  # type: ignore[arg-type]
    request(police, ("known_indicators",), ("match",), "match seized media in investigations", now, add_months(now, 12),
            "DEMO-PARQUET-2026-17")
    revoked = request(police, ("url_list",), ("match",), "check URLs found in a case", now - timedelta(days=30),
                      add_months(now, 3))
    balise.grants.approve(session, decider, revoked.id, "DEMO: case opened")  # type: ignore[arg-type]
    balise.grants.revoke(session, decider, revoked.id, "DEMO: the case was closed")  # type: ignore[arg-type]
    ending = request(hotline, ("url_list",), ("match",), "check reported URLs against the URL list",
                     now - timedelta(days=330), now + timedelta(days=20))
    balise.grants.approve(session, decider, ending.id, "DEMO: hotline agreement")  # type: ignore[arg-type]
    # Approved eleven months ago and not used since four months: the review lists it twice.
    ending.decided_at, ending.last_used_at = now - timedelta(days=330), now - timedelta(days=120)
