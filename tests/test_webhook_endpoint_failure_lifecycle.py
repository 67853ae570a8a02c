"""A partner whose webhook endpoint refuses connections: the notice is retried with backoff,
finally failed and visible (`notice list`, `jobs list`); once the endpoint is fixed,
`balise notice retry` delivers it exactly once, with a signature the receiver verifies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Job, Notice
from balise.domain.partners import PartnerKind
from balise.takedown.adapters.webhook import verify_webhook_signature
from balise.takedown.notices import MAX_ATTEMPTS
from balise.takedown.partners import PartnerChanges
from tests.cli_support import CliResult, run_cli
from tests.servers import clean_env, free_port
from tests.takedown_support import (
    Clock,
    answer_receipt,
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
SECRET = "DEMO-secret-of-the-europol-webhook"


def _europol_notice(app, europol_id: int) -> Notice:  # type: ignore[no-untyped-def]
    with app.db.sessions() as s:
        return s.execute(select(Notice).where(Notice.partner_id == europol_id)).scalar_one()


def test_a_refusing_webhook_is_retried_fails_visibly_and_is_delivered_once_after_the_fix(tmp_path, db_url) -> None:
    clock = Clock()
    dead = f"http://127.0.0.1:{free_port()}/balise"  # nothing listens here
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            europol = app.partners.find(s, PartnerKind.EUROPOL, None)[0]
            app.partners.update(s, ADMIN, europol.id, PartnerChanges(channel="webhook", endpoint=dead,
                                                                     webhook_secret=SECRET))
        report_id = file_url_report(app, site.serve("/w/1.jpg", reencoded(known_picture(app))))
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        notice = _europol_notice(app, europol.id)
        assert (notice.status, notice.attempts) == ("pending", 1) and "connect" in notice.last_error
        app.run_jobs()  # backing off: nothing is tried again at once
        assert _europol_notice(app, europol.id).attempts == 1
        for _ in range(MAX_ATTEMPTS + 2):
            clock.advance(hours=2)
            app.run_jobs()
        notice = _europol_notice(app, europol.id)
        assert (notice.status, notice.attempts) == ("failed", MAX_ATTEMPTS) and notice.failed_at is not None
        with app.db.sessions() as s:
            job = s.execute(select(Job).where(Job.payload["notice_id"].as_integer() == notice.id)).scalar_one()
            fails = s.execute(select(AuditRecord).where(AuditRecord.event_type == "notice:fail")).scalars().all()
        assert job.status == "failed" and [f.subject_id for f in fails] == [notice.reference]
    app.close()

    received: list[tuple[dict, bytes]] = []

    class Europol(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            answer_receipt(self, "DEMO-EUROPOL-1")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Europol)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # From here on an operator at the command line, on the real clock.
        env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_CENTRE_COUNTRY="NL",
                        BALISE_CENTRE_NAME="DEMO Centre", BALISE_FETCH_ALLOW_NETWORKS="127.0.0.1/32",
                        BALISE_GEO_OVERRIDES_FILE=str(routing_overrides(tmp_path)))

        def run(*args: str) -> CliResult:
            return run_cli(env, *args)

        listed = run("notice", "list", "--status", "failed")
        assert notice.reference in listed.stdout and "last error" in listed.stdout, listed.stderr
        assert str(job.id) in run("jobs", "list", "--status", "failed").stdout
        fixed = run("partner", "set", str(europol.id), "--endpoint", f"http://127.0.0.1:{server.server_address[1]}/in")
        assert fixed.returncode == 0, fixed.stderr
        assert run("notice", "retry", notice.reference).returncode == 0
        assert run("jobs", "run").returncode == 0
        assert run("jobs", "run").stdout.strip() == "ran 0 job(s)"
        assert run("notice", "retry", notice.reference).returncode == 1  # acknowledged now, not failed
    finally:
        server.shutdown()
        server.server_close()

    [(headers, body)] = received
    verify_webhook_signature(SECRET, headers["Balise-Signature"], body)
    assert headers["Balise-Delivery"] == notice.reference and headers["Balise-Event"] == "balise.police_forward"
    assert json.loads(body)["data"]["package"]["sha256"] == notice.package_sha256
    app = routing_app(tmp_path, db_url, None, 0)
    notice = _europol_notice(app, europol.id)
    assert (notice.status, notice.receipt["receipt"]["reference"]) == ("acknowledged", "DEMO-EUROPOL-1")
    with app.db.sessions() as s:
        assert s.get(Job, job.id).status == "done"
    app.close()
