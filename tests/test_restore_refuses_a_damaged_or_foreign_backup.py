"""`balise restore` checks the whole backup before it changes anything, and refuses with a
precise message: no manifest (an interrupted backup), a listed file missing, a file truncated
or altered, a file the manifest does not list, an edited manifest, a backup made under another
key; `balise backup` refuses a directory that already holds files."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report

KEYS = {"BALISE_SECRET_KEY": "restore-test-secret-" + "k" * 32,
        "BALISE_VAULT_KEY": base64.b64encode(os.urandom(32)).decode()}


def env_for(data_dir: Path, url: str, **keys: str) -> dict[str, str]:
    return {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(data_dir), "BALISE_DATABASE_URL": url,
            "BALISE_FETCH_RESOLVER": "static", **KEYS, **keys}


def vault_file(backup: Path) -> Path:
    return next(p for p in sorted((backup / "vault").rglob("*")) if p.is_file())


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def edit_manifest(backup: Path) -> None:
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["created_at"] = "2020-01-01T00:00:00+00:00"
    (backup / "manifest.json").write_text(json.dumps(manifest))


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "no manifest": (lambda b: (b / "manifest.json").unlink(), "is not a complete backup: manifest.json is missing"),
    "a file missing": (lambda b: vault_file(b).unlink(), "the backup is incomplete: vault/"),
    "a file truncated": (lambda b: vault_file(b).write_bytes(vault_file(b).read_bytes()[:-1]), "bytes, manifest.json says"),
    "a file altered": (lambda b: flip_a_byte(vault_file(b)), "differs from manifest.json"),
    "the database altered": (lambda b: flip_a_byte(b / "database.sqlite3"), "the SHA-256 of database.sqlite3 differs"),
    "a file added": (lambda b: (b / "vault" / "extra.blv").write_bytes(b"x"),
                     "holds vault/extra.blv, which manifest.json does not list"),
    "the manifest edited": (edit_manifest, "manifest.json was altered: its MAC does not verify"),
    "not a manifest": (lambda b: (b / "manifest.json").write_text("{}"), "manifest.json is not a Balise backup manifest"),
}


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    from balise.adapters.db.migrate import upgrade

    upgrade(url)
    settings = make_settings(tmp_path / "source", url, secret_key=KEYS["BALISE_SECRET_KEY"],
                             vault_key=KEYS["BALISE_VAULT_KEY"])
    with closing(Balise(settings)) as source:
        _, key = make_provider(source)
        report = json.dumps(minimal_report(items=[{"kind": "media", "file": "f"}]))
        with TestClient(create_app(source)) as client:
            assert client.post("/api/v1/reports", data={"report": report},
                               files=[("f", ("f.jpg", demo_image(3), "image/jpeg"))], headers=auth(key)).status_code == 201
    out = tmp_path / "backup"
    assert run_cli(env_for(tmp_path / "source" / "data", url), "backup", "--out", str(out)).returncode == 0
    return out


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_backup_is_refused_and_nothing_changes(tmp_path, backup, damage):
    harm, message = DAMAGE[damage]
    harm(backup)
    target = tmp_path / "target"
    result = run_cli(env_for(target, f"sqlite:///{target / 'balise.sqlite3'}"), "restore", "--from", str(backup))
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert not (target / "balise.sqlite3").exists()
    assert not (target / "vault").exists()


@pytest.mark.parametrize("key", ["BALISE_SECRET_KEY", "BALISE_VAULT_KEY"])
def test_a_backup_made_under_another_key_is_refused_naming_it(tmp_path, backup, key):
    other = "another-secret-" + "o" * 40 if key == "BALISE_SECRET_KEY" else base64.b64encode(os.urandom(32)).decode()
    target = tmp_path / "target"
    result = run_cli(env_for(target, f"sqlite:///{target / 'balise.sqlite3'}", **{key: other}),
                     "restore", "--from", str(backup))
    assert result.returncode == 1
    assert f"the backup was made with another {key}" in result.stderr
    assert not (target / "balise.sqlite3").exists()


def test_a_postgresql_backup_is_not_restored_into_sqlite(tmp_path, backup):
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["database"]["dialect"] == "sqlite"
    target = tmp_path / "target"
    # The same backup restored with a PostgreSQL URL: refused before anything is touched.
    result = run_cli(env_for(target, "postgresql+psycopg://postgres@127.0.0.1:5432/never_created_here"),
                     "restore", "--from", str(backup))
    assert result.returncode == 1
    assert "the backup holds a sqlite database and BALISE_DATABASE_URL names postgresql" in result.stderr


def test_backup_refuses_a_directory_that_holds_files(tmp_path, backup):
    url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    result = run_cli(env_for(tmp_path / "source" / "data", url), "backup", "--out", str(backup))
    assert result.returncode == 1
    assert f"{backup} exists and is not an empty directory" in result.stderr
