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
        for name, kind, country in (
            ("DEMO Hotline Deutschland", OrgKind.HOTLINE, "DE"),
            ("DEMO Police unit France", OrgKind.LAW_ENFORCEMENT, "FR"),
            ("DEMO EU Centre", OrgKind.CENTRE, None),
        ):
            balise.organisations.create(session, actor, name=name, kind=kind, country=country, is_demo=True)
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
    _demo_oversight(balise, provider_actor, str(provider_id), str(key.key_id))
    return DemoResult(api_key=key.plaintext, users=users, reports=reports, ispws=(ispws.username, ispws.password))


def _demo_oversight(balise: Balise, provider: Actor, organisation_id: str, key_id: str) -> None:
    """A few DEMO match queries in the match access log, and (when BALISE_CHECKPOINT_DIR is set,
    as `make run` does) a signed checkpoint, so that the audit page shows one."""
    import hashlib

    from balise.detection.matching import HashQuery
    from balise.domain.checkpoints import match_entry

    for n in range(3):
        queries = [HashQuery("md5", hashlib.md5(demo_image(1000 + n)).hexdigest())]
        outcomes = balise.matcher.match(queries)
        balise.match_log.append(match_entry(
            at=balise.clock(), actor_type=provider.type.value, actor_id=provider.id, organisation_id=organisation_id,
            key_id=key_id, grant_id=None, purpose="provider match query (DEMO)", hash_types=["md5"],
            threshold=None, matched_hashes=sum(1 for o in outcomes if o.matches),
            indicator_ids=[m["indicator_id"] for o in outcomes for m in o.matches]))
    balise.match_log.flush()
    if balise.settings.checkpoint_dir is not None:
        balise.checkpoints.write(Actor.system("demo"))
