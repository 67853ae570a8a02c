"""Searching the entity index by value: on the staff page, through the API (scope
`entities:search` and a live `read_reports` grant) and with `balise entities search`. Each
search is audited as entity:search with its purpose and the digests searched (never the value);
a search without a purpose, a key without the scope or the grant is refused and leaves no
search in the trail. Reports a role may not see are counted, not listed."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from balise.adapters.db.models import AuditRecord, Report
from balise.domain.model import Scope
from balise.web.app import create_app
from tests.cli_support import run_cli
from tests.entities_support import BAD_BTC, WALLET, file_report, identifiers
from tests.helpers import auth, csrf_token, grant_access, make_provider, make_user, sign_in
from tests.servers import clean_env


def _searches(balise):
    with balise.db.sessions() as s:
        return s.execute(select(AuditRecord).where(AuditRecord.event_type == "entity:search")
                         .order_by(AuditRecord.seq)).scalars().all()


def _two_linked_reports(balise, client, provider):
    _, key = provider
    first = file_report(client, key, identifiers(("crypto_wallet", WALLET)))
    second = file_report(client, key, identifiers(("payment", "monero:" + WALLET), ("crypto_wallet", WALLET)))
    bad = file_report(client, key, identifiers(("crypto_wallet", BAD_BTC)))
    balise.run_jobs()
    return first, second, bad


def test_staff_page_search_lists_the_reports_and_is_audited(balise, client, provider):
    first, second, bad = _two_linked_reports(balise, client, provider)
    make_user(balise, "ana", "analyst")
    make_user(balise, "lea", "le-liaison")
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "ana")
        token = csrf_token(c.get("/ui/intelligence").text)
        refused = c.post("/ui/intelligence/search", data={"value": WALLET, "purpose": "", "csrftoken": token})
        assert refused.status_code == 422 and "Say why you search" in refused.text
        assert not _searches(balise)
        page = c.post("/ui/intelligence/search", data={"value": f"  {WALLET} ", "purpose": "wallet seen in a chat",
                                                        "csrftoken": token})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store, private"
        assert "Monero address" in page.text
        assert str(first)[:8] in page.text and str(second)[:8] in page.text and str(bad)[:8] not in page.text
        bad_page = c.post("/ui/intelligence/search", data={"value": BAD_BTC, "purpose": "typo check",
                                                           "csrftoken": token, "kind": "bitcoin"})
        assert "Unvalidated text (the checksum does not match)" in bad_page.text and str(bad)[:8] in bad_page.text
        assert "True" not in page.text and "None" not in page.text
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "lea")
        token = csrf_token(c.get("/ui/intelligence").text)
        page = c.post("/ui/intelligence/search", data={"value": WALLET, "purpose": "police request 42",
                                                        "csrftoken": token})
        assert str(first)[:8] not in page.text and "2 further reports name it" in page.text
    searches = _searches(balise)
    assert [e.purpose for e in searches] == ["wallet seen in a chat", "typo check", "police request 42"]
    assert all(WALLET not in json.dumps(e.details) and BAD_BTC not in json.dumps(e.details) for e in searches)
    assert searches[0].details["reports"] == 2 and searches[2].details["hidden"] == 2


def test_auditors_and_administrators_do_not_search(balise):
    for name, role in (("aud", "auditor"), ("adm", "admin")):
        make_user(balise, name, role)
        with TestClient(create_app(balise)) as c:
            sign_in(c, balise, name)
            assert c.get("/ui/intelligence", follow_redirects=False).status_code == 403


def test_api_search_needs_the_scope_a_grant_and_a_purpose(balise, client, provider):
    first, second, _ = _two_linked_reports(balise, client, provider)
    with balise.db.transaction() as s:  # police see forwarded reports only
        s.execute(update(Report).where(Report.id == first).values(state="forwarded_europol_and_state"))
    body = {"value": WALLET, "purpose": "investigation DEMO-7"}
    _, no_scope = make_provider(balise, name="Police without scope", scopes=(Scope.REPORTS_READ,))
    assert client.post("/api/v1/entities/search", json=body, headers=auth(no_scope)).json()["error"] == "forbidden"
    police, key = make_provider(balise, name="DEMO Police", scopes=(Scope.ENTITIES_SEARCH,))
    refused = client.post("/api/v1/entities/search", json=body, headers=auth(key))
    assert refused.status_code == 403 and refused.json()["missing_grant"]["operation"] == "read_reports"
    grant_access(balise, police, databases=("reports",), operations=("read_reports",), purpose="investigations")
    short = client.post("/api/v1/entities/search", json={"value": WALLET, "purpose": "x"}, headers=auth(key))
    assert short.status_code == 422 and short.json()["fields"][0]["field"] == "purpose"
    unknown = client.post("/api/v1/entities/search", json={**body, "kind": "pigeon"}, headers=auth(key))
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "kind"
    assert not _searches(balise)
    answer = client.post("/api/v1/entities/search", json=body, headers=auth(key))
    assert answer.status_code == 200, answer.text
    monero = next(m for m in answer.json()["matches"] if m["kind"] == "monero")
    assert [r["id"] for r in monero["reports"]] == [str(first)] and monero["hidden"] == 1 and monero["valid"] is True
    (event,) = _searches(balise)
    assert event.purpose == "investigation DEMO-7" and event.actor_type == "organisation"


def test_command_line_search_prints_json_and_is_audited(balise, client, provider, tmp_path, db_url):
    first, second, _ = _two_linked_reports(balise, client, provider)
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    refused = run_cli(env, "entities", "search", WALLET)
    assert refused.returncode == 2 and "purpose" in refused.stderr
    found = run_cli(env, "entities", "search", WALLET, "--purpose", "operator check", "--kind", "monero")
    assert found.returncode == 0, found.stderr
    (line,) = [json.loads(x) for x in found.stdout.splitlines()]
    assert line["value"] == WALLET and {r["id"] for r in line["reports"]} == {str(first), str(second)}
    assert run_cli(env, "entities", "search", "nobody@nowhere.example", "--purpose", "operator check").returncode == 1
    assert [e.purpose for e in _searches(balise)] == ["operator check", "operator check"]
    reindexed = run_cli(env, "entities", "index", "--report", str(first))
    assert reindexed.returncode == 0 and re.search(r"indexed 1 report\(s\): 2 valid", reindexed.stdout), reindexed.stdout
    assert run_cli(env, "entities", "index", "--report", "not-a-uuid").returncode == 2
