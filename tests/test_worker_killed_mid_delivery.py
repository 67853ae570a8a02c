"""`kill -9` of a worker in the middle of delivering a notice loses nothing: once its lease
runs out another worker claims the job, the notice goes out, and the recipient gets it once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading

from aiosmtpd.controller import Controller
from sqlalchemy import select

from balise.adapters.db.models import Job, Notice
from tests.servers import free_port, wait_for
from tests.takedown_support import routing_worker_env, start_worker
from tests.takedown_support import demo_site
from tests.takedown_support import file_url_report, forward, known_picture, reencoded, routing_app


class StallingFirstSession:
    """Answers the first RCPT only after a long pause (the worker is killed meanwhile), then
    behaves; keeps every message it accepts."""

    def __init__(self) -> None:
        self.rcpt_seen = threading.Event()
        self.stalled = False
        self.messages: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        envelope.rcpt_tos.append(address)
        if not self.stalled:
            self.stalled = True
            self.rcpt_seen.set()
            await asyncio.sleep(60)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


def test_a_worker_killed_while_sending_leaves_the_notice_to_the_next_worker_and_it_arrives_once(tmp_path, db_url) -> None:
    smtp = StallingFirstSession()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    workers: list[subprocess.Popen] = []
    try:
        with demo_site() as site:
            app = routing_app(tmp_path, db_url, clock=None, smtp_port=port)  # type: ignore[arg-type]
            url = site.serve("/k/1.jpg", reencoded(known_picture(app)))
            report_id = file_url_report(app, url)
            app.run_jobs()
            forward(app, report_id)  # queues the routing job; the workers do the rest
            env = routing_worker_env(tmp_path, db_url, port, lease_seconds=3)


            first = start_worker(env, workers)
            assert smtp.rcpt_seen.wait(60), "the first worker never reached the SMTP server"
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)

            def notice() -> Notice:
                with app.db.sessions() as s:
                    return s.execute(select(Notice).where(Notice.kind == "host_notice")).scalar_one()

            assert notice().status == "pending" and smtp.messages == []
            start_worker(env, workers)
            wait_for(lambda: notice().status == "sent", seconds=60)

            def job() -> Job:
                with app.db.sessions() as s:
                    return s.execute(select(Job).where(Job.kind == "notice.send")).scalar_one()

            # The worker marks the job done just after the notice is marked sent: wait for both.
            wait_for(lambda: job().status != "running", seconds=60)
            assert job().status == "done" and job().attempts == 2
            assert len(smtp.messages) == 1 and notice().reference.encode() in smtp.messages[0]
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
        controller.stop()
