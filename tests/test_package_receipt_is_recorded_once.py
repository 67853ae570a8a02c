"""A package's receipt is recorded once per recipient: a `received` typed twice, a receipt
confirmed by hand after the police webhook already acknowledged it, or a webhook delivery re-sent
after the receiver crashed add no second custody event and no second audit event; the first
receipt stands and the repeat says so."""

from __future__ import annotations

import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EvidencePackage, Notice
from balise.domain.partners import PartnerKind
from balise.takedown.adapters.webhook import verify_webhook_signature
from balise.takedown.partners import PartnerChanges
from tests.cli_support import CliResult, run_cli
from tests.servers import clean_env
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
SECRET = "DEMO-secret-of-the-police-webhook"


def cli(env: dict[str, str], *args: str) -> CliResult:
    return run_cli(env, *args)


def _custody_events(app, package_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.db.sessions() as s:
        return app.packages.custody_log(s, uuid.UUID(package_id))["events"]


def _custody_audits(app) -> int:  # type: ignore[no-untyped-def]
    with app.db.sessions() as s:
        return len(s.execute(select(AuditRecord).where(AuditRecord.event_type == "package:custody")).scalars().all())


class OnceReceiver:
    """A police unit's endpoint that acts on a delivery id once: it stores the first request,
    then crashes before answering (500); the re-sent delivery gets the receipt."""

    def __init__(self) -> None:
        self.deliveries: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verify_webhook_signature(SECRET, self.headers.get("Balise-Signature"), body)
                delivery = self.headers["Balise-Delivery"]
                first = delivery not in receiver.deliveries
                receiver.deliveries.append(delivery)
                if first:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer_receipt(self, "DEMO-POLICE-7")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/balise"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_receipt_recorded_twice_by_hand_is_kept_once(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
        report_id = file_url_report(app, site.serve("/rc/1.jpg", reencoded(known_picture(app))))
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            package_id = str(s.execute(select(EvidencePackage.id)).scalars().first())
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    first = cli(env, "package", "record", package_id, "received", "--recipient", "Europol (DEMO)", "--note", "by phone")
    assert first.returncode == 0 and first.stdout.startswith("recorded received"), first.stderr
    audits = _custody_audits(app)
    again = cli(env, "package", "record", package_id, "received", "--recipient", " europol  (DEMO) ")
    assert again.returncode == 0, again.stderr
    assert "received from Europol (DEMO) was already recorded" in again.stdout and "nothing changed" in again.stdout
    received = [e for e in _custody_events(app, package_id) if e["kind"] == "received"]
    assert len(received) == 1 and received[0]["details"] == {"note": "by phone"}
    assert _custody_audits(app) == audits
    # Another recipient's receipt is its own event; deliveries are not limited.
    assert cli(env, "package", "record", package_id, "received", "--recipient", "BKA (DEMO)").returncode == 0
    assert cli(env, "package", "record", package_id, "delivered", "--recipient", "BKA (DEMO)").returncode == 0
    assert cli(env, "package", "record", package_id, "delivered", "--recipient", "BKA (DEMO)").returncode == 0
    kinds = [(e["kind"], e["recipient"]) for e in _custody_events(app, package_id)]
    assert kinds.count(("received", "BKA (DEMO)")) == 1 and kinds.count(("delivered", "BKA (DEMO)")) == 2
    app.close()


def test_a_webhook_receipt_re_sent_or_confirmed_again_by_hand_is_recorded_once(tmp_path, db_url) -> None:
    clock = Clock()
    police = OnceReceiver()
    try:
        with demo_site() as site, mailbox() as box:
            app = routing_app(tmp_path, db_url, clock, box.port)
            with app.db.transaction() as s:
                app.partners.seed(s, ADMIN)
                unit = app.partners.find(s, PartnerKind.POLICE, "DE")[0]
                app.partners.update(s, ADMIN, unit.id, PartnerChanges(channel="webhook", endpoint=police.url,
                                                                      webhook_secret=SECRET, verified=True))
                unit_name = unit.name
            report_id = file_url_report(app, site.serve("/rc/2.jpg", reencoded(known_picture(app))))
            app.run_jobs()
            forward(app, report_id)
            app.run_jobs()
            clock.advance(seconds=10)  # past the backoff; signatures stay within their 5 minutes
            app.run_jobs()  # the delivery is re-sent, with the same delivery id
    finally:
        police.server.shutdown()
        police.server.server_close()
    with app.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.partner_id == unit.id)).scalar_one()
    assert police.deliveries == [notice.reference, notice.reference]
    assert notice.status == "acknowledged" and notice.attempts == 2
    events = _custody_events(app, notice.package_id)
    assert [e["kind"] for e in events] == ["built", "delivered", "received"]

    # The unit's liaison also confirms by hand, under the same name: nothing is added.
    audits = _custody_audits(app)
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    again = cli(env, "package", "record", notice.package_id, "received", "--recipient", unit_name)
    assert again.returncode == 0 and "was already recorded" in again.stdout, again.stdout + again.stderr
    with app.db.transaction() as s:
        recorded = app.packages.record_custody(s, ADMIN, uuid.UUID(notice.package_id), "received", unit_name)
    assert recorded.new is False and recorded.event.audit_seq == events[-1]["audit_seq"]
    assert [e["kind"] for e in _custody_events(app, notice.package_id)] == ["built", "delivered", "received"]
    assert _custody_audits(app) == audits
    with app.db.sessions() as s:
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "notice:acknowledge")).scalars().all() != []
    assert os.path.exists(notice.package_path)
    app.close()
