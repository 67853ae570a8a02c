"""Helpers shared by tests."""

from __future__ import annotations

import uuid

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.model import OrgKind, Scope


def make_provider(balise: Balise, name: str = "Test Provider", scopes: tuple[Scope, ...] = (Scope.REPORTS_WRITE, Scope.REPORTS_READ)) -> tuple[uuid.UUID, str]:
    with balise.db.transaction() as session:
        org = balise.organisations.create(session, Actor.system("test"), name=name, kind=OrgKind.PROVIDER, country="FR")
        key = balise.organisations.issue_key(session, Actor.system("test"), org, scopes)
        return org.id, key.plaintext


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
