"""The notice-and-takedown figures measure what INHOPE publishes: for URLs whose host was
notified, the time from the report's receipt to the removal seen by a check. A URL already gone
when first inspected is counted apart and in no median or share; police count as notified
when they have the package (an export collected and acknowledged, not a file written)."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Notice, Takedown
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


def test_a_url_gone_before_any_notice_is_counted_apart_and_not_in_the_medians(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        served = site.serve("/n/1.jpg", reencoded(known_picture(app)))
        notified_id = file_url_report(app, served)
        gone_id = file_url_report(app, site.base + "/n/never-there.jpg")
        app.run_jobs()
        clock.advance(hours=3)  # the analyst decides three hours after receipt
        forward(app, notified_id)
        forward(app, gone_id, text="DEMO: the URL no longer serves anything")
        app.run_jobs()
        with app.db.sessions() as s:
            gone = s.execute(select(Takedown).where(Takedown.report_id == gone_id)).scalar_one()
        # Seen gone at inspection, before the assessment: a removal nobody was asked for.
        assert gone.status == "removed" and gone.host_notified_at is None and gone.removed_at < gone.assessed_at

        site.take_down("/n/1.jpg")
        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        with app.db.sessions() as s:
            removed = s.execute(select(Takedown).where(Takedown.report_id == notified_id)).scalar_one()
            stats = ntd_stats(s).as_dict()
        assert removed.status == "removed"
        hours = round((removed.removed_at - removed.received_at).total_seconds() / 3600, 2)
        assert (stats["urls"], stats["notified"], stats["removed"], stats["gone_before_notice"]) == (2, 1, 1, 1)
        assert stats["median_hours"]["received_to_removed"] == hours
        assert stats["median_hours"]["notice_to_removed"] == round(1 + 1 / 60, 2)
        assert stats["removed_within_percent"] == {"2.5d": 100.0, "3d": 100.0, "7d": 100.0}


def test_police_count_as_notified_when_they_have_the_package_not_when_it_is_exported(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)  # Europol and the German police receive exports
        report_id = file_url_report(app, site.serve("/n/2.jpg", reencoded(known_picture(app))))
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            police = s.execute(select(Notice).where(Notice.kind == "police_forward").order_by(Notice.id)).scalars().all()
            takedown = s.get(Takedown, item.id)
        assert [n.channel for n in police] == ["export", "export"] and all(n.status == "sent" for n in police)
        assert takedown.police_notified_at is None
        clock.advance(hours=2)
        with app.db.transaction() as s:
            app.notices.acknowledge(s, police[1].reference, ADMIN, {"note": "DEMO: collected by hand"})
        with app.db.sessions() as s:
            assert s.get(Takedown, item.id).police_notified_at == clock.now
            stats = ntd_stats(s).as_dict()
        assert stats["median_hours"]["assessed_to_police_notified"] == 2.0
