"""A removal check slower than the job lease is not run by a second worker while the first
one lives (its heartbeat renews the lease); after `kill -9` of that worker the lease runs out,
the other worker runs the check, and it is recorded once."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from balise.adapters.db.models import Item, Job, Takedown
from tests.servers import wait_for
from tests.takedown_support import routing_worker_env, start_worker
from tests.takedown_support import Clock, file_url_report, forward, known_picture, mailbox, reencoded
from tests.takedown_support import routing_app

LEASE_SECONDS = 2.0


class StallingSite:
    """Serves one DEMO picture; once armed, the next request waits until released."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.hits: list[str] = []
        self.armed = False
        self.stalled = threading.Event()
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.hits.append(self.path)
                if site.armed:
                    site.armed = False
                    site.stalled.set()
                    site.release.wait(120)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(site.body)))
                    self.end_headers()
                    self.wfile.write(site.body)
                except OSError:
                    pass  # the worker that asked was killed

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/k/1.jpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_slow_check_keeps_its_lease_while_its_worker_lives_and_runs_once_more_after_kill_9(tmp_path, db_url) -> None:
    workers: list[subprocess.Popen] = []
    with mailbox() as box:
        # Set up two hours ago, so that the 1 h check is due now for workers on the real clock.
        clock = Clock(datetime.now(timezone.utc) - timedelta(hours=2))
        app = routing_app(tmp_path, db_url, clock, box.port)
        site = StallingSite(b"")
        try:
            site.body = reencoded(known_picture(app))
            report_id = file_url_report(app, site.url)
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
            with app.db.sessions() as s:
                item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
                notified = s.get(Takedown, item.id).host_notified_at
            env = routing_worker_env(tmp_path, db_url, box.port, lease_seconds=LEASE_SECONDS,
                                     BALISE_FETCH_READ_TIMEOUT_SECONDS="120", BALISE_FETCH_TOTAL_TIMEOUT_SECONDS="120")


            def check_job() -> Job:
                with app.db.sessions() as s:
                    return s.execute(select(Job).where(Job.kind == "takedown.check").order_by(Job.id)).scalars().first()

            site.armed = True
            first = start_worker(env, workers)
            assert site.stalled.wait(60), "the first worker never fetched the URL"
            start_worker(env, workers)  # a second worker, polling for anything ready
            leased_until = check_job().locked_until
            # Well past the lease it took: still renewed, still its job, fetched once.
            assert wait_for(lambda: check_job().locked_until > leased_until + timedelta(seconds=2 * LEASE_SECONDS),
                            seconds=60), "the lease was not renewed"
            job = check_job()
            assert (job.status, job.attempts) == ("running", 1)
            assert site.hits.count("/k/1.jpg") == 2  # inspection, the first worker's check

            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)

            def checks() -> int:
                with app.db.sessions() as s:
                    return len(app.takedowns.checks(s, item.id))

            assert wait_for(lambda: checks() == 1, seconds=60), "nobody ran the check after the kill"
            assert wait_for(lambda: check_job().status == "done", seconds=30)
            with app.db.sessions() as s:
                takedown = s.get(Takedown, item.id)
            assert (takedown.step, takedown.last_outcome) == (1, "served")
            assert takedown.next_check_at == notified + timedelta(hours=6)
            assert check_job().attempts == 2 and site.hits.count("/k/1.jpg") == 3
        finally:
            for proc in workers:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(20)
            site.close()
            app.close()
