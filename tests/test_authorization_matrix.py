"""Each endpoint refuses each key or role that should not reach it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from balise.domain.model import Scope
from balise.web.app import create_app
from tests.helpers import (
    auth,
    grant_access,
    make_provider,
    make_user,
    minimal_report,
    sign_in,
)

API_CASES = ["no key", "malformed key", "unknown key", "revoked key", "read-only key", "write-only key", "other org key", "owner key"]

# (case) -> (POST /reports status, GET own report status)
EXPECTED = {
    "no key": (401, 401),
    "malformed key": (401, 401),
    "unknown key": (401, 401),
    "revoked key": (401, 401),
    "read-only key": (403, 200),
    "write-only key": (201, 403),
    "other org key": (201, 404),
    "owner key": (201, 200),
}


@pytest.fixture
def keys(balise):
    org_id, owner = make_provider(balise, "Owner")
    _, other = make_provider(balise, "Other")
    _, read_only = make_provider(balise, "ReadOnly", scopes=(Scope.REPORTS_READ,))
    _, revoked = make_provider(balise, "Revoked")
    with balise.db.transaction() as s:
        from balise.accounts.actors import Actor

        balise.organisations.revoke_key(s, Actor.system("test"), revoked.split("_")[1])
    # A write-only key of the owner organisation.
    with balise.db.transaction() as s:
        from balise.accounts.actors import Actor
        from balise.adapters.db.models import Organisation

        org = s.get(Organisation, org_id)
        write_only = balise.organisations.issue_key(s, Actor.system("test"), org, [Scope.REPORTS_WRITE]).plaintext
    return {
        "no key": None,
        "malformed key": "Bearer-nonsense",
        "unknown key": "bal_000000000000_" + "A" * 43,
        "revoked key": revoked,
        "read-only key": read_only,
        "write-only key": write_only,
        "other org key": other,
        "owner key": owner,
    }


@pytest.mark.parametrize("case", API_CASES)
def test_api_reports_endpoints_by_key(client, keys, case):
    report_id = client.post("/api/v1/reports", json=minimal_report(), headers=auth(keys["owner key"])).json()["id"]
    headers = auth(keys[case]) if keys[case] else {}
    if case == "read-only key":
        # A read-only key of another organisation cannot see the owner's report either.
        expected_post, expected_get = 403, 404
    else:
        expected_post, expected_get = EXPECTED[case]
    assert client.post("/api/v1/reports", json=minimal_report(), headers=headers).status_code == expected_post
    assert client.get(f"/api/v1/reports/{report_id}", headers=headers).status_code == expected_get


def test_unauthenticated_api_answer_names_the_scheme(client):
    r = client.get("/api/v1/reports/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_x_api_key_header_is_accepted(client, provider):
    _, key = provider
    assert client.post("/api/v1/reports", json=minimal_report(), headers={"X-API-Key": key}).status_code == 201


ROLES = ["admin", "analyst", "senior-analyst", "le-liaison", "auditor"]
UI_PAGES = {
    "/ui/": set(ROLES),
    "/ui/audit": {"admin", "auditor"},
    "/ui/organisations": {"admin"},
    "/ui/clocks": {"admin", "senior-analyst", "auditor", "le-liaison"},
    "/ui/grants": {"admin", "auditor"},
    "/ui/orders": {"admin", "senior-analyst", "auditor", "le-liaison"},
}


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_analysts_and_auditors_do_not_enter_or_move_orders(balise, role):
    from tests.helpers import csrf_token

    make_user(balise, "someone", role)
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "someone")
        token = csrf_token(c.get("/ui/settings").text)
        assert c.post("/ui/orders", data={"kind": "removal", "csrftoken": token},
                      follow_redirects=False).status_code == 403
        assert c.post("/ui/orders/00000000-0000-0000-0000-000000000000/transition",
                      data={"state": "received", "part": "provider", "csrftoken": token},
                      follow_redirects=False).status_code == 403


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_administrators_request_or_decide_grants_in_the_ui(balise, role):
    from balise.adapters.db.models import AccessGrant
    from tests.helpers import csrf_token

    org_id, _ = make_provider(balise, scopes=(Scope.MATCH,))  # with one approved grant
    make_user(balise, "someone", role)
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "someone")
        token = csrf_token(c.get("/ui/settings").text)
        for action in ("approve", "reject", "revoke"):
            assert c.post(f"/ui/grants/1/{action}", data={"reason": "not mine to decide", "csrftoken": token},
                          follow_redirects=False).status_code == 403
        assert c.post("/ui/grants", data={"organisation": str(org_id), "databases": "known_indicators",
                                          "operations": "match", "purpose": "p" * 10, "legal_basis": "b" * 10,
                                          "valid_until": "2027-06-01", "csrftoken": token},
                      follow_redirects=False).status_code == 403
    with balise.db.sessions() as s:
        assert [g.state for g in s.query(AccessGrant)] == ["approved"]


@pytest.mark.parametrize("role", ROLES)
def test_ui_pages_by_role(balise, role):
    make_user(balise, "someone", role)
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "someone")
        for page, allowed in UI_PAGES.items():
            r = c.get(page, follow_redirects=False)
            assert r.status_code == (200 if role in allowed else 403), (page, role)


def test_ui_pages_redirect_anonymous_visitors_to_sign_in(client):
    for page in UI_PAGES:
        r = client.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_a_staff_session_does_not_open_the_provider_api(balise, provider):
    make_user(balise, "boss", "admin")
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "boss")
        assert c.post("/api/v1/reports", json=minimal_report()).status_code == 401


def test_an_api_key_does_not_open_the_staff_ui(client, provider):
    _, key = provider
    r = client.get("/ui/", headers=auth(key), follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ((), {"match": 401, "hash": 401, "patch": 401}),
        ((Scope.REPORTS_READ,), {"match": 403, "hash": 403, "patch": 403}),
        ((Scope.REPORTS_WRITE,), {"match": 403, "hash": 403, "patch": 409}),
        ((Scope.MATCH,), {"match": 200, "hash": 200, "patch": 403}),
        # The scope alone is not enough to match: the organisation needs a live access grant.
        # Hashing a file without matching it touches no database and needs none.
        ((Scope.MATCH, "no grant"), {"match": 403, "hash": 200, "patch": 403}),
    ],
)
def test_detection_and_patch_endpoints_by_scope(balise, scopes, expected):
    """/match and /hash need `match`; PATCH needs `reports:write` (409 here: nothing was requested)."""
    from balise.accounts.actors import Actor
    from balise.domain.model import OrgKind

    with balise.db.transaction() as s:
        org = balise.organisations.create(s, Actor.system("t"), name="Scoped", kind=OrgKind.PROVIDER)
        owner = balise.organisations.issue_key(s, Actor.system("t"), org, [Scope.REPORTS_WRITE]).plaintext
        wanted = [x for x in scopes if x != "no grant"]
        key = balise.organisations.issue_key(s, Actor.system("t"), org, wanted).plaintext if wanted else None
        org_id = org.id
    if "no grant" not in scopes:
        grant_access(balise, org_id)
    headers = auth(key) if key else {}
    with TestClient(create_app(balise)) as c:
        rid = c.post("/api/v1/reports", json=minimal_report(signature="S"), headers=auth(owner)).json()["id"]
        got = {
            "match": c.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": "0" * 32}]}, headers=headers).status_code,
            "hash": c.post("/api/v1/hash", files={"file": ("a.txt", b"hello", "text/plain")}, headers=headers).status_code,
            "patch": c.patch(f"/api/v1/reports/{rid}", json={"signature": "x"}, headers=headers).status_code,
        }
    assert got == expected
