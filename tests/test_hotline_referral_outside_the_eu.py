"""A URL hosted in the country of a partner hotline goes to that hotline even when the country
is not an EU Member State (INHOPE has members in Norway, the United Kingdom...); without such
a partner it goes to the host. Police and jurisdiction still count only Member States."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Jurisdiction, Notice
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


def _route(tmp_path, db_url, country: str, hotline: bool):  # type: ignore[no-untyped-def]
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port,
                          geo_overrides_file=routing_overrides(tmp_path, country=country, abuse="abuse@host.example"))
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            if hotline:
                app.partners.create(s, ADMIN, kind="hotline", country=country, name=f"DEMO hotline {country}",
                                    channel="email", endpoint=f"reports@hotline-{country.lower()}.example",
                                    languages=["en"], verified=True)
        report_id = file_url_report(app, site.serve(f"/{country}/1.jpg", reencoded(known_picture(app))))
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            notices = s.execute(select(Notice).where(Notice.report_id == report_id, Notice.item_id.is_not(None))).scalars().all()
            jurisdiction = s.get(Jurisdiction, report_id)
    app.close()
    return notices, jurisdiction, box


def test_a_url_hosted_in_norway_goes_to_the_norwegian_partner_hotline(tmp_path, db_url) -> None:
    notices, jurisdiction, box = _route(tmp_path, db_url, "NO", hotline=True)
    assert [(n.kind, n.recipient, n.status) for n in notices] == \
        [("hotline_referral", "reports@hotline-no.example", "sent")]
    assert box.recipients == [["reports@hotline-no.example"]]
    body = box.messages[0].get_payload(decode=True).decode()
    assert "Norway (NO)" in body
    # Norway is not a Member State: jurisdiction is still decided among Member States (DE here,
    # from the upload address), hosting in NO adds nothing to it.
    assert jurisdiction.member_state == "DE" and jurisdiction.hosted_countries == ["NO"]


def test_a_url_hosted_in_the_united_kingdom_without_a_partner_hotline_goes_to_the_host(tmp_path, db_url) -> None:
    notices, _, box = _route(tmp_path, db_url, "GB", hotline=False)
    assert [(n.kind, n.recipient) for n in notices] == [("host_notice", "abuse@host.example")]
    assert box.recipients == [["abuse@host.example"]]
