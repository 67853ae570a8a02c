"""A reported URL on a loopback DEMO site goes through fetch, match, assessment, routing, a
host notice to a real SMTP server, removal, verification and the NTD figures; the forwarded
report yields verifiable signed packages for Europol and the competent State."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Jurisdiction, Notice, Report, Takedown, UrlHosting
from balise.adapters.media_hash import hash_image_bytes
from balise.container import Balise
from balise.demo import demo_image
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.services.actors import Actor
from balise.services.assessment import Decision
from balise.services.package_verify import verify_package
from balise.services.takedowns import ntd_stats
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, make_user
from tests.takedown_support import Clock, demo_site, mailbox, routing_overrides

COMPLETE = {"signature": "DEMO-SIGNATURE", "provider": {"contact_point": {"email": "trust@provider.example"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}
GERMAN_UPLOAD_IP = "80.128.0.1"  # Deutsche Telekom in the shipped registry data


def reencoded(data: bytes, quality: int = 70) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def routing_app(tmp_path: Path, db_url: str, clock: Clock | None, smtp_port: int, **overrides: object) -> Balise:
    settings = make_settings(tmp_path, db_url, index_refresh_seconds=0.0, fetch_allow_networks="127.0.0.1/32",
                             geo_overrides_file=routing_overrides(tmp_path), centre_country="NL",
                             centre_name="DEMO Centre", smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                             mail_from="DEMO Centre <centre@balise.example>", **overrides)
    return Balise(settings, clock=clock) if clock is not None else Balise(settings)


def known_picture(app: Balise, seed: int = 5) -> bytes:
    """A DEMO picture whose PDQ is a confirmed known-material indicator."""
    original = demo_image(seed, (800, 600))
    with app.db.transaction() as s:
        app.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=hash_image_bytes(original).pdq,
                           kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO"},
                           classification={"ncmec_category": "A1"}, media_type="image")
    return original


def file_url_report(app: Balise, url: str, *, upload_ip: str | None = GERMAN_UPLOAD_IP,
                    key: str | None = None) -> uuid.UUID:
    if key is None:
        _, key = make_provider(app, name=f"DEMO provider {uuid.uuid4().hex[:8]}")
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "known_csam",
              "service": {"type": "hosting", "url": "https://provider.example"}, "awareness": {"source": "own_motion"},
              "content_removed": False, "items": [{"kind": "url", "url": url}], **COMPLETE}
    if upload_ip:
        report["persons"] = [{"role": "reported_user", "identifiers": [
            {"type": "ip", "value": upload_ip, "event": "upload", "observed_at": "2026-11-22T21:00:00+01:00"}]}]
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def forward(app: Balise, report_id: uuid.UUID) -> Report:
    with app.db.sessions() as s:
        exists = app.users.get(s, "demo-ana") is not None
    if not exists:
        make_user(app, "demo-ana", "analyst")
    with app.db.transaction() as s:
        user = app.users.get(s, "demo-ana")
        app.assessment.claim(s, user, report_id)
    with app.db.transaction() as s:
        user = app.users.get(s, "demo-ana")
        revision = s.get(Report, report_id).revision
        app.assessment.decide(s, user, report_id, revision=revision, decision=Decision("forward"))
    with app.db.sessions() as s:
        return s.get(Report, report_id)


def test_a_reported_url_is_fetched_routed_notified_removed_verified_and_counted(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, Actor.system("test"))
        original = known_picture(app)
        url = site.serve("/gallery/5.jpg", reencoded(original))
        report_id = file_url_report(app, url)
        app.run_jobs()

        # Fetched once, placed in NL with the DEMO host's abuse address, matched by PDQ and
        # classified by re-use: nobody had to look at it.
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            hosting = s.get(UrlHosting, item.id)
            assert (hosting.fetch_status, hosting.hosted_country, hosting.abuse_email) == \
                ("served", "NL", "abuse@demo-hosting.example")
            assert hosting.stored and item.vault_object == hosting.content_sha256
            assert item.matched and item.outcome == "illegal" and item.assessment_source.startswith("reuse:")
            assert s.get(Report, report_id).state == "in_assessment"
        assert site.hits == ["/gallery/5.jpg"]

        report = forward(app, report_id)
        assert report.state == "forwarded_europol_and_state"
        with app.db.sessions() as s:
            j = s.get(Jurisdiction, report_id)
            assert (j.member_state, j.confidence, j.hosted_countries, j.uploaded_countries) == \
                ("DE", "high", ["NL"], ["DE"])
        app.run_jobs()

        with app.db.sessions() as s:
            notices = {n.kind + ":" + (n.recipient or n.channel): n for n in
                       s.execute(select(Notice).where(Notice.report_id == report_id)).scalars()}
            assert set(notices) == {"police_forward:export", "host_notice:abuse@demo-hosting.example"}
            police = s.execute(select(Notice).where(Notice.kind == "police_forward")).scalars().all()
            assert len(police) == 2 and all(n.status == "sent" and n.package_sha256 for n in police)
            host = notices["host_notice:abuse@demo-hosting.example"]
            assert host.status == "sent"
            takedown = s.get(Takedown, item.id)
            assert takedown.status == "watching" and takedown.host_notified_at and takedown.police_notified_at
        # The notice reached the SMTP server once, quoting its reference and the URL.
        assert len(box.messages) == 1 and box.recipients[0] == ["abuse@demo-hosting.example"]
        message = box.messages[0]
        assert message["X-Balise-Reference"] == host.reference
        assert url in message.get_payload(decode=True).decode()
        # Each package verifies against the centre's key, as police would check it.
        for notice in police:
            verify_package(Path(notice.package_path), [app.signer.public_key])

        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.get(Takedown, item.id)
            assert (takedown.status, takedown.step, takedown.last_outcome) == ("watching", 1, "served")

        site.take_down("/gallery/5.jpg")
        clock.advance(hours=5)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.get(Takedown, item.id)
            assert takedown.status == "removed" and takedown.removed_at == clock.now
            stats = ntd_stats(s).as_dict()
            events = s.execute(select(AuditRecord.event_type)).scalars().all()
        assert stats["urls"] == stats["notified"] == stats["removed"] == 1
        assert stats["removed_within_percent"] == {"2.5d": 100.0, "3d": 100.0, "7d": 100.0}
        assert stats["median_hours"]["notice_to_removed"] == round(6 + 1 / 60, 2)
        for event in ("url:fetch", "report:route", "notice:create", "notice:send", "takedown:check",
                      "takedown:removed", "package:build"):
            assert event in events, event
        # No more checks once removed.
        clock.advance(days=8)
        app.run_jobs()
        assert site.hits.count("/gallery/5.jpg") == 3
        with app.db.sessions() as s:
            assert len(app.takedowns.checks(s, item.id)) == 2
