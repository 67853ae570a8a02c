"""Two workers running the same removal check at once (the first one's lease ran out during a
slow fetch) record it once: one check, the next step of the schedule kept (6 h), not skipped."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Job, Takedown
from tests.takedown_support import Clock, demo_site, file_url_report, forward, gate_fetcher, known_picture, mailbox
from tests.takedown_support import reencoded, routing_app


def test_a_check_claimed_again_after_its_lease_ran_out_is_recorded_once(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        gate = gate_fetcher(app)
        url = site.serve("/r/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            notified = s.get(Takedown, item.id).host_notified_at
        handlers = app.job_handlers()

        clock.advance(hours=1, minutes=1)
        gate.hold_next()  # worker A's fetch is slow...
        first = threading.Thread(target=app.jobs.run_one, args=(handlers, "worker-A"))
        first.start()
        assert gate.entered.wait(60)
        # ... longer than its lease (no heartbeat beat in this short time): worker B claims
        # the same job and runs the check to its end.
        clock.advance(seconds=app.jobs.lease.total_seconds() + 1)
        assert app.jobs.run_one(handlers, "worker-B") is True
        gate.release()
        first.join(60)
        assert not first.is_alive()

        with app.db.sessions() as s:
            takedown = s.get(Takedown, item.id)
            checks = app.takedowns.checks(s, item.id)
            audited = s.execute(select(AuditRecord).where(AuditRecord.event_type == "takedown:check")).scalars().all()
            jobs = s.execute(select(Job).where(Job.kind == "takedown.check").order_by(Job.id)).scalars().all()
        assert [c.outcome for c in checks] == ["served"] and len(audited) == 1
        assert takedown.step == 1 and takedown.next_check_at == notified + timedelta(hours=6)
        assert [j.status for j in jobs] == ["done", "pending"] and jobs[1].run_at == notified + timedelta(hours=6)
        assert site.hits.count("/r/1.jpg") == 3  # inspection, then the two runs
