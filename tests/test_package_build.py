"""An evidence package built from a real report (filed through the provider API, triaged,
assessed and forwarded) holds everything the centre knows about it, is signed, verifies, and
is written into the audit chain with the SHA-256 of the zip."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EvidencePackage, Report, User
from balise.casework.assessment import Decision
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import ActorType
from balise.domain.packages import canonical_json
from balise.evidence.package_verify import verify_package
from balise.evidence.packages import PackageError
from tests.helpers import auth, make_user
from tests.vectors import vectors_dir

OPERATOR = Actor(ActorType.SYSTEM, "cli", "test operator")


def _bridge() -> bytes:
    return (vectors_dir() / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg").read_bytes()


def _scene() -> bytes:
    return (vectors_dir() / "pdq" / "data" / "reg-test-input" / "labelme-subset" / "q0122.jpg").read_bytes()


FULL_REPORT = {
    "reported_at": "2026-11-23T10:00:00+01:00",
    "signature": "provider-signature-DEMO",
    "type": "known_csam",
    "service": {"type": "hosting", "url": "https://platform.example/u/123"},
    "awareness": {"source": "user_flag"},
    "content_removed": True,
    "user_decision": "suspend",
    "reported_elsewhere": {"reported": True, "body": "NCMEC", "reference": "CT-DEMO-1"},
    "urgent": True,
    "imminent_threat": False,
    "provider": {"contact_point": {"name": "Trust & Safety", "email": "ts@platform.example"},
                 "legal_representative": "DEMO Legal Rep, Brussels"},
    "victims": [{"age_band": "7-12", "sex": "unknown", "description": "DEMO victim description"}],
    "geolocation": {"postal_code": "1000", "country": "BE", "latitude": 50.85, "longitude": 4.35},
    "persons": [{"role": "reported_user", "display_name": "demo_uploader",
                 "identifiers": [{"type": "ip", "value": "192.0.2.7", "observed_at": "2026-11-22T21:15:00+01:00",
                                  "port": 51234, "event": "upload"},
                                 {"type": "email", "value": "uploader@example.test"}]}],
    "additional_info": "DEMO report for the package tests",
    "items": [
        {"kind": "media", "file": "known", "metadata": {"created_at": "2026-11-20T08:00:00+01:00"}},
        {"kind": "media", "file": "new"},
        {"kind": "hash_only", "hashes": {"md5": "0123456789abcdef0123456789abcdef"}},
    ],
}
CLASSIFICATION = {"interpol_baseline": True, "ncmec_category": "A2", "youngest_age_band": "7-12"}


@pytest.fixture
def forwarded(client, provider, balise) -> uuid.UUID:
    """A report filed with two benign images (one matching a known indicator by MD5), triaged,
    the second image classified by an analyst, and the report forwarded."""
    _, key = provider
    with balise.db.transaction() as s:
        balise.indicators.add(s, Actor.system("test"), algorithm=Algorithm.MD5, value=hashlib.md5(_bridge()).hexdigest(),
                              kind=IndicatorKind.KNOWN_CSAM, provenance={"test": "DEMO"},
                              classification={"ncmec_category": "A1"})
    r = client.post("/api/v1/reports", data={"report": json.dumps(FULL_REPORT)}, headers=auth(key),
                    files=[("known", ("bridge.jpg", _bridge(), "image/jpeg")), ("new", ("scene.jpg", _scene(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    report_id = uuid.UUID(r.json()["id"])
    balise.run_jobs()
    make_user(balise, "ana", "analyst")
    with balise.db.transaction() as s:
        ana = s.execute(select(User).where(User.username == "ana")).scalar_one()
        report = s.get(Report, report_id)
        assert report.state == "in_assessment", report.missing_fields
        balise.assessment.claim(s, ana, report_id)
        new_item = report.items[1]
        balise.assessment.classify(s, ana, new_item.id, revision=new_item.revision, outcome="illegal",
                                   classification=CLASSIFICATION)
    with balise.db.transaction() as s:
        ana = s.execute(select(User).where(User.username == "ana")).scalar_one()
        revision = s.get(Report, report_id).revision
        balise.assessment.decide(s, ana, report_id, revision=revision, decision=Decision("forward", text="DEMO"))
    return report_id


def _build(balise, report_id, include_media=False, **kwargs):
    with balise.db.transaction() as s:
        return balise.packages.build(s, OPERATOR, report_id, include_media=include_media, **kwargs)


def _member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_report_json_holds_every_annex_iii_field_persons_items_assessments_and_history(balise, forwarded):
    built = _build(balise, forwarded)
    report = json.loads(_member(built.path, "report.json"))["report"]
    assert report["id"] == str(forwarded) and report["state"] == "forwarded_europol_and_state" and report["urgent"] is True
    annex = report["annex_iii"]
    assert annex["provider"]["organisation"]["name"] == "Test Provider"
    assert annex["provider"]["contact_point"] == {"name": "Trust & Safety", "email": "ts@platform.example"}
    assert annex["provider"]["legal_representative"] == "DEMO Legal Rep, Brussels"
    assert annex["reported_at"] == "2026-11-23T09:00:00.000000Z" and annex["reported_at_timezone"] == "+01:00"
    assert annex["signature"] == "provider-signature-DEMO"
    assert annex["type"] == "known_csam"
    assert annex["service"] == {"type": "hosting", "url": "https://platform.example/u/123"}
    assert annex["awareness"] == {"source": "user_flag", "detail": None}
    assert annex["reported_elsewhere"] == {"reported": True, "body": "NCMEC", "reference": "CT-DEMO-1"}
    assert annex["content_removed"] is True and annex["user_decision"] == "suspend"
    assert annex["urgent"] is True and annex["imminent_threat"] is False
    assert annex["victims"] == [{"age_band": "7-12", "sex": "unknown", "description": "DEMO victim description"}]
    assert annex["geolocation"]["country"] == "BE" and annex["geolocation"]["postal_code"] == "1000"
    assert annex["additional_info"] == "DEMO report for the package tests"

    (person,) = report["persons"]
    assert person["display_name"] == "demo_uploader" and person["role"] == "reported_user"
    ip, email = person["identifiers"]
    assert ip == {"type": "ip", "value": "192.0.2.7", "observed_at": "2026-11-22T20:15:00.000000Z",
                  "observed_timezone": "+01:00", "port": 51234, "event": "upload"}
    assert email["value"] == "uploader@example.test"

    known, new, hash_only = report["items"]
    assert known["hashes"]["sha256"] == hashlib.sha256(_bridge()).hexdigest()
    assert known["hashes"]["md5"] == hashlib.md5(_bridge()).hexdigest() and known["hashes"]["pdq"]
    assert known["metadata"] == {"created_at": "2026-11-20T08:00:00+01:00"}  # Annex III 4, as the provider sent it
    assert known["detection"]["matched"] is True and known["detection"]["matches"][0]["algorithm"] == "md5"
    # Re-used from the confirmed indicator by triage, not by a person.
    assert known["assessment"]["outcome"] == "illegal" and known["assessment"]["classification"] == {"ncmec_category": "A1"}
    assert known["assessment"]["assessed_by"] == {"type": "system", "id": "triage"}
    assert new["detection"]["matched"] is False
    assert new["assessment"]["outcome"] == "illegal" and new["assessment"]["classification"] == CLASSIFICATION
    assert new["assessment"]["assessed_by"]["username"] == "ana" and new["assessment"]["assessed_at"]
    assert hash_only["kind"] == "hash_only" and hash_only["hashes"]["md5"] == "0123456789abcdef0123456789abcdef"
    assert all(item["media_file"] is None for item in report["items"])

    assert [(h["from"], h["to"]) for h in report["history"]] == [
        (None, "received"), ("received", "in_assessment"), ("in_assessment", "forwarded_europol_and_state")]
    assert report["history"][-1]["by"]["username"] == "ana" and report["history"][-1]["at"]
    assert report["outcome"]["outcome"] == "forwarded" and report["outcome"]["decided_by"]["username"] == "ana"
    assert [d["event"] for d in report["decisions"]] == ["item:assess", "report:decide"]
    assert all(d["by"]["username"] == "ana" and d["audit_seq"] > 0 for d in report["decisions"])


def test_a_package_without_media_reads_no_media_and_verifies(balise, forwarded):
    built = _build(balise, forwarded)
    with zipfile.ZipFile(built.path) as zf:
        assert sorted(zf.namelist()) == ["custody.json", "manifest.json", "manifest.sig", "report.json"]
    manifest = json.loads(_member(built.path, "manifest.json"))
    assert manifest["includes_media"] is False and manifest["report_id"] == str(forwarded)
    summary = verify_package(built.path, [balise.signer.public_key])
    assert summary.package_id == built.package_id and summary.media_files == 0
    with balise.db.sessions() as s:
        reads = s.execute(select(AuditRecord).where(AuditRecord.event_type == "media:read",
                                                    AuditRecord.purpose.contains(built.package_id))).all()
    assert reads == []


def test_media_in_the_package_are_the_original_bytes_and_each_read_is_audited(balise, forwarded):
    built = _build(balise, forwarded, include_media=True)
    bridge, scene = _bridge(), _scene()
    names = {f"media/{hashlib.sha256(data).hexdigest()}.jpg": data for data in (bridge, scene)}
    with zipfile.ZipFile(built.path) as zf:
        for name, data in names.items():
            assert zf.read(name) == data
    report = json.loads(_member(built.path, "report.json"))["report"]
    assert [i["media_file"] for i in report["items"]] == [*names, None]
    assert verify_package(built.path, [balise.signer.public_key]).media_files == 2
    with balise.db.sessions() as s:
        reads = s.execute(select(AuditRecord).where(AuditRecord.event_type == "media:read",
                                                    AuditRecord.purpose.contains(built.package_id))).scalars().all()
        people = s.execute(select(AuditRecord).where(AuditRecord.event_type == "person:read",
                                                     AuditRecord.purpose.contains(built.package_id))).scalars().all()
    assert sorted(r.subject_id for r in reads) == sorted(hashlib.sha256(d).hexdigest() for d in (bridge, scene))
    assert all(r.actor_id == "cli" for r in reads) and len(people) == 1


def test_the_build_event_carries_the_zip_hash_and_custody_names_that_event(balise, forwarded):
    built = _build(balise, forwarded)
    assert built.sha256 == hashlib.sha256(built.path.read_bytes()).hexdigest()
    assert built.size == built.path.stat().st_size and built.path.name == f"{built.package_id}.zip"
    custody = json.loads(_member(built.path, "custody.json"))
    (event,) = custody["events"]
    assert event["kind"] == "built" and event["by"] == {"type": "system", "id": "cli", "label": "test operator"}
    assert event["system"]["centre"] == balise.settings.centre_name and event["system"]["host"]
    assert event["signing_key_id"] == balise.signer.key_id
    with balise.db.transaction() as s:
        record = s.execute(select(AuditRecord).where(AuditRecord.event_type == "package:build")).scalar_one()
        before = s.get(AuditRecord, record.seq - 1)
        assert event["audit"] == {"event": "package:build", "seq": record.seq, "prev_mac": before.mac}
        assert record.subject_id == built.package_id
        assert record.details["sha256"] == built.sha256 and record.details["report"] == str(forwarded)
        row = s.get(EvidencePackage, uuid.UUID(built.package_id))
        assert (row.sha256, row.size, row.audit_seq, row.report_id) == (built.sha256, built.size, record.seq, forwarded)
        assert balise.audit.verify(s).ok


def test_json_files_are_canonical_sorted_utf8(balise, forwarded):
    built = _build(balise, forwarded)
    for name in ("report.json", "custody.json", "manifest.json"):
        data = _member(built.path, name)
        assert data == canonical_json(json.loads(data.decode("utf-8")))
    assert "Trust & Safety" in _member(built.path, "report.json").decode("utf-8")


def test_the_zip_is_written_only_with_owner_access_into_the_given_directory(balise, forwarded, tmp_path):
    out = tmp_path / "export"
    built = _build(balise, forwarded, output_dir=out)
    assert built.path.parent == out and [p.name for p in out.iterdir()] == [built.path.name]
    assert built.path.stat().st_mode & 0o777 == 0o600


def test_a_failed_build_leaves_no_file_and_no_record(balise, forwarded, tmp_path):
    # The vault lost the first image: the build must stop and keep nothing, not a partial zip.
    sha = hashlib.sha256(_bridge()).hexdigest()
    (balise.settings.vault_path / sha[:2] / sha[2:4] / f"{sha}.blv").unlink()
    out = tmp_path / "export"
    with pytest.raises(PackageError, match="the vault has no media"):
        _build(balise, forwarded, include_media=True, output_dir=out)
    assert list(out.iterdir()) == []
    with balise.db.sessions() as s:
        assert s.execute(select(EvidencePackage)).first() is None
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type == "package:build")).first() is None


def test_a_rolled_back_build_is_discarded(balise, forwarded):
    built = None
    with pytest.raises(RuntimeError), balise.db.transaction() as s:
        built = balise.packages.build(s, OPERATOR, forwarded)
        assert built.path.exists()
        raise RuntimeError("the caller's transaction fails after the build")
    balise.packages.discard(built)
    assert not built.path.exists()
    kept = _build(balise, forwarded)
    balise.packages.discard(kept)  # committed: the record protects the file
    assert kept.path.exists()


def test_bad_requests_are_refused_and_change_nothing(balise, forwarded, tmp_path):
    with pytest.raises(PackageError, match="no report"):
        _build(balise, uuid.uuid4())
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the output directory should be")
    with pytest.raises(PackageError, match="cannot create the output directory"):
        _build(balise, forwarded, output_dir=blocker / "packages")
    with balise.db.transaction() as s:
        s.get(Report, forwarded).state = "manifestly_unfounded"
    with pytest.raises(PackageError, match="manifestly_unfounded"):
        _build(balise, forwarded)
    assert not balise.settings.package_path.exists() or list(balise.settings.package_path.iterdir()) == []
    with balise.db.sessions() as s:
        assert s.execute(select(AuditRecord).where(AuditRecord.event_type.in_(["package:build", "person:read"]))).first() is None


def test_delivery_and_receipt_extend_the_custody_log(balise, forwarded):
    built = _build(balise, forwarded)
    pid = uuid.UUID(built.package_id)
    with balise.db.transaction() as s:
        balise.packages.record_custody(s, OPERATOR, pid, "delivered", "Europol (DEMO)", {"channel": "export directory"})
        balise.packages.record_custody(s, OPERATOR, pid, "received", "Europol (DEMO)")
    with balise.db.transaction() as s:
        log = balise.packages.custody_log(s, pid)
        assert [e["kind"] for e in log["events"]] == ["built", "delivered", "received"]
        assert log["events"][1]["recipient"] == "Europol (DEMO)" and log["sha256"] == built.sha256
        seqs = [e["audit_seq"] for e in log["events"]]
        custody_events = s.execute(select(AuditRecord).where(AuditRecord.event_type == "package:custody")
                                   .order_by(AuditRecord.seq)).scalars().all()
        assert [r.seq for r in custody_events] == seqs[1:]
        assert custody_events[0].details["details"] == {"channel": "export directory"}
    with pytest.raises(PackageError, match="unknown custody event"), balise.db.transaction() as s:
        balise.packages.record_custody(s, OPERATOR, pid, "lost")
    with pytest.raises(PackageError, match="no evidence package"), balise.db.transaction() as s:
        balise.packages.record_custody(s, OPERATOR, uuid.uuid4(), "delivered")
    with pytest.raises(PackageError, match="recipient"), balise.db.transaction() as s:
        balise.packages.record_custody(s, OPERATOR, pid, "delivered", "   ")
    with balise.db.sessions() as s:
        assert len(balise.packages.custody_log(s, pid)["events"]) == 3
