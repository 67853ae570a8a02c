"""A reported URL on a loopback DEMO site goes through fetch, match, assessment, routing, a
host notice to a real SMTP server, removal, verification and the NTD figures; the forwarded
report yields verifiable signed packages for Europol and the competent State."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item, Jurisdiction, Notice, Report, Takedown, UrlHosting
from balise.evidence.package_verify import verify_package
from balise.takedown.takedowns import ntd_stats
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)


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
            # The packages were only written to the export directory: police have not got them yet.
            assert takedown.status == "watching" and takedown.host_notified_at and takedown.police_notified_at is None
        # Europol confirms it collected its package: that is when police were notified.
        clock.advance(minutes=30)
        with app.db.transaction() as s:
            app.notices.acknowledge(s, police[0].reference, Actor.system("test"), {"note": "DEMO: collected"})
        with app.db.sessions() as s:
            assert s.get(Takedown, item.id).police_notified_at == clock.now
        # The notice reached the SMTP server once, quoting its reference and the URL.
        assert len(box.messages) == 1 and box.recipients[0] == ["abuse@demo-hosting.example"]
        message = box.messages[0]
        assert message["X-Balise-Reference"] == host.reference
        assert url in message.get_payload(decode=True).decode()
        # Each package verifies against the centre's key, as police would check it.
        for notice in police:
            verify_package(Path(notice.package_path), [app.signer.public_key])

        clock.advance(minutes=31)
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
