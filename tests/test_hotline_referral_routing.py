"""A URL hosted in another Member State goes to that country's hotline, in its language,
not to the host; one hosted outside the EU, or where no hotline is configured, goes to the
host's abuse contact; a report with no EU indication goes to Europol only, with the reason."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Jurisdiction, Notice, Report
from balise.domain.partners import PartnerKind
from balise.takedown.partners import PartnerChanges
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
    routing_overrides,
)

ADMIN = Actor.system("test")


def test_a_url_hosted_in_another_member_state_is_referred_to_its_hotline_in_german(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        # The DEMO site is placed in Germany; the centre is in the Netherlands.
        routing_overrides(tmp_path, country="DE")
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            hotline = app.partners.find(s, PartnerKind.HOTLINE, "DE")[0]
            app.partners.update(s, ADMIN, hotline.id, PartnerChanges(channel="email",
                                                                     endpoint="hotline@de-hotline.example"))
        url = site.serve("/de/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url, upload_ip=None)
        app.run_jobs()
        report = forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            notices = s.execute(select(Notice).where(Notice.report_id == report_id, Notice.item_id.is_not(None))).scalars().all()
            j = s.get(Jurisdiction, report_id)
            last_reason = s.get(Report, report_id).events[-1].reason
        assert [(n.kind, n.recipient, n.language, n.status) for n in notices] == \
            [("hotline_referral", "hotline@de-hotline.example", "de", "sent")]
        assert box.recipients == [["hotline@de-hotline.example"]]
        assert box.messages[0]["Content-Language"] == "de"
        # Hosting (DE) and the provider's establishment (FR) weigh the same: Europol only.
        assert report.state == "forwarded_europol_only" and j.member_state is None
        assert "cannot be determined" in last_reason


def test_a_url_hosted_outside_the_eu_gets_a_host_notice_and_the_report_goes_to_europol_only(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        routing_overrides(tmp_path, country="US", abuse="abuse@us-host.example")
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
        url = site.serve("/us/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url, upload_ip="104.16.0.1")  # a Cloudflare address: US
        app.run_jobs()
        report = forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            kinds = sorted((n.kind, n.recipient or n.channel) for n in
                           s.execute(select(Notice).where(Notice.report_id == report_id)).scalars())
            reasons = s.get(Jurisdiction, report_id).reasons
        assert kinds == [("host_notice", "abuse@us-host.example"), ("police_forward", "export")]
        assert box.recipients == [["abuse@us-host.example"]] and box.messages[0]["Content-Language"] == "en"
        assert report.state == "forwarded_europol_only"
        assert any("outside the EU" in r["text"] for r in reasons)
        # Europol's package was exported to its folder: nothing left the machine for it.
        exported = list((app.settings.exports_path / "notices").glob("*/*.zip"))
        assert len(exported) == 1
        with app.db.sessions() as s:
            assert s.get(Report, report_id).state == "forwarded_europol_only"


def test_a_url_no_notice_can_carry_is_flagged_and_the_rest_of_routing_goes_on(tmp_path, db_url) -> None:
    from sqlalchemy import select as sel

    from balise.adapters.db.models import AuditRecord, Takedown

    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
        url = site.serve("/long/" + "a" * 3000 + ".jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.execute(sel(Takedown).where(Takedown.report_id == report_id)).scalar_one()
            police = s.execute(sel(Notice).where(Notice.kind == "police_forward")).scalars().all()
            route = s.execute(sel(AuditRecord).where(AuditRecord.event_type == "report:route")).scalar_one()
        assert takedown.status == "no_contact" and len(police) == 2
        assert "no notice for" in " ".join(route.details["problems"]) and box.messages == []
