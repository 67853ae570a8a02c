"""An evidence package of a report filed through the NCMEC-compatible API carries the original
CyberTipline <report> and every <fileDetails> byte for byte (ncmec/report.xml,
ncmec/file-details-<fileId>.xml), listed in the signed manifest with their SHA-256 and named in
report.json; each read is audited; a changed original fails verification. Reports from other
channels have none."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, IspwsFile, IspwsReport
from balise.domain.model import ActorType
from balise.evidence.package_verify import PackageInvalid, Problem, verify_package
from tests.helpers import auth as bearer
from tests.helpers import make_provider, minimal_report
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    file_details,
    fileinfo,
    finish,
    generated,
    make_ispws_provider,
    open_report,
    upload_ok,
)

OPERATOR = Actor(ActorType.SYSTEM, "cli", "test operator")


@pytest.fixture
def filed(client, balise):
    _, user, password = make_ispws_provider(balise)
    ispws = basic(user, password)
    document = generated()
    ct_id = open_report(client, ispws, document)
    details = {}
    for n in range(2):
        file_id = upload_ok(client, ispws, ct_id, demo_jpeg(100 + n))
        details[file_id] = file_details(ct_id, file_id, classification=("A1", "B2")[n]).encode()
        assert code(fileinfo(client, ispws, details[file_id])) == 0
    upload_ok(client, ispws, ct_id, demo_jpeg(102))  # a file without details: nothing to carry
    assert code(finish(client, ispws, ct_id)) == 0
    balise.run_jobs()
    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, ct_id)
        items = {f.id: str(f.item_id) for f in session.execute(select(IspwsFile)).scalars()}
        return staged.report_id, ct_id, document, details, items


def build(balise, report_id):
    with balise.db.transaction() as session:
        return balise.packages.build(session, OPERATOR, report_id)


def test_the_package_carries_the_originals_listed_signed_and_named(balise, filed):
    report_id, ct_id, document, details, items = filed
    built = build(balise, report_id)
    with zipfile.ZipFile(built.path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    assert members["ncmec/report.xml"] == document
    for file_id, body in details.items():
        assert members[f"ncmec/file-details-{file_id}.xml"] == body
    assert not any(name.startswith("media/") for name in members)  # built without media

    manifest = json.loads(members["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    for name in [n for n in members if n.startswith("ncmec/")]:
        assert listed[name] == {"path": name, "size": len(members[name]),
                                "sha256": hashlib.sha256(members[name]).hexdigest()}
    summary = verify_package(built.path, [balise.signer.public_key])
    assert len(summary.files) == 2 + 1 + len(details)

    ncmec = json.loads(members["report.json"])["report"]["ncmec"]
    assert ncmec["cybertipline_report_id"] == ct_id
    assert ncmec["documents"][0] == {"path": "ncmec/report.xml", "document": "cybertipline_report", "file_id": None,
                                     "item_id": None, "size": len(document),
                                     "sha256": hashlib.sha256(document).hexdigest()}
    assert [(d["file_id"], d["item_id"], d["path"]) for d in ncmec["documents"][1:]] == [
        (f, items[f], f"ncmec/file-details-{f}.xml") for f in details]

    with balise.db.sessions() as session:
        reads = session.execute(select(AuditRecord.subject_id).where(
            AuditRecord.event_type == "media:read",
            AuditRecord.purpose == f"evidence package {built.package_id} for law enforcement")).scalars().all()
    assert sorted(reads) == sorted(hashlib.sha256(b).hexdigest() for b in [document, *details.values()])


def test_a_changed_original_fails_verification(balise, filed, tmp_path):
    report_id, *_ = filed
    built = build(balise, report_id)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(built.path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "ncmec/report.xml":
                data = data.replace(b"DEMO-platform-1", b"DEMO-platform-X")
            target.writestr(info, data)
    with pytest.raises(PackageInvalid) as caught:
        verify_package(tampered, [balise.signer.public_key])
    assert caught.value.problem is Problem.CONTENT
    assert caught.value.message.startswith("ncmec/report.xml was modified")


def test_a_report_from_the_json_api_has_no_originals(client, balise):
    _, key = make_provider(balise, "DEMO JSON provider")
    report_id = client.post("/api/v1/reports", json=minimal_report(), headers=bearer(key)).json()["id"]
    built = build(balise, uuid.UUID(report_id))
    with zipfile.ZipFile(built.path) as zf:
        assert not [n for n in zf.namelist() if n.startswith("ncmec/")]
        assert json.loads(zf.read("report.json"))["report"]["ncmec"] is None
