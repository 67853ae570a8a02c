"""The verification procedure docs/evidence-packages.md gives to recipients without Balise
(OpenSSL, sha256sum, jq) is run exactly as printed there: it accepts a real package and stops
on a tampered one. The tools are required: a missing one fails the test."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.intake.filing import UploadedFile
from balise.intake.report_schema import ReportIn
from tests.conftest import make_settings
from tests.helpers import minimal_report
from tests.vectors import vectors_dir

DOC = Path(__file__).resolve().parents[1] / "docs" / "evidence-packages.md"


def _script() -> str:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- standard-tools-begin -->\n```sh\n(.*?)```\n<!-- standard-tools-end -->", text, re.S)
    assert block, "the standard-tools procedure is missing from docs/evidence-packages.md"
    return block.group(1)


@pytest.fixture(scope="module")
def package(tmp_path_factory, sqlite_template) -> tuple[Path, Path]:
    for tool in ("bash", "openssl", "sha256sum", "jq", "unzip", "base64"):
        assert shutil.which(tool), f"{tool} is needed to run the documented verification"
    root = tmp_path_factory.mktemp("std")
    shutil.copy(sqlite_template, root / "balise.sqlite3")
    app = Balise(make_settings(root, f"sqlite:///{root / 'balise.sqlite3'}"))
    report = ReportIn.model_validate(minimal_report(items=[{"kind": "media", "file": "photo"}]))
    image = (vectors_dir() / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    files = {"photo": UploadedFile("photo", io.BytesIO(image), "photo.jpg", "image/jpeg")}
    app.intake.prepare_files(report, files)
    filed = app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files=files,
                            fingerprint="std", idempotency_key=None)
    with app.db.transaction() as s:
        path = app.packages.build(s, Actor.system("test"), filed.report.id, include_media=True).path
    pub = root / "centre.pub"
    pub.write_text(app.signer.public_pem)
    app.close()
    return path, pub


def _run(package: Path, pubkey: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", _script()], env={"PATH": "/usr/bin:/bin", "PACKAGE": str(package),
                          "PUBKEY": str(pubkey), "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=60)


def _rewrite(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    change(members)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return target


def test_the_documented_procedure_accepts_a_real_package(package, tmp_path):
    path, pub = package
    result = _run(path, pub, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
    assert len(re.findall(r": OK$", result.stdout, re.M)) == 3
    assert result.stdout.rstrip().endswith("package verified")


def test_the_documented_procedure_stops_on_a_modified_file(package, tmp_path):
    path, pub = package
    bad = _rewrite(path, tmp_path / "bad.zip", lambda m: m.update({"report.json": m["report.json"] + b" "}))
    result = _run(bad, pub, tmp_path)
    assert result.returncode != 0 and "report.json: FAILED" in result.stdout
    assert "package verified" not in result.stdout


def test_the_documented_procedure_stops_on_an_edited_manifest(package, tmp_path):
    path, pub = package
    bad = _rewrite(path, tmp_path / "bad.zip", lambda m: m.update({"manifest.json": m["manifest.json"].replace(b"true", b"false", 1)}))
    result = _run(bad, pub, tmp_path)
    assert result.returncode != 0 and "Signature Verification Failure" in result.stdout + result.stderr


def test_the_documented_procedure_stops_on_an_unlisted_file(package, tmp_path):
    path, pub = package
    bad = _rewrite(path, tmp_path / "bad.zip", lambda m: m.update({"notes.txt": b"added later"}))
    result = _run(bad, pub, tmp_path)
    assert result.returncode != 0 and "notes.txt" in result.stdout and "package verified" not in result.stdout


def test_the_documented_procedure_stops_on_another_key(package, tmp_path):
    from balise.evidence.adapters.signing import write_new_key

    path, _ = package
    other = tmp_path / "other.pub"
    other.write_text(write_new_key(tmp_path / "other.pem").public_pem)
    result = _run(path, other, tmp_path)
    assert result.returncode != 0 and "Signature Verified" not in result.stdout
