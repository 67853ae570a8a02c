"""The removal clock of an order: 24 h from the provider's receipt, paused while a
clarification is requested; shown among the running clocks; when it runs out, each URL is
fetched again through the removal verification (a real HTTP server on loopback), and the URL
still served is escalated to the issuing authority through its notice channel, once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Notice, Order
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, minimal_report
from tests.orders_support import make_addressee, make_authority, order_body
from tests.takedown_support import Clock, demo_site


def test_the_removal_clock_pauses_then_runs_out_rechecks_and_escalates(tmp_path, db_url):
    clock = Clock()
    app = Balise(make_settings(tmp_path, db_url, fetch_allow_networks="127.0.0.1/32"), clock=clock)
    try:
        with app.db.transaction() as session:
            app.partners.create(session, Actor.system("test"), kind="coordinating_authority", country="FR",
                                name="Coordinating Authority FR (test)", channel="export", languages=["fr"],
                                verified=True)
        authority = make_authority(app)
        _, provider_key = make_addressee(app)
        with demo_site() as site, TestClient(create_app(app)) as client:
            still = site.serve("/still.jpg", b"DEMO bytes still served")
            gone = site.serve("/gone.jpg", b"DEMO bytes taken down")
            report = client.post("/api/v1/reports", headers=auth(provider_key), json=minimal_report(
                items=[{"kind": "url", "url": still}])).json()["id"]
            body = authority.sign(order_body(urls=[still, gone], report_ids=[report], sent_at=clock.now.isoformat()))
            oid = client.post("/api/v1/orders", json=body, headers=auth(authority.key)).json()["id"]
            assert client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"},
                               headers=auth(provider_key)).status_code == 200

            def removal_clock():
                with app.db.sessions() as session:
                    return [c for c in app.clocks.running(session) if c.subject_id == oid]

            (c,) = removal_clock()
            assert c.deadline == clock.now + timedelta(hours=24) and c.report_id == report
            # Ten hours waiting for a clarification do not count.
            clock.advance(hours=2)
            client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "clarification_requested",
                        "note": "which picture?"}, headers=auth(provider_key))
            assert removal_clock() == []
            clock.advance(hours=10)
            client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received", "note": "both"},
                        headers=auth(authority.key))
            (c,) = removal_clock()
            assert c.deadline == c.started_at + timedelta(hours=34)

            # Before the deadline nothing acts; after it, the check queues a re-check.
            clock.advance(hours=21)
            with app.db.transaction() as session:
                assert app.order_clocks.check(session) == 0
            site.take_down("/gone.jpg")
            clock.advance(hours=2)
            with app.db.transaction() as session:
                assert app.order_clocks.check(session) == 1
                app.clocks.check(session)
            app.run_jobs()
            with app.db.sessions() as session:
                order = session.get(Order, uuid.UUID(oid))
                assert order.escalated_at is not None
                assert {u.url: u.last_outcome for u in order.urls} == {still: "served", gone: "gone"}
                (notice,) = session.execute(select(Notice).where(Notice.kind == "order_escalation")).scalars()
                assert still in notice.body and gone not in notice.body and order.reference in notice.body
                assert notice.language == "fr" and "Injonction de retrait" in notice.subject
                events = [a.event_type for a in session.execute(select(AuditRecord).where(
                    AuditRecord.subject_id == oid)).scalars()]
                assert "order:recheck" in events and "order:escalate" in events
                assert "clock:overdue" in [a.event_type for a in session.execute(select(AuditRecord)).scalars()]
            # Once only.
            with app.db.transaction() as session:
                assert app.order_clocks.check(session) == 0
    finally:
        app.close()
