"""Demo data: organisations, staff and reports that say they are DEMO, with generated,
benign images (gradients and shapes). Development only."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageDraw

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind, Role, Scope
from balise.intake.filing import UploadedFile, request_fingerprint
from balise.intake.report_schema import ReportIn

DEMO_PASSWORD = "demo-password-not-secret"
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


def has_data(balise: Balise) -> bool:
    from sqlalchemy import func, select

    from balise.adapters.db.models import Organisation

    with balise.db.sessions() as session:
        return bool(session.execute(select(func.count()).select_from(Organisation)).scalar_one())


def seed(balise: Balise, reports: int = 6) -> DemoResult:
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
                display_name=f"DEMO {role.value}", is_demo=True,
            )
            users.append((username, role.value, new.totp_secret))
        provider_id = provider.id
        _seed_grants(balise, session, provider, others["DEMO Hotline Deutschland"], others["DEMO Police unit France"])
        provider_actor = Actor.organisation(str(provider.id), provider.name)

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
    balise.run_jobs()  # triage the demo reports now, so the queue is ready
    return DemoResult(api_key=key.plaintext, users=users, reports=reports, ispws=(ispws.username, ispws.password))


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
