"""A notice whose recipient cannot be reached is retried with backoff, never lost, finally
marked failed and visible; fixed and retried, it goes out once. A permanent refusal fails at
once. A partner without a channel fails with the reason, without retrying."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Job, Notice
from balise.domain.partners import PartnerKind
from balise.takedown.notices import MAX_ATTEMPTS
from balise.takedown.partners import PartnerChanges
from tests.servers import free_port
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


def _host_notice(app):
    with app.db.sessions() as s:
        return s.execute(select(Notice).where(Notice.kind == "host_notice")).scalar_one()


def test_an_unreachable_smtp_server_is_retried_then_the_notice_fails_visibly_and_can_be_sent_later(tmp_path, db_url) -> None:
    clock = Clock()
    dead_port = free_port()  # nothing listens here
    with demo_site() as site:
        app = routing_app(tmp_path, db_url, clock, dead_port)
        url = site.serve("/f/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        notice = _host_notice(app)
        assert notice.status == "pending" and notice.attempts == 1 and "connect" in notice.last_error.lower()
        for _ in range(MAX_ATTEMPTS + 2):
            clock.advance(hours=2)
            app.run_jobs()
        notice = _host_notice(app)
        assert notice.status == "failed" and notice.attempts == MAX_ATTEMPTS and notice.failed_at is not None
        with app.db.sessions() as s:
            job = s.execute(select(Job).where(Job.kind == "notice.send")).scalar_one()
            events = s.execute(select(AuditRecord.event_type)).scalars().all()
        # The job says so too: `balise jobs list --status failed` shows the failure.
        assert job.status == "failed" and "the notice is failed" in job.last_error and "connect" in job.last_error
        assert events.count("notice:fail") == 1

        # The operator fixes the mail server and sends it again: it goes out once.
        with mailbox() as box:
            app.close()
            app = routing_app(tmp_path, db_url, clock, box.port)
            with app.db.transaction() as s:
                app.notices.retry(s, notice.reference)
            app.run_jobs()
            clock.advance(hours=2)
            app.run_jobs()
            assert len(box.messages) == 1 and box.messages[0]["X-Balise-Reference"] == notice.reference
        assert _host_notice(app).status == "sent"
        with app.db.sessions() as s:
            # The same job went back in the queue and ran: no second job, nothing left failed.
            assert [j.status for j in s.execute(select(Job).where(Job.kind == "notice.send")).scalars()] == ["done"]


def test_a_permanent_refusal_fails_at_once(tmp_path, db_url) -> None:
    clock = Clock()

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 5.1.1 no such mailbox"

    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with demo_site() as site:
            app = routing_app(tmp_path, db_url, clock, port)
            url = site.serve("/f/2.jpg", reencoded(known_picture(app)))
            report_id = file_url_report(app, url)
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
    finally:
        controller.stop()
    notice = _host_notice(app)
    assert (notice.status, notice.attempts) == ("failed", 1) and "550" in notice.last_error


def test_a_partner_without_a_channel_fails_with_the_reason(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            europol = app.partners.find(s, PartnerKind.EUROPOL, None)[0]
            app.partners.update(s, ADMIN, europol.id, PartnerChanges(channel="none"))
        url = site.serve("/f/3.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            failed = s.execute(select(Notice).where(Notice.status == "failed")).scalars().all()
        assert [(n.kind, n.partner_id, n.attempts) for n in failed] == [("police_forward", europol.id, 1)]
        assert "configure the partner" in failed[0].last_error
