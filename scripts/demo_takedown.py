"""Notice-and-takedown end to end, on this machine only, with DEMO data.

    make demo-takedown        (or: .venv/bin/python scripts/demo_takedown.py)

It starts a DEMO website and an SMTP server on 127.0.0.1, creates a scratch Balise (SQLite,
local vault) in a temporary directory, and walks one reported URL through every step:
intake, safe fetch, match against a DEMO indicator, re-use of the assessment, an analyst's
decision to forward, routing (jurisdiction, Europol and State packages, a host notice by
SMTP), removal by the site, verification, the NTD figures and `balise package verify`.
Time between removal checks is simulated (the clock is moved forward); everything else is
real: HTTP, SMTP, the database, the job queue, the signed packages.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.migrate import upgrade
from balise.adapters.db.models import Item, Jurisdiction, Notice, Takedown, UrlHosting
from balise.casework.assessment import Decision
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import OrgKind, Role, Scope
from balise.settings import Settings
from balise.takedown.takedowns import ntd_stats

DEMO = Actor.system("demo-takedown")
BIN = Path(sys.executable).parent


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def step(text: str) -> None:
    print(f"\n== {text}")


def main() -> int:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("this demo needs the test extras (aiosmtpd): run `make demo-takedown`", file=sys.stderr)
        return 2

    pages: dict[str, tuple[int, bytes]] = {}

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, body = pages.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", "image/jpeg" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    received: list[tuple[list[str], bytes]] = []

    class Mailbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    site = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    smtp_port = _free_port()
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    work = Path(tempfile.mkdtemp(prefix="balise-demo-takedown-"))
    overrides = work / "geo-overrides.json"
    overrides.write_text(json.dumps([{"network": "127.0.0.0/8", "country": "NL",
                                      "organisation": "DEMO hosting (loopback)",
                                      "abuse_email": "abuse@demo-hosting.example"}]))
    env = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(work / "data"),
           "BALISE_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "BALISE_FETCH_RESOLVER": "static", "BALISE_GEO_OVERRIDES_FILE": str(overrides),
           "BALISE_CENTRE_COUNTRY": "NL", "BALISE_CENTRE_NAME": "DEMO Centre",
           "BALISE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "BALISE_MAIL_FROM": "DEMO Centre <centre@balise.example>",
           "BALISE_INDEX_REFRESH_SECONDS": "0"}
    os.environ.update(env)
    clock = Clock()
    app = Balise(Settings(), clock=clock)
    try:
        print(f"scratch Balise in {work} (SQLite, local vault); DEMO site http://127.0.0.1:{site.server_address[1]};"
              f" SMTP on 127.0.0.1:{smtp_port}")
        upgrade(app.settings.sqlalchemy_url)
        original = demo_image(21, (800, 600))
        served = io.BytesIO()
        Image.open(io.BytesIO(original)).save(served, "JPEG", quality=70)  # a re-encoded copy
        pages["/gallery/21.jpg"] = (200, served.getvalue())
        url = f"http://127.0.0.1:{site.server_address[1]}/gallery/21.jpg"
        with app.db.transaction() as s:
            app.partners.seed(s, DEMO)
            app.indicators.add(s, DEMO, algorithm=Algorithm.PDQ, value=hash_image_bytes(original).pdq,
                               kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO"},
                               classification={"ncmec_category": "A1"}, media_type="image")
            org = app.organisations.create(s, DEMO, name="DEMO provider", kind=OrgKind.PROVIDER, country="FR")
            key = app.organisations.issue_key(s, DEMO, org, [Scope.REPORTS_WRITE, Scope.REPORTS_READ])
            app.users.create(s, DEMO, username="demo-analyst", password="DEMO password only", role=Role.ANALYST)

        step("1. a provider reports the URL (and the upload IP, a German address)")
        from fastapi.testclient import TestClient

        from balise.web.app import create_app

        report = {"reported_at": clock.now.isoformat(), "type": "known_csam", "signature": "DEMO-SIGNATURE",
                  "service": {"type": "hosting", "url": "https://provider.example"},
                  "awareness": {"source": "own_motion"}, "content_removed": False, "user_decision": "block",
                  "reported_elsewhere": {"reported": False},
                  "provider": {"contact_point": {"email": "trust@provider.example"}},
                  "persons": [{"identifiers": [{"type": "ip", "value": "80.128.0.1", "event": "upload"}]}],
                  "items": [{"kind": "url", "url": url}]}
        with TestClient(create_app(app)) as client:
            r = client.post("/api/v1/reports", json=report, headers={"Authorization": f"Bearer {key.plaintext}"})
        report_id = uuid.UUID(r.json()["id"])
        print(f"   report {report_id}: HTTP {r.status_code}")

        step("2. jobs: triage, safe fetch of the URL, hashing, matching, re-use of the assessment")
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            hosting = s.get(UrlHosting, item.id)
            print(f"   fetched: {hosting.fetch_status} (HTTP {hosting.http_status}) from {hosting.address}, "
                  f"hosted in {hosting.hosted_country} by {hosting.organisation}, abuse contact {hosting.abuse_email}")
            print(f"   matched a DEMO indicator: {item.matched}; assessed by re-use: {item.outcome} "
                  f"({item.assessment_source}); no one had to look at it")

        step("3. an analyst forwards the report")
        with app.db.transaction() as s:
            analyst = app.users.get(s, "demo-analyst")
            app.assessment.claim(s, analyst, report_id)
        with app.db.transaction() as s:
            analyst = app.users.get(s, "demo-analyst")
            decided = app.assessment.decide(s, analyst, report_id, revision=_revision(s, report_id),
                                            decision=Decision("forward"))
            print(f"   state: {decided.state}")
            j = s.get(Jurisdiction, report_id)
            print(f"   Member State: {j.member_state} (confidence {j.confidence}); "
                  + "; ".join(str(r["text"]) for r in j.reasons))

        step("4. jobs: routing, evidence packages, notices")
        app.run_jobs()
        with app.db.sessions() as s:
            for n in s.execute(select(Notice).where(Notice.report_id == report_id)).scalars():
                print(f"   {n.reference} {n.kind:<15} -> {n.recipient or n.channel:<28} {n.status}"
                      + (f"  package {n.package_path}" if n.package_path else ""))
            packages = [n.package_path for n in s.execute(select(Notice).where(Notice.package_path.is_not(None))).scalars()]
        for rcpt, content in received:
            message = message_from_bytes(content, policy=policy.default)
            print(f"   SMTP server received for {', '.join(rcpt)}: {message['Subject']}")

        step("4b. Europol collects its package from the export directory and confirms (balise notice ack)")
        with app.db.transaction() as s:
            europol = s.execute(select(Notice).where(Notice.kind == "police_forward")
                                .order_by(Notice.id)).scalars().first()
            app.notices.acknowledge(s, europol.reference, DEMO, {"note": "DEMO: collected"})
            print(f"   {europol.reference} acknowledged: police count as notified from now on")

        step("5. 1 hour later: removal check, the URL is still served")
        clock.now += timedelta(hours=1, minutes=1)
        app.run_jobs()
        step("6. the host removes it; 6 hours after the notice: removal check")
        pages["/gallery/21.jpg"] = (404, b"removed")
        clock.now += timedelta(hours=5)
        app.run_jobs()
        with app.db.sessions() as s:
            t = s.get(Takedown, item.id)
            print(f"   takedown: {t.status}; received {t.received_at:%H:%M}, assessed {t.assessed_at:%H:%M}, "
                  f"police notified {t.police_notified_at:%H:%M}, host notified {t.host_notified_at:%H:%M}, "
                  f"removed {t.removed_at:%H:%M} (simulated clock)")
            print(f"   NTD: {json.dumps(ntd_stats(s).as_dict()['removed_within_percent'])}")

        step("7. balise stats ntd")
        subprocess.run([str(BIN / "balise"), "stats", "ntd"], check=True, env={**os.environ})
        step("8. balise package verify (what police run on receipt)")
        for path in packages:
            subprocess.run([str(BIN / "balise"), "package", "verify", path], check=True, env={**os.environ})
        print(f"\nDEMO done. Scratch data left in {work} (delete it when you have looked).")
        return 0
    finally:
        app.close()
        smtp.stop()
        site.shutdown()


def _revision(session, report_id) -> int:  # type: ignore[no-untyped-def]
    from balise.adapters.db.models import Report

    return session.get(Report, report_id).revision


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
