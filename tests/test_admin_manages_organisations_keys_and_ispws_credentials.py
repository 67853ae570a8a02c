"""The Organisations pages (administrators): create an organisation, edit its contact points,
issue an API key (the key and its scopes shown once, never again), see its last use, revoke it
(refused at the next call); issue and revoke /ispws credentials with their last use; suspend and
reinstate. Each change needs a reason and is audited with it; bad input names the field and
changes nothing; non-administrators are refused."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import ApiKey, AuditRecord, ContactPoint, IspwsCredential, Organisation
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in


@pytest.fixture
def admin(balise):
    make_user(balise, "root", "admin")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "root")
        yield client


def post(client: TestClient, path: str, data: dict) -> httpx.Response:
    token = csrf_token(client.get("/ui/organisations").text)
    return client.post(path, data={**data, "csrftoken": token}, follow_redirects=False)


def flash(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def details(balise, kind: str) -> list[dict]:
    with balise.db.sessions() as s:
        return [r.details or {} for r in s.execute(select(AuditRecord).where(AuditRecord.event_type == kind)
                                                   .order_by(AuditRecord.seq)).scalars()]


def create(admin: TestClient, name: str = "Host Co", kind: str = "provider") -> str:
    created = post(admin, "/ui/organisations", {"name": name, "kind": kind, "country": "nl",
                                                "contact_email": "abuse@host.example", "reason": "signed up"})
    assert created.status_code == 303, created.text
    return urlsplit(created.headers["location"]).path


def test_create_and_edit_contact_points_with_reasons(balise, admin):
    bad = post(admin, "/ui/organisations", {"name": "X", "kind": "provider", "country": "NL", "reason": ""})
    assert bad.status_code == 400 and "a reason is required" in bad.text
    bad = post(admin, "/ui/organisations", {"name": "X", "kind": "bank", "country": "NL", "reason": "r"})
    assert bad.status_code == 400 and "kind:" in bad.text
    page = create(admin)
    with balise.db.sessions() as s:
        org = s.execute(select(Organisation)).scalar_one()
        assert (org.name, org.kind, org.country) == ("Host Co", "provider", "NL")
        point = s.execute(select(ContactPoint)).scalar_one()
    shown = admin.get(page)
    assert shown.status_code == 200 and "abuse@host.example" in shown.text

    assert "email:" in flash(post(admin, f"{page}/contacts", {"email": "not an address", "purpose": "legal",
                                                               "reason": "r"}))["err"]
    assert "purpose:" in flash(post(admin, f"{page}/contacts", {"email": "a@b.example", "purpose": "x",
                                                                 "reason": "r"}))["err"]
    assert "reason" in flash(post(admin, f"{page}/contacts", {"email": "a@b.example", "purpose": "legal"}))["err"]
    assert flash(post(admin, f"{page}/contacts", {"name": "Legal desk", "email": "legal@host.example",
                                                   "phone": "+31 20 123 4567", "purpose": "legal",
                                                   "reason": "their lawyer"}))["msg"]
    assert flash(post(admin, f"{page}/contacts/{point.id}", {"email": "noc@host.example", "purpose": "technical",
                                                              "reason": "new NOC"}))["msg"]
    with balise.db.sessions() as s:
        points = {p.purpose: (p.name, p.email, p.phone) for p in s.execute(select(ContactPoint)).scalars()}
    assert points == {"technical": (None, "noc@host.example", None),
                      "legal": ("Legal desk", "legal@host.example", "+31 20 123 4567")}
    assert flash(post(admin, f"{page}/contacts/{point.id}/remove", {"reason": "gone"}))["msg"]
    assert [d["change"] for d in details(balise, "org:contact_update")] == ["add", "update", "remove"]
    assert [d["reason"] for d in details(balise, "org:contact_update")] == ["their lawyer", "new NOC", "gone"]


def test_an_api_key_is_shown_once_its_use_seen_and_its_revocation_immediate(balise, admin):
    page = create(admin)
    assert "scope:" in flash(post(admin, f"{page}/keys", {"scope": ["root"], "reason": "r"}))["err"]
    assert "at least one scope" in flash(post(admin, f"{page}/keys", {"reason": "r"}))["err"]
    issued = post(admin, f"{page}/keys", {"scope": ["reports:write", "reports:read"], "label": "prod",
                                          "reason": "integration starts"})
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store, private"
    key = re.search(r'<code id="issued-secret">(bal_[^<]+)</code>', issued.text).group(1)
    assert "file reports" in issued.text and "read its reports" in issued.text
    again = admin.get(page).text
    assert key not in again and "never" in again
    assert details(balise, "apikey:create")[-1]["reason"] == "integration starts"

    # The key works on the API; its last use appears on the page.
    api = admin.get("/api/v1/reports/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 404
    with balise.db.sessions() as s:
        row = s.execute(select(ApiKey)).scalar_one()
        assert row.last_used_at is not None
    assert row.last_used_at.strftime("%Y-%m-%d %H:%M") in admin.get(page).text

    prefix = key.split("_")[1]
    assert "reason" in flash(post(admin, f"{page}/keys/{prefix}/revoke", {"reason": " "}))["err"]
    assert flash(post(admin, f"{page}/keys/{prefix}/revoke", {"reason": "leaked in a ticket"}))["msg"]
    assert "already revoked" in flash(post(admin, f"{page}/keys/{prefix}/revoke", {"reason": "again"}))["err"]
    refused = admin.get("/api/v1/reports/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    assert details(balise, "apikey:revoke")[-1] == {"prefix": prefix, "reason": "leaked in a ticket"}
    # A key of another organisation is not revoked through this one's page.
    other = create(admin, "Other Co")
    issued = post(admin, f"{other}/keys", {"scope": ["match"], "reason": "r"})
    other_prefix = re.search(r'<code id="issued-secret">bal_([0-9a-f]{12})_', issued.text).group(1)
    assert "has no API key" in flash(post(admin, f"{page}/keys/{other_prefix}/revoke", {"reason": "r"}))["err"]


def test_ispws_credentials_issue_last_use_revoke_and_suspension(balise, admin):
    page = create(admin)
    issued = post(admin, f"{page}/ispws", {"reason": "wants the NCMEC API"})
    username = re.search(r'<code id="issued-username">([^<]+)</code>', issued.text).group(1)
    password = re.search(r'<code id="issued-secret">([^<]+)</code>', issued.text).group(1)
    assert password not in admin.get(page).text
    assert admin.get("/ispws/status", auth=(username, password)).status_code == 200
    with balise.db.sessions() as s:
        assert s.execute(select(IspwsCredential.last_used_at)).scalar_one() is not None

    assert flash(post(admin, f"{page}/suspend", {"reason": "unpaid"}))["msg"]
    assert "suspended since" in admin.get(page).text
    assert "already suspended" in flash(post(admin, f"{page}/suspend", {"reason": "again"}))["err"]
    assert flash(post(admin, f"{page}/reinstate", {"reason": "paid"}))["msg"]
    assert flash(post(admin, f"{page}/ispws/{username}/revoke", {"reason": "replaced"}))["msg"]
    answer = admin.get("/ispws/status", auth=(username, password))
    assert "3000" in answer.text
    assert details(balise, "ispws:credential_revoke")[-1]["reason"] == "replaced"
    assert [d["reason"] for d in details(balise, "org:suspend") + details(balise, "org:reinstate")] == ["unpaid", "paid"]

    hotline = create(admin, "Hotline X", "hotline")
    assert "only providers" in flash(post(admin, f"{hotline}/ispws", {"reason": "r"}))["err"]


def test_non_administrators_are_refused(balise, admin):
    page = create(admin)
    make_user(balise, "aud", "auditor")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "aud")
        assert client.get("/ui/organisations").status_code == 403
        assert client.get(page).status_code == 403
        token = csrf_token(client.get("/ui/settings").text)
        assert client.post(f"{page}/keys", data={"scope": "match", "reason": "r", "csrftoken": token}).status_code == 403
    with balise.db.sessions() as s:
        assert s.execute(select(ApiKey)).first() is None
