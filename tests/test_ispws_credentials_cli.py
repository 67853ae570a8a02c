"""`balise org create --ispws`, `org issue-ispws` and `org revoke-ispws`: a generated password
shown once, only its SHA-256 stored, issuing and revoking audited, non-providers refused."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from balise.adapters.db.models import AuditRecord, IspwsCredential, Organisation
from balise.cli.main import app as cli
from balise.domain.ispws import IspwsError


@pytest.fixture
def run(settings):
    env = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
           "BALISE_DATABASE_URL": settings.sqlalchemy_url}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def credentials(output: str) -> tuple[str, str]:
    user = re.search(r"user name: (ispws-[0-9a-f]{12})$", output, re.M)
    password = re.search(r"password \(shown once\): (\S{43})$", output, re.M)
    assert user and password, output
    return user.group(1), password.group(1)


def test_org_create_with_ispws_prints_working_credentials_and_stores_only_a_hash(run, balise):
    result = run("org", "create", "DEMO Platform", "--kind", "provider", "--ispws")
    assert result.exit_code == 0, result.output
    user, password = credentials(result.output)
    assert balise.ispws.authenticate(user, password).organisation_name == "DEMO Platform"
    with balise.db.sessions() as session:
        row = session.execute(select(IspwsCredential)).scalar_one()
        assert row.username == user and row.secret_hash == hashlib.sha256(password.encode()).hexdigest()
        audit = session.execute(select(AuditRecord).where(AuditRecord.event_type == "ispws:credential_create")).scalar_one()
        assert audit.details["username"] == user and password not in str(audit.details)


def test_issue_and_revoke(run, balise):
    assert run("org", "create", "DEMO Platform", "--kind", "provider", "--no-key").exit_code == 0
    first = credentials(run("org", "issue-ispws", "DEMO Platform").output)
    second = credentials(run("org", "issue-ispws", "DEMO Platform").output)
    assert first != second
    result = run("org", "revoke-ispws", first[0])
    assert result.exit_code == 0 and f"revoked {first[0]}" in result.output
    with pytest.raises(IspwsError) as revoked:
        balise.ispws.authenticate(*first)
    assert revoked.value.code == 3000
    assert balise.ispws.authenticate(*second).username == second[0]
    with balise.db.sessions() as session:
        events = session.execute(select(AuditRecord.event_type).where(AuditRecord.subject_type == "ispws_credential")
                                 .order_by(AuditRecord.seq)).scalars().all()
        assert events == ["ispws:credential_create", "ispws:credential_create", "ispws:credential_revoke"]


def test_refusals_change_nothing(run, balise):
    result = run("org", "create", "DEMO Hotline", "--kind", "hotline", "--ispws")
    assert result.exit_code == 1 and "only providers file CyberTipline reports" in result.output
    with balise.db.sessions() as session:
        assert session.execute(select(Organisation)).first() is None
    result = run("org", "issue-ispws", "Nobody")
    assert result.exit_code == 1 and "no organisation named 'Nobody'" in result.output
    result = run("org", "revoke-ispws", "ispws-000000000000")
    assert result.exit_code == 1 and "no NCMEC-compatible API credential 'ispws-000000000000'" in result.output
