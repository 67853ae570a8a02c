"""Helpers shared by tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind, Scope

INDICATOR_DATABASES = ("known_indicators", "new_indicators", "solicitation_indicators", "url_list")


def make_provider(balise: Balise, name: str = "Test Provider", scopes: tuple[Scope, ...] = (Scope.REPORTS_WRITE, Scope.REPORTS_READ),
                  grant: bool = True) -> tuple[uuid.UUID, str]:
    """An organisation and an API key; a key with the `match` scope also gets a live access
    grant to match every indicator database (grant=False: none, to test refusals)."""
    with balise.db.transaction() as session:
        org = balise.organisations.create(session, Actor.system("test"), name=name, kind=OrgKind.PROVIDER, country="FR")
        key = balise.organisations.issue_key(session, Actor.system("test"), org, scopes)
        org_id = org.id
    if Scope.MATCH in scopes and grant:
        grant_access(balise, org_id)
    return org_id, key.plaintext


def grant_access(balise: Balise, org_id: uuid.UUID, databases: tuple[str, ...] = INDICATOR_DATABASES,
                 operations: tuple[str, ...] = ("match",), months: int = 12, purpose: str = "test matching") -> int:
    """A live access grant (CSAR Art. 46), requested for the organisation and approved (twice,
    by two different administrators, when it allows downloads): keys act only within one."""
    from balise.domain.grants import add_months, check_terms

    now = balise.clock()
    terms = check_terms(databases=databases, operations=operations, purpose=purpose, legal_basis="test fixture",
                        order_reference=None, valid_from=now - timedelta(minutes=1),
                        valid_until=add_months(now, months) - timedelta(minutes=2),
                        max_months=balise.settings.grant_max_months, now=now)
    with balise.db.transaction() as session:
        grant = balise.grants.request(session, Actor.system("test"), org_id, terms)
        balise.grants.approve(session, Actor.system("test-admin-1"), grant.id, "approved for the test")
        if "download" in operations:
            balise.grants.approve(session, Actor.system("test-admin-2"), grant.id, "second approval for the test")
        return grant.id


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def minimal_report(**overrides: object) -> dict[str, object]:
    """The smallest report Annex III intake accepts: hash-only."""
    report: dict[str, object] = {
        "reported_at": "2026-11-23T10:00:00+01:00",
        "type": "known_csam",
        "service": {"type": "hosting", "url": "https://example.test/u/1"},
        "awareness": {"source": "own_motion"},
        "content_removed": True,
        "items": [{"kind": "hash_only", "hashes": {"md5": "0" * 32, "sha256": "a" * 64}}],
    }
    report.update(overrides)
    return report


def make_user(balise: Balise, username: str, role: str, password: str = "correct horse battery") -> str:
    from balise.domain.model import Role

    with balise.db.transaction() as session:
        balise.users.create(session, Actor.system("test"), username=username, password=password, role=Role(role))
    return password


def csrf_token(html: str) -> str:
    import re

    match = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def current_code(balise: Balise, username: str) -> str:
    with balise.db.sessions() as session:
        return balise.users.current_totp(balise.users.get(session, username))


def sign_in(client, balise: Balise, username: str, password: str = "correct horse battery") -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/ui/login").text)
    r = client.post("/ui/login", data={"username": username, "password": password, "csrftoken": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    token = csrf_token(client.get("/ui/login/totp").text)
    r = client.post("/ui/login/totp", data={"code": current_code(balise, username), "csrftoken": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/", r.text
