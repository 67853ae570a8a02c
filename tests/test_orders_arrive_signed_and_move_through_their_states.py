"""A coordinating authority sends a signed removal order with its API key; the provider it is
addressed to acknowledges receipt, asks for clarification (the authority answers), reports the
execution; a challenge and a final decision close it. Each step is recorded with its time and
the sender's authentication, and audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Order, OrderEvent, OrderUrl
from tests.helpers import auth, minimal_report
from tests.orders_support import make_addressee, make_authority, order_body


def test_a_removal_order_from_sending_to_final(balise, client):
    authority = make_authority(balise)
    provider_id, provider_key = make_addressee(balise)
    filed = client.post("/api/v1/reports", headers=auth(provider_key), json=minimal_report(
        type="known_csam", items=[{"kind": "url", "url": "https://host.example/u/1.jpg"}]))
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]

    body = authority.sign(order_body(report_ids=[report_id], non_disclosure_weeks=6))
    r = client.post("/api/v1/orders", json=body, headers=auth(authority.key))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "issued" and order["report_ids"] == [report_id]
    assert [u["url"] for u in order["urls"]] == body["urls"]
    # The URL of the report is linked to its item; the other is not in any report.
    assert order["urls"][0]["item_id"] and order["urls"][1]["item_id"] is None
    assert order["non_disclosure"]["weeks"] == 6 and order["non_disclosure"]["active"] is True
    oid = order["id"]
    # The non-disclosure period reaches the provider's view of its report.
    seen = client.get(f"/api/v1/reports/{report_id}", headers=auth(provider_key)).json()
    assert seen["orders"] == [{"id": oid, "kind": "removal", "reference": body["reference"], "state": "issued",
                               "non_disclosure_until": order["non_disclosure"]["until"]}]
    assert seen["instructions"]["do_not_inform_user_until"] == order["non_disclosure"]["until"]

    # Renewable once, by the authority only.
    assert client.post(f"/api/v1/orders/{oid}/non-disclosure/renewal", headers=auth(provider_key)).status_code == 403
    renewed = client.post(f"/api/v1/orders/{oid}/non-disclosure/renewal", headers=auth(authority.key))
    assert renewed.status_code == 200 and renewed.json()["non_disclosure"]["renewals"] == 1
    assert renewed.json()["non_disclosure"]["until"] > order["non_disclosure"]["until"]
    assert client.post(f"/api/v1/orders/{oid}/non-disclosure/renewal", headers=auth(authority.key)).status_code == 409

    # The provider sees it among its orders, and acknowledges receipt: the 24 h clock starts.
    listed = client.get("/api/v1/orders", headers=auth(provider_key)).json()["orders"]
    assert [o["id"] for o in listed] == [oid]
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"}, headers=auth(provider_key))
    assert r.status_code == 200 and r.json()["received_at"], r.text
    with balise.db.sessions() as session:
        clocks = {c.subject_id: c for c in balise.clocks.running(session)}
    assert oid in clocks and clocks[oid].kind.value == "order_removal"

    # A clarification request needs its reasons; the authority answers it.
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "clarification_requested"},
                    headers=auth(provider_key))
    assert r.status_code == 409 and "reasons" in r.json()["message"]
    r = client.post(f"/api/v1/orders/{oid}/transitions",
                    json={"state": "clarification_requested", "note": "URL 2 answers 404 already"},
                    headers=auth(provider_key))
    assert r.status_code == 200 and r.json()["state"] == "clarification_requested"
    # Only the authority answers a clarification.
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"}, headers=auth(provider_key))
    assert r.status_code == 409
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received", "note": "URL 2 stays in"},
                    headers=auth(authority.key))
    assert r.status_code == 200 and r.json()["state"] == "received"

    # The authority cannot report the execution; the provider does.
    done = {"execution": "disabled", "executed_at": "2026-01-01T10:00:00+00:00"}
    r = client.post(f"/api/v1/orders/{oid}/execution", json={**done, "executed_at": r.json()["received_at"]},
                    headers=auth(authority.key))
    assert r.status_code == 403
    r = client.post(f"/api/v1/orders/{oid}/execution", json={**done, "executed_at": order["recorded_at"]},
                    headers=auth(provider_key))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "executed" and r.json()["execution"]["execution"] == "disabled"

    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "challenged", "note": "content provider "
                    "appealed"}, headers=auth(provider_key))
    assert r.status_code == 200
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "final", "note": "appeal dismissed"},
                    headers=auth(authority.key))
    assert r.status_code == 200 and r.json()["state"] == "final"
    events = r.json()["events"]
    assert [e["to"] for e in events] == ["issued", "received", "clarification_requested", "received", "executed",
                                         "challenged", "final"]
    assert [e["by"] for e in events] == ["authority", "provider", "provider", "authority", "provider", "provider",
                                         "authority"]

    with balise.db.sessions() as session:
        stored = session.get(Order, uuid.UUID(oid))
        assert stored.sender_auth["method"] == "api_key" and stored.sender_auth["signing_key"] == authority.key_id
        assert stored.sent_at.isoformat()[:16] == body["sent_at"][:16] or stored.sent_at is not None
        rows = session.execute(select(OrderEvent).where(OrderEvent.order_id == stored.id)).scalars().all()
        assert all(e.auth and e.auth["key_prefix"] for e in rows)
        kinds = [a.event_type for a in session.execute(select(AuditRecord).where(
            AuditRecord.subject_id == oid).order_by(AuditRecord.seq)).scalars()]
        assert kinds[0] == "order:create" and "order:execute" in kinds and kinds.count("order:transition") == 5
        assert session.execute(select(OrderUrl).where(OrderUrl.order_id == stored.id)).scalars().all()

    # Other organisations do not see it.
    third = client.get(f"/api/v1/orders/{oid}", headers=auth(make_addressee_other(balise)))
    assert third.status_code == 404


def make_addressee_other(balise):
    from tests.helpers import make_provider

    return make_provider(balise, name="Someone else")[1]
