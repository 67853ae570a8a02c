"""Supervisors see the clocks on /ui/clocks (overdue first; analysts and providers do not), and
operators read them with `balise clocks list` (the real command, run in this process); bad
options exit 2 with the problem named and change nothing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.web.app import create_app
from tests.cli_support import CliResult, run_cli
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, make_user, minimal_report, sign_in
from tests.takedown_support import COMPLETE, Clock
from tests.test_routing_cli import cli_env


def _filed(app: Balise, key: str, **fields: object) -> uuid.UUID:
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", json=minimal_report(**fields), headers=auth(key))
    assert r.status_code == 201, r.text
    app.run_jobs()
    return uuid.UUID(r.json()["id"])


@pytest.fixture
def late(tmp_path, db_url):
    """One urgent report filed three hours ago (overdue) and one filed now (running)."""
    clock = Clock(datetime.now(timezone.utc) - timedelta(hours=3))
    app = Balise(make_settings(tmp_path, db_url), clock=clock)
    _, key = make_provider(app)
    overdue = _filed(app, key, urgent=True, **COMPLETE)
    clock.now = datetime.now(timezone.utc)
    running = _filed(app, key, **COMPLETE)
    yield app, overdue, running
    app.close()


def test_supervisors_see_overdue_clocks_first_and_analysts_are_refused(late):
    app, overdue, running = late
    make_user(app, "demo-senior", "senior-analyst")
    make_user(app, "demo-ana", "analyst")
    with TestClient(create_app(app), base_url="https://testserver") as client:
        sign_in(client, app, "demo-senior")
        page = client.get("/ui/clocks")
        assert page.status_code == 200
        html = page.text
        assert html.index(str(overdue)[:8]) < html.index(str(running)[:8])
        assert "clock-overdue" in html and "late by" in html
        only = client.get("/ui/clocks", params={"state": "running"}).text
        assert str(running)[:8] in only and str(overdue)[:8] not in only
    with TestClient(create_app(app), base_url="https://testserver") as client:
        sign_in(client, app, "demo-ana")
        assert client.get("/ui/clocks").status_code == 403
    with TestClient(create_app(app), base_url="https://testserver") as client:
        assert client.get("/ui/clocks", follow_redirects=False).status_code in (303, 401)


def _cli(app: Balise, *args: str) -> CliResult:
    return run_cli(cli_env(app), "clocks", *args)


def test_the_cli_lists_clocks_with_their_state_and_records_alerts_once(late):
    app, overdue, running = late
    listed = _cli(app, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows[str(overdue)]["state"] == "overdue" and rows[str(overdue)]["seconds_left"] < 0
    assert rows[str(running)]["state"] == "running"
    text = _cli(app, "list", "--state", "overdue").stdout
    assert str(overdue) in text and str(running) not in text
    first, again = _cli(app, "check"), _cli(app, "check")
    assert "recorded 1 new alert" in first.stdout and "recorded 0 new alert" in again.stdout


@pytest.mark.parametrize(("args", "said"), [
    (("list", "--kind", "nap"), "unknown clock kind(s): nap"),
    (("list", "--state", "late"), "unknown state 'late'"),
])
def test_bad_options_exit_2_naming_the_problem(late, args, said):
    app, _, _ = late
    result = _cli(app, *args)
    assert result.returncode == 2 and said in result.stderr


def test_a_bad_clock_setting_stops_the_cli_naming_it(late):
    app, _, _ = late
    env = cli_env(app) | {"BALISE_INFORMATION_REQUEST_DAYS": "0"}
    result = run_cli(env, "clocks", "list")
    assert result.returncode == 2
    assert "information_request_days" in result.stderr and "greater than or equal to 1" in result.stderr
