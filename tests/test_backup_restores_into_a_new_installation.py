"""`balise backup` then `balise restore` into a new installation (a new data directory and a new
database, the same keys) brings everything back: `balise audit verify` finds the chain intact,
the encrypted evidence item reads back byte for byte, and restoring over the restored data is
refused unless forced — on SQLite and on PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item
from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.cli_support import run_cli
from tests.conftest import PG_ADMIN_URL, make_settings
from tests.helpers import auth, make_provider, minimal_report

KEYS = {"BALISE_SECRET_KEY": "backup-test-secret-" + "k" * 32,
        "BALISE_VAULT_KEY": base64.b64encode(os.urandom(32)).decode()}


@pytest.fixture
def fresh_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the source, for the restore."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'balise.sqlite3'}"
        return
    name = f"balise_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def env_for(data_dir: Path, url: str) -> dict[str, str]:
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(data_dir), "BALISE_DATABASE_URL": url,
            "BALISE_FETCH_RESOLVER": "static", **KEYS}


def test_backup_restore_verify_and_read_back(tmp_path, db_url, fresh_url):
    source_settings = make_settings(tmp_path / "source", db_url, secret_key=KEYS["BALISE_SECRET_KEY"],
                                    vault_key=KEYS["BALISE_VAULT_KEY"])
    picture = demo_image(42)
    with closing(Balise(source_settings)) as source:
        _, key = make_provider(source)
        report = minimal_report(items=[{"kind": "media", "file": "f"}])
        with TestClient(create_app(source)) as client:
            answer = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                                 files=[("f", ("f.jpg", picture, "image/jpeg"))], headers=auth(key))
        assert answer.status_code == 201, answer.text
        with source.db.sessions() as session:
            [sha] = session.execute(select(Item.vault_object).where(Item.vault_object.is_not(None))).scalars()
    # The vault holds the picture encrypted, never in the clear.
    assert all(picture[:64] not in p.read_bytes() for p in source_settings.vault_path.rglob("*") if p.is_file())

    backup_dir = tmp_path / "backup"
    made = run_cli(env_for(tmp_path / "source" / "data", db_url), "backup", "--out", str(backup_dir))
    assert made.returncode == 0, made.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["database"]["dialect"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    assert any(name.startswith("vault/") for name in manifest["files"])
    assert KEYS["BALISE_SECRET_KEY"] not in (backup_dir / "manifest.json").read_text()

    target = env_for(tmp_path / "restored", fresh_url)
    restored = run_cli(target, "restore", "--from", str(backup_dir))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    verified = run_cli(target, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith("OK: ")

    with closing(Balise(make_settings(tmp_path / "restored", fresh_url, data_dir=tmp_path / "restored",
                                      secret_key=KEYS["BALISE_SECRET_KEY"], vault_key=KEYS["BALISE_VAULT_KEY"]))) as again:
        with again.db.transaction() as session:
            assert again.evidence.read_all(session, sha, Actor.system("test"), "restore drill") == picture
        with again.db.sessions() as session:
            events = list(session.execute(select(AuditRecord.event_type).order_by(AuditRecord.seq)).scalars())
    # The backup holds the event of its own making; the restore and the check follow it.
    assert events[-4:] == ["backup:create", "backup:restore", "audit:verify", "media:read"]

    # The restored installation now holds data: a second restore must be forced.
    refused = run_cli(target, "restore", "--from", str(backup_dir))
    assert refused.returncode == 1
    assert "the database is not empty (rows in organisations, reports, audit_events)" in refused.stderr
    assert run_cli(target, "restore", "--from", str(backup_dir), "--force").returncode == 0
    assert run_cli(target, "audit", "verify").returncode == 0
