"""An organisation requests an access grant with its API key (whatever the key's scopes) and
lists its own grants with the decisions' reasons, never another organisation's and never the
names of the staff who decided."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from tests.helpers import auth, make_provider

ADMIN = Actor.staff("00000000-0000-0000-0000-00000000000a", "admin-anne")


def request_body(**changes: object) -> dict[str, object]:
    until = datetime.now(timezone.utc) + timedelta(days=90)
    return {"databases": ["known_indicators", "new_indicators"], "operations": ["match"],
            "purpose": "check uploads", "legal_basis": "CSAR Art. 7 detection order", "valid_until": until.isoformat(),
            **changes}


def test_a_request_is_stored_audited_and_listed_with_its_decision(client, balise):
    org_id, key = make_provider(balise)
    r = client.post("/api/v1/grants", json=request_body(order_reference="DO-1"), headers=auth(key))
    assert r.status_code == 201
    grant = r.json()
    assert (grant["state"], grant["databases"], grant["order_reference"]) == (
        "requested", ["known_indicators", "new_indicators"], "DO-1")
    with balise.db.sessions() as s:
        event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "grant:request")).scalar_one()
    assert (event.actor_id, event.subject_id, event.purpose) == (str(org_id), str(grant["id"]), "check uploads")
    with balise.db.transaction() as s:
        balise.grants.approve(s, ADMIN, grant["id"], "order checked")
    [listed] = client.get("/api/v1/grants", headers=auth(key)).json()["grants"]
    assert (listed["id"], listed["state"], listed["live"], listed["decision_reason"]) == (
        grant["id"], "approved", True, "order checked")
    assert "admin-anne" not in str(listed)


def test_another_organisation_sees_none_of_them(client, balise):
    _, key = make_provider(balise)
    _, other = make_provider(balise, "Other")
    assert client.post("/api/v1/grants", json=request_body(), headers=auth(key)).status_code == 201
    assert client.get("/api/v1/grants", headers=auth(other)).json() == {"grants": []}
    assert len(client.get("/api/v1/grants", headers=auth(key)).json()["grants"]) == 1


def test_without_a_valid_key_nothing_is_requested(client, balise):
    r = client.post("/api/v1/grants", json=request_body())
    assert r.status_code == 401
    assert client.get("/api/v1/grants", headers=auth("bal_000000000000_" + "x" * 43)).status_code == 401
