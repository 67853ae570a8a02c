"""A forwarded report reaches a police unit's webhook as a signed delivery carrying the
evidence package; the unit's acknowledgement is recorded once, a repeat changes nothing."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Notice
from balise.domain.partners import PartnerKind
from balise.evidence.package_verify import verify_package
from balise.takedown.adapters.webhook import verify_webhook_signature
from balise.takedown.partners import PartnerChanges
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
)

ADMIN = Actor.system("test")
SECRET = "DEMO-shared-secret-for-the-police-webhook"


def test_the_police_webhook_gets_a_signed_verifiable_package_and_its_receipt_is_recorded_once(tmp_path, db_url) -> None:
    received: list[tuple[dict, dict]] = []

    class Police(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            verify_webhook_signature(SECRET, self.headers.get("Balise-Signature"), body)
            received.append((dict(self.headers), json.loads(body)["data"]))
            answer_receipt(self, "DEMO-POLICE-42")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Police)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = Clock()
    try:
        with demo_site() as site, mailbox() as box:
            app = routing_app(tmp_path, db_url, clock, box.port)
            with app.db.transaction() as s:
                app.partners.seed(s, ADMIN)
                unit = app.partners.find(s, PartnerKind.POLICE, "DE")[0]
                app.partners.update(s, ADMIN, unit.id, PartnerChanges(
                    channel="webhook", endpoint=f"http://127.0.0.1:{server.server_address[1]}/balise",
                    webhook_secret=SECRET, verified=True))
            url = site.serve("/p/1.jpg", reencoded(known_picture(app)))
            report_id = file_url_report(app, url)
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
    finally:
        server.shutdown()
        server.server_close()

    assert len(received) == 1
    headers, payload = received[0]
    assert headers["Balise-Event"] == "balise.police_forward"
    assert payload["report_id"] == str(report_id) and payload["kind"] == "police_forward"
    package = tmp_path / "received.zip"
    package.write_bytes(base64.b64decode(payload["package"]["zip_base64"]))
    summary = verify_package(package, [app.signer.public_key])
    assert str(report_id) in str(summary)
    with app.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.partner_id == unit.id)).scalar_one()
    assert notice.status == "acknowledged" and notice.receipt["receipt"]["reference"] == "DEMO-POLICE-42"
    assert headers["Balise-Delivery"] == notice.reference

    # The unit confirms again by hand: recorded once.
    with app.db.transaction() as s:
        _, new = app.notices.acknowledge(s, notice.reference, ADMIN, {"note": "duplicate"})
    assert new is False
    with app.db.sessions() as s:
        events = s.execute(select(AuditRecord.event_type)).scalars().all()
    assert events.count("notice:acknowledge") == 1


def test_the_package_custody_log_follows_delivery_and_receipt(tmp_path, db_url) -> None:
    import uuid

    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
        url = site.serve("/p/2.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            europol = s.execute(select(Notice).where(Notice.kind == "police_forward", Notice.partner_id ==
                                                     app.partners.find(s, PartnerKind.EUROPOL, None)[0].id)).scalar_one()
        # Europol's package went to the export folder; Europol later confirms receipt.
        with app.db.transaction() as s:
            app.notices.acknowledge(s, europol.reference, ADMIN, {"note": "DEMO: collected"})
        with app.db.sessions() as s:
            log = app.packages.custody_log(s, uuid.UUID(europol.package_id))
    kinds = [e["kind"] for e in log["events"]]
    assert kinds[-2:] == ["delivered", "received"]


def test_a_webhook_that_asks_to_retry_later_is_retried_when_it_said(tmp_path, db_url) -> None:
    from datetime import timedelta

    calls: list[int] = []

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            calls.append(1)
            status = 429 if len(calls) == 1 else 202
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = Clock()
    try:
        with demo_site() as site, mailbox() as box:
            app = routing_app(tmp_path, db_url, clock, box.port)
            with app.db.transaction() as s:
                app.partners.seed(s, ADMIN)
                europol = app.partners.find(s, PartnerKind.EUROPOL, None)[0]
                app.partners.update(s, ADMIN, europol.id, PartnerChanges(
                    channel="webhook", endpoint=f"http://127.0.0.1:{server.server_address[1]}/in", webhook_secret=SECRET))
            url = site.serve("/p/3.jpg", reencoded(known_picture(app)))
            report_id = file_url_report(app, url)
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
            assert len(calls) == 1
            clock.advance(minutes=5)  # the exponential backoff would have retried by now
            app.run_jobs()
            assert len(calls) == 1
            clock.advance(minutes=5, seconds=5)
            app.run_jobs()
    finally:
        server.shutdown()
        server.server_close()
    assert len(calls) == 2
    with app.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.partner_id == europol.id)).scalar_one()
    assert notice.status == "sent" and notice.attempts == 2 and notice.sent_at - notice.created_at >= timedelta(minutes=10)
