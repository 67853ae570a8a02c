"""The `balise` command, run as a user would: migrate, create an organisation and a user,
serve over real HTTP on loopback, file a report, verify the audit trail, catch tampering."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from balise.demo import demo_image
from tests.cli_support import CliResult, run_cli
from tests.servers import (
    BALISE,  # noqa: E402
    free_port,
    running_server,
    wait_for,
)


def run(env: dict[str, str], *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([BALISE, *args], env=env, input=input, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"balise {' '.join(args)} failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    return result


def cli(env: dict[str, str], *args: str, input: str | None = None, check: bool = True) -> CliResult:
    """:func:`run` in this process, for the commands whose test does not need a process of its own."""
    result = run_cli(env, *args, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"balise {' '.join(args)} failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    return {**base, "BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url}


@pytest.mark.e2e
def test_serve_file_report_read_it_and_verify_audit(env, db_url):
    run(env, "db", "upgrade")
    out = run(env, "org", "create", "Acme Platform", "--kind", "provider", "--country", "DE").stdout
    key = re.search(r"(bal_[0-9a-f]{12}_\S{43})", out).group(1)
    created = run(env, "user", "create", "ana", "--role", "analyst", "--password-stdin", input="a long enough password\n").stdout
    assert "TOTP secret" in created

    with running_server(env) as (base, _):
        report = {
            "reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam",
            "service": {"type": "hosting"}, "awareness": {"source": "user_flag"}, "content_removed": True,
            "items": [{"kind": "media", "file": "photo"}],
        }
        image = demo_image(42)
        r = httpx.post(f"{base}/api/v1/reports", headers={"Authorization": f"Bearer {key}"},
                       data={"report": json.dumps(report)}, files={"photo": ("photo.jpg", image, "image/jpeg")})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        # The serving process triages in its background worker: the report, which lacks a
        # signature and a contact point, ends up waiting for the provider's information.
        def state():
            got = httpx.get(f"{base}/api/v1/reports/{rid}", headers={"Authorization": f"Bearer {key}"})
            assert got.status_code == 200
            return got if got.json()["state"] == "information_requested" else None

        got = wait_for(state, 30)
        assert got is not None, "the report was not triaged"
        assert "signature" in got.json()["missing_fields"]
        assert httpx.get(f"{base}/api/docs").status_code == 200
        assert "ReportIn" in httpx.get(f"{base}/api/openapi.json").json()["components"]["schemas"]

    ok = run(env, "audit", "verify")
    assert ok.stdout.startswith("OK:")

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET purpose = 'nothing to see' WHERE seq = 3"))
    engine.dispose()
    broken = run(env, "audit", "verify", check=False)
    assert broken.returncode == 1
    assert "BROKEN at event 3" in broken.stdout


@pytest.mark.e2e
def test_serve_refuses_unsafe_production_configuration(env):
    run(env, "db", "upgrade")
    result = run({**env, "BALISE_ENV": "production"}, "serve", "--port", str(free_port()), check=False)
    assert result.returncode == 2
    assert "BALISE_SECRET_KEY" in result.stderr and "BALISE_VAULT_KEY" in result.stderr


@pytest.mark.e2e
def test_serve_refuses_an_unmigrated_database(tmp_path):
    env = {**os.environ, "BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "fresh")}
    env.pop("BALISE_DATABASE_URL", None)
    result = run(env, "serve", "--port", str(free_port()), check=False)
    assert result.returncode == 2 and "balise db upgrade" in result.stderr


def test_demo_seeds_once_and_its_login_works(env):
    cli(env, "db", "upgrade")
    first = cli(env, "demo", "--if-new").stdout
    assert "seeded DEMO data" in first and "demo-analyst" in first
    again = cli(env, "demo", "--if-new").stdout
    assert "no demo seeded" in again
    code = cli(env, "user", "totp-code", "demo-analyst").stdout.strip()
    assert re.fullmatch(r"\d{6}", code)
    assert cli({**env, "BALISE_ENV": "production"}, "demo", check=False).returncode == 2
    assert cli(env, "audit", "verify").stdout.startswith("OK:")


def test_cli_reports_bad_input_precisely(env):
    cli(env, "db", "upgrade")
    bad_country = cli(env, "org", "create", "X", "--kind", "provider", "--country", "france", check=False)
    assert bad_country.returncode == 1 and "ISO 3166" in bad_country.stderr
    cli(env, "org", "create", "Dup", "--kind", "hotline")
    dup = cli(env, "org", "create", "Dup", "--kind", "hotline", check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    weak = cli(env, "user", "create", "bob", "--role", "admin", "--password-stdin", input="short\n", check=False)
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    bad_role = cli(env, "user", "create", "bob", "--role", "overlord", "--password-stdin", input="x" * 20, check=False)
    assert bad_role.returncode == 2
