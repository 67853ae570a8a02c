"""Bad orders are refused with the field named and nothing stored: a missing mandatory field,
a signature that does not verify (or no signature, or another authority's key), URLs that are
not URLs, a detection period over its maximum, a key that is not a coordinating authority's.
An execution report for an unknown or a closed order is a 409."""

from __future__ import annotations

from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Order
from tests.helpers import auth
from tests.orders_support import make_addressee, make_authority, order_body


def _counts(balise):
    with balise.db.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Order)),
                session.scalar(select(func.count()).select_from(AuditRecord).where(
                    AuditRecord.event_type.like("order:%"))))


def test_each_kind_of_bad_order_names_its_field_and_stores_nothing(balise, client):
    authority = make_authority(balise)
    other = make_authority(balise, name="Coordinating Authority DE (test)", country="DE")
    _, provider_key = make_addressee(balise)
    before = _counts(balise)

    def refused(body, key=authority.key, status=422):
        r = client.post("/api/v1/orders", json=body, headers=auth(key))
        assert r.status_code == status, r.text
        return r.json()["fields"][0]["field"]

    good = order_body()
    for missing in ("reference", "legal_basis", "reasons", "redress", "sent_at", "urls", "kind"):
        body = {k: v for k, v in good.items() if k != missing}
        assert refused(authority.sign(body)) == missing
    assert refused(authority.sign({**good, "issuing_authority": {"name": "X"}})) == "issuing_authority.member_state"
    assert refused(authority.sign({**good, "addressee": {}})) == "addressee.name"
    assert refused(authority.sign({**good, "urls": ["https://ok.example/a", "not a url"]})) == "urls.1"
    assert refused(authority.sign({**good, "urls": ["ftp://files.example/a"]})) == "urls.0"
    assert refused(authority.sign({**good, "urls": ["https://"]})) == "urls.0"
    detection = order_body("detection", databases=["solicitation_indicators"])
    detection["period"]["end"] = "2099-01-01T00:00:00+00:00"
    assert refused(authority.sign(detection)) == "period.end"
    assert refused(authority.sign(order_body("detection", addressee={"name": "Not registered"}))) == "addressee.name"
    # Signatures: none, changed after signing, another authority's key, garbage.
    assert refused(good) == "signature"
    tampered = authority.sign(good)
    tampered["urls"] = ["https://other.example/x"]
    assert refused(tampered) == "signature.value"
    assert refused(other.sign(good)) == "signature.key_id"
    assert refused({**authority.sign(good), "signature": {"algorithm": "ed25519", "key_id": authority.key_id,
                                                           "value": "bm90IGEgc2lnbmF0dXJl"}}) == "signature.value"
    # A provider's key cannot send orders, even a well-signed one.
    assert refused(authority.sign(good), key=provider_key, status=403) == "Authorization"
    r = client.post("/api/v1/orders", content=b"[1]", headers={**auth(authority.key),
                                                                "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "body"
    assert _counts(balise) == before

    # The same reference twice: 409, the first one kept.
    signed = authority.sign(good)
    assert client.post("/api/v1/orders", json=signed, headers=auth(authority.key)).status_code == 201
    r = client.post("/api/v1/orders", json=signed, headers=auth(authority.key))
    assert r.status_code == 409 and r.json()["error"] == "order_conflict"


def test_execution_reports_for_unknown_or_closed_orders_are_conflicts(balise, client):
    authority = make_authority(balise)
    _, provider_key = make_addressee(balise)
    report = {"execution": "removed", "executed_at": "2026-01-01T00:00:00Z"}
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        r = client.post(f"/api/v1/orders/{unknown}/execution", json=report, headers=auth(provider_key))
        assert r.status_code == 409 and r.json()["error"] == "order_conflict", r.text
    oid = client.post("/api/v1/orders", json=authority.sign(order_body()), headers=auth(authority.key)).json()["id"]
    r = client.post(f"/api/v1/orders/{oid}/execution", json={**report, "execution": "deleted"},
                    headers=auth(provider_key))
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "execution"
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "revoked", "note": "issued in error"},
                    headers=auth(authority.key))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = client.post(f"/api/v1/orders/{oid}/execution", json=report, headers=auth(provider_key))
    assert r.status_code == 409 and "closed" in r.json()["message"]
    r = client.post(f"/api/v1/orders/{oid}/transitions", json={"state": "received"}, headers=auth(provider_key))
    assert r.status_code == 409
    with balise.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.event_type == "order:execute")) == 0
