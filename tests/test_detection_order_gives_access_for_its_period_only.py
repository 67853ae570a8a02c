"""A detection order gives its provider access to the databases it names, only during its
period (CSAR Art. 7, 46): matching is refused before the order, allowed against the named
database while the order runs, refused once its period ended or the order was revoked. A draft
gives nothing until the centre's opinion is given and the authority issues it; the opinion's
4-week clock and the period's end show among the clocks."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider
from tests.orders_support import PROVIDER, make_authority, order_body
from tests.takedown_support import Clock

MD5 = "d35c785545392755e7e4164457657269"


def test_matching_only_under_an_active_detection_order(tmp_path, db_url):
    clock = Clock()
    app = Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0), clock=clock)
    try:
        with app.db.transaction() as session:
            app.indicators.import_lines(session, Actor.system("test"),
                                        io.StringIO(f"signal_type,signal_value,ncmec_category\nmd5,{MD5},B2\n"),
                                        fmt="csv", source="test")
        authority = make_authority(app)
        _, key = make_provider(app, name=PROVIDER, scopes=(Scope.MATCH,), grant=False)
        query = {"hashes": [{"type": "md5", "value": MD5}]}
        with TestClient(create_app(app)) as client:
            def match():
                return client.post("/api/v1/match", json=query, headers=auth(key))

            assert match().status_code == 403 and match().json()["error"] == "no_grant"

            # A draft first: no access, the opinion clock runs for 4 weeks.
            body = order_body("detection", now=clock.now, draft=True)
            r = client.post("/api/v1/orders", json=authority.sign(body), headers=auth(authority.key))
            assert r.status_code == 201 and r.json()["state"] == "draft" and r.json()["grant_id"] is None
            oid = r.json()["id"]
            with app.db.sessions() as session:
                (opinion,) = [c for c in app.clocks.running(session) if c.subject_id == oid]
            assert opinion.kind.value == "order_opinion" and opinion.deadline - opinion.started_at == timedelta(weeks=4)
            assert match().status_code == 403
            # Issued before the centre's opinion: refused.
            r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "issued"}, headers=auth(authority.key))
            assert r.status_code == 409
            with app.db.transaction() as session:
                app.orders.give_opinion(session, Actor.staff("1", "senior"), oid, "Proportionate for 6 months.")
            r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "issued"}, headers=auth(authority.key))
            assert r.status_code == 200 and r.json()["grant_id"], r.text

            ok = match()
            assert ok.status_code == 200 and "indicator_id" in ok.text, ok.text
            with app.db.sessions() as session:
                kinds = {c.kind.value for c in app.clocks.running(session) if c.subject_id == oid}
            assert kinds == {"order_period"}

            # The period ends: access ends with it, without anyone acting.
            clock.advance(days=181)
            assert match().status_code == 403

        # A second order, revoked by the authority: access ends at once.
        clock.advance(days=1)
        with TestClient(create_app(app)) as client:
            body = order_body("detection", now=clock.now, databases=["new_indicators"])
            oid = client.post("/api/v1/orders", json=authority.sign(body), headers=auth(authority.key)).json()["id"]
            # The order names only the database of new material: known material is not matched.
            only_new = client.post("/api/v1/match", json=query, headers=auth(key))
            assert only_new.status_code == 200 and "indicator_id" not in only_new.text, only_new.text
            r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "revoked", "note": "quashed"},
                            headers=auth(authority.key))
            assert r.status_code == 200
            with app.db.sessions() as session:
                from balise.adapters.db.models import AccessGrant, Order

                order = session.get(Order, __import__("uuid").UUID(oid))
                assert session.get(AccessGrant, order.grant_id).state == "revoked"
    finally:
        app.close()
