"""A URL still served after the SLA is escalated to the coordinating authority, once; checks
stop after the last step and the URL counts as not removed."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Notice, Takedown
from balise.domain.partners import PartnerKind
from balise.takedown.partners import PartnerChanges
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

ADMIN = Actor.system("test")


def test_a_url_never_removed_is_escalated_once_then_marked_not_removed(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            authority = app.partners.find(s, PartnerKind.COORDINATING_AUTHORITY, "NL")[0]
            app.partners.update(s, ADMIN, authority.id, PartnerChanges(
                channel="email", endpoint="ca@authority.example", verified=True))
        url = site.serve("/x/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        assert [m["X-Balise-Reference"] is not None for m in box.messages] == [True]  # the host notice

        # 1 h, 6 h, 24 h: still there, not yet late. 72 h: late, escalated.
        for hours in (1, 5, 18):
            clock.advance(hours=hours, minutes=1)
            app.run_jobs()
        assert len(box.messages) == 1
        clock.advance(hours=48)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            takedown = s.get(Takedown, item.id)
            assert takedown.escalated_at is not None and takedown.status == "watching" and takedown.step == 4
            escalation = s.execute(select(Notice).where(Notice.kind == "escalation")).scalar_one()
            assert escalation.status == "sent" and escalation.recipient == "ca@authority.example"
        assert len(box.messages) == 2 and box.recipients[1] == ["ca@authority.example"]
        body = box.messages[1].get_payload(decode=True).decode()
        assert url in body and "72" in body

        # 7 d: last check, still served: not removed, no second escalation, no more checks.
        clock.advance(days=5)
        app.run_jobs()
        clock.advance(days=30)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.get(Takedown, item.id)
            assert (takedown.status, takedown.next_check_at, takedown.removed_at) == ("not_removed", None, None)
            assert len(app.takedowns.checks(s, item.id)) == 5
            assert len(s.execute(select(Notice).where(Notice.kind == "escalation")).scalars().all()) == 1
            stats = ntd_stats(s).as_dict()
        assert len(box.messages) == 2
        assert (stats["notified"], stats["removed"], stats["not_removed"]) == (1, 0, 1)
        assert stats["removed_within_percent"]["7d"] == 0.0
        assert site.hits.count("/x/1.jpg") == 6
