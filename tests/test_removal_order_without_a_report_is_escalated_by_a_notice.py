"""A removal order may name URLs that no report of Balise concerns. When its 24 h clock runs out
and a URL is still served, the escalation to the issuing authority is still a notice: about the
order (``notices.order_id``, no report), queued, delivered through the authority's channel and
marked sent, once."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Notice, Order
from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth
from tests.orders_support import make_addressee, make_authority, order_body
from tests.takedown_support import Clock, demo_site


def test_an_order_without_a_report_is_escalated_by_a_notice_that_is_sent(tmp_path, db_url):
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
            body = authority.sign(order_body(urls=[still], sent_at=clock.now.isoformat()))
            created = client.post("/api/v1/orders", json=body, headers=auth(authority.key))
            assert created.status_code == 201, created.text
            oid = created.json()["id"]
            assert client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"},
                               headers=auth(provider_key)).status_code == 200
            clock.advance(hours=25)
            with app.db.transaction() as session:
                assert app.order_clocks.check(session) == 1
            app.run_jobs()
        with app.db.sessions() as session:
            order = session.get(Order, uuid.UUID(oid))
            assert order.escalated_at is not None
            (notice,) = session.execute(select(Notice).where(Notice.kind == "order_escalation")).scalars()
            assert (notice.order_id, notice.report_id, notice.status) == (order.id, None, "sent")
            assert still in notice.body and order.reference in notice.body
            escalated = session.execute(select(AuditRecord).where(AuditRecord.event_type == "order:escalate",
                                                                  AuditRecord.subject_id == oid)).scalar_one()
            assert escalated.details["notice"] == notice.reference and escalated.details["report"] is None
            created_event = session.execute(select(AuditRecord).where(
                AuditRecord.event_type == "notice:create", AuditRecord.subject_id == notice.reference)).scalar_one()
            assert created_event.details["order_id"] == oid and created_event.details["report_id"] is None
            reference = notice.reference
        # Delivered through the authority's channel (here the export folder), naming the order.
        (path,) = tmp_path.rglob(f"{reference}.json")
        meta = json.loads(path.read_text())
        assert (meta["order_id"], meta["report_id"], meta["kind"]) == (oid, None, "order_escalation")
        # Once only.
        with app.db.transaction() as session:
            assert app.order_clocks.check(session) == 0
    finally:
        app.close()
