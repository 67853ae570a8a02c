"""`balise org list|suspend|reinstate`: a suspended organisation's API keys and /ispws
credentials are refused with a 403 naming the suspension from the next request, and work again
once it is reinstated; each change audited with the actor `cli` and the reason; bad input refused
with nothing changed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Organisation
from tests.cli_support import run_cli
from tests.helpers import auth, make_provider
from tests.ispws_support import basic, code, description, make_ispws_provider


@pytest.fixture
def env(settings):
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
            "BALISE_DATABASE_URL": settings.sqlalchemy_url}


def test_suspend_refuses_api_keys_and_ispws_credentials_until_reinstated(env, client, balise):
    _, key = make_provider(balise, "DEMO Platform")
    _, user, password = make_ispws_provider(balise, "DEMO Other Platform")
    assert client.get("/api/v1/grants", headers=auth(key)).status_code == 200
    assert client.get("/ispws/status", headers=basic(user, password)).status_code == 200

    for name in ("DEMO Platform", "DEMO Other Platform"):
        result = run_cli(env, "org", "suspend", name, "--reason", "contract ended")
        assert result.returncode == 0 and f"suspended {name}" in result.stdout, result.stderr
    refused = client.get("/api/v1/grants", headers=auth(key))
    assert refused.status_code == 403 and refused.json()["error"] == "organisation_suspended"
    assert "the organisation 'DEMO Platform' is suspended since" in refused.json()["message"]
    ispws = client.get("/ispws/status", headers=basic(user, password))
    assert ispws.status_code == 403 and code(ispws) == 3000
    assert "the organisation 'DEMO Other Platform' is suspended since" in description(ispws)
    # Suspension is no oracle for guessed secrets: a wrong one still gets the ordinary answer.
    assert client.get("/api/v1/grants", headers=auth(key[:-1] + ("A" if key[-1] != "A" else "B"))).status_code == 401
    assert code(client.get("/ispws/status", headers=basic(user, "guess"))) == 2000

    for name in ("DEMO Platform", "DEMO Other Platform"):
        assert run_cli(env, "org", "reinstate", name, "--reason", "contract renewed").returncode == 0
    assert client.get("/api/v1/grants", headers=auth(key)).status_code == 200
    assert client.get("/ispws/status", headers=basic(user, password)).status_code == 200

    with balise.db.sessions() as s:
        records = s.execute(select(AuditRecord).where(AuditRecord.event_type.in_(("org:suspend", "org:reinstate")))
                            .order_by(AuditRecord.seq)).scalars().all()
    assert [(r.event_type, r.actor_id, r.details["reason"]) for r in records] == [
        ("org:suspend", "cli", "contract ended"), ("org:suspend", "cli", "contract ended"),
        ("org:reinstate", "cli", "contract renewed"), ("org:reinstate", "cli", "contract renewed")]


def test_list_shows_status_and_live_keys_as_a_table_and_as_json(env, balise):
    make_provider(balise, "DEMO Platform")
    make_ispws_provider(balise, "DEMO Other Platform")
    assert run_cli(env, "org", "suspend", "DEMO Platform", "--reason", "audit").returncode == 0
    lines = run_cli(env, "org", "list").stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "COUNTRY", "STATUS", "LIVE", "KEYS"]
    assert lines[1].split()[:2] == ["DEMO", "Other"] and lines[1].split()[-2:] == ["active", "0"]
    assert "suspended 20" in lines[2] and lines[2].split()[-1] == "1"
    rows = json.loads(run_cli(env, "org", "list", "--format", "json").stdout)
    assert [(r["name"], r["kind"], r["country"], r["suspended_at"] is not None, r["live_api_keys"]) for r in rows] == [
        ("DEMO Other Platform", "provider", "FR", False, 0), ("DEMO Platform", "provider", "FR", True, 1)]


@pytest.mark.parametrize(("args", "exit_code", "message"), [
    (("org", "suspend", "Nobody", "--reason", "x"), 1, "no organisation named 'Nobody'"),
    (("org", "reinstate", "Nobody", "--reason", "x"), 1, "no organisation named 'Nobody'"),
    (("org", "suspend", "DEMO Platform"), 2, "Missing option '--reason'"),
    (("org", "suspend", "DEMO Platform", "--reason", "  "), 1, "a reason is required (--reason) and cannot be empty"),
    (("org", "reinstate", "DEMO Platform", "--reason", "x"), 1, "'DEMO Platform' is not suspended"),
    (("org", "list", "--format", "yaml"), 2, "unknown format 'yaml'"),
])
def test_bad_input_is_refused_precisely_and_changes_nothing(env, balise, args, exit_code, message):
    make_provider(balise, "DEMO Platform")

    def state():
        with balise.db.sessions() as s:
            return (s.execute(select(Organisation.suspended_at)).scalars().all(),
                    s.execute(select(func.count()).select_from(AuditRecord)).scalar_one())

    before = state()
    result = run_cli(env, *args)
    assert result.returncode == exit_code and message in " ".join(result.stderr.split()), result.stderr
    assert state() == before


def test_suspending_twice_is_refused(env, balise):
    make_provider(balise, "DEMO Platform")
    assert run_cli(env, "org", "suspend", "DEMO Platform", "--reason", "x").returncode == 0
    again = run_cli(env, "org", "suspend", "DEMO Platform", "--reason", "x")
    assert again.returncode == 1 and "'DEMO Platform' is already suspended" in again.stderr
