"""`balise package build|verify|public-key|keygen|custody|record`, run as a user would, with
the exit codes docs/evidence-packages.md promises."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.evidence.adapters.signing import raw_public_bytes, write_new_key
from balise.intake.filing import UploadedFile
from balise.intake.report_schema import ReportIn
from tests.cli_support import CliResult, run_cli
from tests.conftest import make_settings
from tests.helpers import minimal_report
from tests.vectors import vectors_dir

IMAGE = vectors_dir() / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg"


def run(env: dict[str, str], *args: str) -> CliResult:
    return run_cli(env, *args)


def _env(data_dir: Path, db_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(data_dir), **extra)
    if db_url:
        env["BALISE_DATABASE_URL"] = db_url
    return env


def _file_report(app: Balise) -> uuid.UUID:
    report = ReportIn.model_validate(minimal_report(items=[{"kind": "media", "file": "photo"}]))
    files = {"photo": UploadedFile("photo", io.BytesIO(IMAGE.read_bytes()), "photo.jpg", "image/jpeg")}
    app.intake.prepare_files(report, files)
    return app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files=files,
                           fingerprint="cli", idempotency_key=None).report.id


@pytest.fixture
def filed(tmp_path, db_url) -> tuple[dict[str, str], uuid.UUID]:
    app = Balise(make_settings(tmp_path, db_url))
    report_id = _file_report(app)
    app.close()
    return _env(tmp_path / "data", db_url), report_id


def _built_path(stdout: str) -> Path:
    return Path(re.search(r"file\s+(\S+\.zip)", stdout).group(1))


def test_build_then_verify_with_the_centre_key_and_with_the_pinned_public_key(filed, tmp_path):
    env, report_id = filed
    out = tmp_path / "export"
    built = run(env, "package", "build", str(report_id), "--include-media", "--out", str(out))
    assert built.returncode == 0, built.stderr
    path = _built_path(built.stdout)
    assert path.parent == out and re.search(r"sha256\s+" + hashlib.sha256(path.read_bytes()).hexdigest(), built.stdout)
    with zipfile.ZipFile(path) as zf:
        assert zf.read(f"media/{hashlib.sha256(IMAGE.read_bytes()).hexdigest()}.jpg") == IMAGE.read_bytes()

    own = run(env, "package", "verify", str(path))
    assert own.returncode == 0, own.stdout + own.stderr
    assert own.stdout.startswith("VALID: evidence package ") and f"report      {report_id}" in own.stdout
    assert "(1 media)" in own.stdout

    # The recipient's way: the printed public key, saved as it is, pinned on their side.
    printed = run(env, "package", "public-key")
    pinned = tmp_path / "centre.pub"
    pinned.write_text(printed.stdout)
    police_env = _env(tmp_path / "elsewhere")  # no database, no key of their own
    theirs = run(police_env, "package", "verify", str(path), "--public-key", str(pinned))
    assert theirs.returncode == 0 and theirs.stdout == own.stdout
    assert not (tmp_path / "elsewhere").exists()

    audit = run(env, "audit", "verify")
    assert audit.returncode == 0 and audit.stdout.startswith("OK:")


def test_custody_log_records_delivery_and_receipt(filed):
    env, report_id = filed
    package_id = _built_path(run(env, "package", "build", str(report_id)).stdout).stem
    delivered = run(env, "package", "record", package_id, "delivered", "--recipient", "Europol (DEMO)", "--note", "export dir")
    assert delivered.returncode == 0 and delivered.stdout.startswith("recorded delivered")
    assert run(env, "package", "record", package_id, "received", "--recipient", "Europol (DEMO)").returncode == 0
    log = json.loads(run(env, "package", "custody", package_id).stdout)
    assert [e["kind"] for e in log["events"]] == ["built", "delivered", "received"]
    assert log["events"][1]["details"] == {"note": "export dir"}

    lost = run(env, "package", "record", package_id, "lost")
    assert lost.returncode == 1 and "unknown custody event 'lost'" in lost.stderr
    unknown = run(env, "package", "custody", str(uuid.uuid4()))
    assert unknown.returncode == 1 and "no evidence package" in unknown.stderr
    assert run(env, "package", "custody", "not-an-id").returncode == 2


def test_build_refuses_bad_input_with_its_exit_code(filed):
    env, report_id = filed
    not_uuid = run(env, "package", "build", "42")
    assert not_uuid.returncode == 2 and "is not a report id" in not_uuid.stderr
    missing = run(env, "package", "build", str(uuid.uuid4()))
    assert missing.returncode == 1 and "no report" in missing.stderr
    production = run({**env, "BALISE_ENV": "production", "BALISE_SECRET_KEY": "s" * 48,
                      "BALISE_VAULT_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
                     "package", "build", str(report_id))
    assert production.returncode == 2 and "BALISE_SIGNING_KEY_FILE is missing" in production.stderr
    assert not list((Path(env["BALISE_DATA_DIR"]) / "packages").glob("*.zip"))


@pytest.fixture(scope="module")
def package(tmp_path_factory, sqlite_template) -> tuple[dict[str, str], Path]:
    """One package built on SQLite, and the environment whose development key signed it."""
    root = tmp_path_factory.mktemp("cli")
    shutil.copy(sqlite_template, root / "balise.sqlite3")
    app = Balise(make_settings(root, f"sqlite:///{root / 'balise.sqlite3'}"))
    report_id = _file_report(app)
    with app.db.transaction() as s:
        path = app.packages.build(s, Actor.system("test"), report_id, include_media=True).path
    app.close()
    return _env(root / "data", f"sqlite:///{root / 'balise.sqlite3'}"), path


def _rewrite(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    change(members)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return target


def test_verify_exit_codes_name_the_first_problem(package, tmp_path):
    env, path = package
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(path.read_bytes()[:500])
    other_key = tmp_path / "other.pem"
    other_pub = tmp_path / "other.pub"
    other_pub.write_text(write_new_key(other_key).public_pem)
    cases = [
        (truncated, [], 3, "INVALID (unreadable): truncated.zip is not a readable zip file"),
        (_rewrite(path, tmp_path / "slip.zip", lambda m: m.update({"../evil.json": b"{}"})), [], 4,
         "INVALID (unsafe): unsafe member name"),
        (_rewrite(path, tmp_path / "nosig.zip", lambda m: m.pop("manifest.sig")), [], 5,
         "INVALID (manifest): the package has no manifest.sig"),
        (path, ["--public-key", str(other_pub)], 6, "INVALID (signature): the package says it was signed by key"),
        (_rewrite(path, tmp_path / "extra.zip", lambda m: m.update({"custody.json": m["custody.json"] + b" "})), [], 7,
         "INVALID (content): custody.json was modified"),
    ]
    for file, options, code, message in cases:
        result = run(env, "package", "verify", str(file), *options)
        assert (result.returncode, result.stdout.splitlines()[0][: len(message)]) == (code, message), result.stdout


def test_verify_usage_errors_exit_2(package, tmp_path):
    env, path = package
    missing = run(env, "package", "verify", str(tmp_path / "nothing.zip"))
    assert missing.returncode == 2 and "is not a file" in missing.stderr
    not_a_key = tmp_path / "key.txt"
    not_a_key.write_text("hello\n")
    bad_key = run(env, "package", "verify", str(path), "--public-key", str(not_a_key))
    assert bad_key.returncode == 2 and "holds no PEM public key" in bad_key.stderr
    no_key = run(_env(tmp_path / "fresh"), "package", "verify", str(path))
    assert no_key.returncode == 2 and "has no signing key yet" in no_key.stderr


def test_public_key_prints_the_pem_its_key_id_and_fingerprint(package):
    env, path = package
    printed = run(env, "package", "public-key")
    assert printed.returncode == 0
    key = load_pem_public_key(printed.stdout.encode())
    raw = raw_public_bytes(key)
    assert f"key id: {hashlib.sha256(raw).hexdigest()[:16]}" in printed.stdout
    assert f"sha256 fingerprint: {hashlib.sha256(raw).hexdigest()}" in printed.stdout
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("manifest.json"))["key_id"] == hashlib.sha256(raw).hexdigest()[:16]


def test_keygen_writes_an_owner_only_key_and_never_overwrites_one(tmp_path):
    env = _env(tmp_path / "data")
    target = tmp_path / "keys" / "signing.pem"
    made = run(env, "package", "keygen", str(target))
    assert made.returncode == 0 and target.stat().st_mode & 0o777 == 0o600
    content = target.read_bytes()
    assert b"BEGIN PRIVATE KEY" in content and "BEGIN PUBLIC KEY" in made.stdout
    again = run(env, "package", "keygen", str(target))
    assert again.returncode == 1 and "already exists" in again.stderr and target.read_bytes() == content
    blocked = run(env, "package", "keygen", str(target / "under-a-file.pem"))
    assert blocked.returncode == 1 and "cannot write" in blocked.stderr
    # The new key is usable by production at once.
    used = run({**env, "BALISE_SIGNING_KEY_FILE": str(target)}, "package", "public-key")
    key_id = re.search(r"key id: ([0-9a-f]{16})", made.stdout).group(1)
    assert used.returncode == 0 and f"key id: {key_id}" in used.stdout
