"""Backup and restore of a whole installation: the database and the files its records point to
(docs/deployment.md#backup-and-restore).

A backup is a directory: the database (SQLite through its online backup API, PostgreSQL through
``pg_dump --format=custom``), a copy of the vault (encrypted objects, copied as they are), of the
evidence packages, of the exported notices and of the outbox, and ``manifest.json``, written
last, listing every file with its size and SHA-256. The manifest carries an HMAC keyed by
``BALISE_SECRET_KEY`` and a check value of each key, so that restore tells a backup that was
altered from one made under other keys. The keys themselves are never written; the evidence
package signing key is copied only when asked (``--include-secrets``).

Restore checks everything before it changes anything: a missing manifest or file, a file whose
size or digest differs, a file the manifest does not list, another key, another database kind;
and it refuses to replace a database or directories that hold data unless forced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from balise.accounts.actors import Actor
from balise.adapters.db.migrate import current_revision, head_revision
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail
from balise.settings import Settings

FORMAT = "balise-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
SIGNING_KEY = "secrets/signing-key.pem"
# Tables whose rows make a database "in use": restore does not replace it without --force.
IN_USE_TABLES = ("organisations", "users", "reports", "audit_events")


class BackupError(Exception):
    """The backup or the restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    directory: Path
    database: str
    files: int
    bytes: int
    schema_revision: str | None


def _trees(settings: Settings) -> dict[str, Path]:
    """The directories whose files the database's records point to, by their name in a backup."""
    return {"vault": settings.vault_path, "packages": settings.package_path, "exports": settings.exports_path,
            "outbox": (settings.data_dir / "outbox").resolve()}


def _key_check(label: str, key: bytes) -> str:
    # A digest of a random 32-byte key (or a ≥ 32-character secret) reveals nothing usable.
    return hashlib.sha256(b"balise-backup-key-check\0" + label.encode() + b"\0" + key).hexdigest()[:16]


def _key_checks(settings: Settings) -> dict[str, str]:
    return {"BALISE_SECRET_KEY": _key_check("secret", settings.secret_key.get_secret_value().encode()),
            "BALISE_VAULT_KEY": _key_check("vault", settings.vault_master_key)}


def _mac(settings: Settings, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"balise-backup-manifest\0" + canonical, hashlib.sha256).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files_under(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path


def _dialect(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _pg_command(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise BackupError(f"{tool} is not on PATH: install the PostgreSQL client programs (Debian: "
                          "postgresql-client, of the server's major version or newer)")
    return found


def _pg_env_and_name(url: str) -> tuple[dict[str, str], str]:
    """libpq environment for the URL (the password in PGPASSWORD, never on a command line)."""
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for var, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                       ("PGPASSWORD", parsed.password)):
        if value is not None:
            env[var] = str(value)
    if "sslmode" in parsed.query:
        env["PGSSLMODE"] = str(parsed.query["sslmode"])
    return env, parsed.database or ""


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")


def create_backup(settings: Settings, engine: Engine, audit: AuditTrail, new_session: Any, actor: Actor,
                  out: Path, *, include_secrets: bool = False, now: datetime) -> BackupSummary:
    """Write a backup into ``out`` (a new or empty directory)."""
    dialect = _dialect(engine)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not an empty directory: back up into a new one")
    out.mkdir(parents=True, exist_ok=True)
    revision = current_revision(engine)
    # Recorded before the dump, so that the backup holds the event of its own making.
    with new_session() as session, session.begin():
        audit.record(session, AuditEvent.BACKUP_CREATE, actor, "backup", now.strftime("%Y%m%dT%H%M%SZ"),
                     "backup", {"database": dialect, "schema_revision": revision, "include_secrets": include_secrets})
    if dialect == "sqlite":
        source_path = make_url(settings.sqlalchemy_url).database or ""
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        target = sqlite3.connect(out / SQLITE_FILE)
        try:
            with target:
                source.backup(target)
            # One self-contained file: no -wal or -shm beside it when it is read.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        database_file = SQLITE_FILE
    else:
        env, name = _pg_env_and_name(settings.sqlalchemy_url)
        _run([_pg_command("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              "--file", str(out / PG_FILE), "--dbname", name], env, "pg_dump")
        database_file = PG_FILE
    # After the database: an object added meanwhile is copied without a record (harmless); the
    # records of the dump all find their objects unless retention deletes one in between.
    for name, root in _trees(settings).items():
        if root.is_dir():
            shutil.copytree(root, out / name, symlinks=False)
    if include_secrets:
        key_path = settings.signing_key_path
        if key_path is None or not key_path.is_file():
            raise BackupError("--include-secrets: there is no signing key file to copy (BALISE_SIGNING_KEY_FILE)")
        (out / SIGNING_KEY).parent.mkdir(mode=0o700)
        shutil.copyfile(key_path, out / SIGNING_KEY)
        (out / SIGNING_KEY).chmod(0o600)
    files = {}
    total = 0
    for path in _files_under(out):
        rel = path.relative_to(out).as_posix()
        size = path.stat().st_size
        files[rel] = {"size": size, "sha256": _sha256(path)}
        total += size
    body = {"format": FORMAT, "created_at": now.isoformat(), "database": {"dialect": dialect, "file": database_file},
            "schema_revision": revision, "keys": _key_checks(settings), "files": files}
    manifest = {**body, "mac": _mac(settings, body)}
    partial = out / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(out / MANIFEST)
    return BackupSummary(out, dialect, len(files), total, revision)


def verify_backup(settings: Settings, source: Path) -> dict[str, Any]:
    """The manifest of a complete, unaltered backup made under the configured keys, or a
    BackupError naming the first problem."""
    if not source.is_dir():
        raise BackupError(f"{source} is not a directory")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a complete backup: {MANIFEST} is missing "
                          "(a backup writes it last; an interrupted one has none)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        body = {k: v for k, v in manifest.items() if k != "mac"}
        files, keys = body["files"], body["keys"]
        dialect = body["database"]["dialect"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{MANIFEST} is not a Balise backup manifest ({type(exc).__name__}: {exc})") from None
    if body.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} has format {body.get('format')!r}; this Balise reads {FORMAT!r}")
    for name, check in _key_checks(settings).items():
        if keys.get(name) != check:
            raise BackupError(f"the backup was made with another {name}: restore with the key it was made with "
                              "(the audit chain and the vault's objects depend on it)")
    if not hmac.compare_digest(str(manifest.get("mac", "")), _mac(settings, body)):
        raise BackupError(f"{MANIFEST} was altered: its MAC does not verify")
    for rel, expected in sorted(files.items()):
        file = source / rel
        if not file.is_file():
            raise BackupError(f"the backup is incomplete: {rel} is listed in {MANIFEST} but missing")
        size = file.stat().st_size
        if size != expected["size"]:
            raise BackupError(f"the backup was altered: {rel} has {size} bytes, {MANIFEST} says {expected['size']}")
        if _sha256(file) != expected["sha256"]:
            raise BackupError(f"the backup was altered: the SHA-256 of {rel} differs from {MANIFEST}")
    for file in _files_under(source):
        rel = file.relative_to(source).as_posix()
        if rel != MANIFEST and rel not in files:
            raise BackupError(f"the backup holds {rel}, which {MANIFEST} does not list")
    if body["database"]["file"] not in files:
        raise BackupError(f"the backup is incomplete: its database file {body['database']['file']} is not listed")
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"{MANIFEST} names an unknown database kind {dialect!r}")
    return manifest


def database_in_use(engine: Engine) -> list[str]:
    """The tables among IN_USE_TABLES that hold rows (empty: a new or freshly migrated database)."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return [t for t in IN_USE_TABLES
                if t in present and conn.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first() is not None]


def restore_backup(settings: Settings, engine: Engine, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Verify ``source``, then put its database and files in place of the configured ones."""
    manifest = verify_backup(settings, source)
    dialect = _dialect(engine)
    if manifest["database"]["dialect"] != dialect:
        raise BackupError(f"the backup holds a {manifest['database']['dialect']} database and BALISE_DATABASE_URL "
                          f"names {dialect}: restore into the same kind of database")
    if not force:
        used = database_in_use(engine)
        if used:
            raise BackupError(f"the database is not empty (rows in {', '.join(used)}): restore into a new one, "
                              "or give --force to replace it")
        for name, root in _trees(settings).items():
            if (source / name).is_dir() and root.is_dir() and any(root.iterdir()):
                raise BackupError(f"{root} is not empty: restore into a new data directory, or give --force "
                                  "to replace it")
    engine.dispose()
    if dialect == "sqlite":
        target_path = Path(make_url(settings.sqlalchemy_url).database or "")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        # immutable: reading the backup writes nothing beside it (it stays as its manifest says).
        backup = sqlite3.connect(f"file:{source / SQLITE_FILE}?mode=ro&immutable=1", uri=True)
        target = sqlite3.connect(target_path)
        try:
            with target:
                backup.backup(target)
        finally:
            target.close()
            backup.close()
    else:
        env, name = _pg_env_and_name(settings.sqlalchemy_url)
        _run([_pg_command("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", "--dbname", name, str(source / PG_FILE)], env, "pg_restore")
    for name, root in _trees(settings).items():
        if not (source / name).is_dir():
            continue
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(source / name, root)
    return manifest


def schema_note(settings: Settings, engine: Engine) -> str | None:
    """What to do when the restored schema is older than this Balise's."""
    current, head = current_revision(engine), head_revision(settings.sqlalchemy_url)
    if current != head:
        return f"the restored schema is at revision {current}, this Balise at {head}: run `balise db upgrade`"
    return None
