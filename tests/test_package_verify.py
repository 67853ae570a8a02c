"""The verifier accepts a package exactly as built and names the first problem of every
tampered, corrupt or hostile one. The packages are real: built by the service from reports
filed through the intake; each test then changes one thing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.domain.packages import canonical_json
from balise.evidence.package_verify import Limits, PackageInvalid, Problem, verify_package
from balise.intake.filing import UploadedFile
from balise.intake.report_schema import ReportIn
from tests.conftest import make_settings
from tests.helpers import minimal_report
from tests.vectors import vectors_dir

IMAGE = vectors_dir() / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg"


class Packages:
    def __init__(self, first: Path, second: Path, key) -> None:  # type: ignore[no-untyped-def]
        self.first, self.second, self.key = first, second, key


@pytest.fixture(scope="module")
def built(tmp_path_factory, sqlite_template) -> Packages:
    """Two packages of two reports (the first with its media), signed by the centre's key."""
    root = tmp_path_factory.mktemp("packages")
    db = root / "balise.sqlite3"
    shutil.copy(sqlite_template, db)
    app = Balise(make_settings(root, f"sqlite:///{db}"))
    paths = []
    for index in range(2):
        report = ReportIn.model_validate(minimal_report(items=[{"kind": "media", "file": "photo"}]))
        files = {"photo": UploadedFile("photo", io.BytesIO(IMAGE.read_bytes()), "photo.jpg", "image/jpeg")}
        app.intake.prepare_files(report, files)
        filed = app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files=files,
                                fingerprint=f"f{index}", idempotency_key=None)
        with app.db.transaction() as s:
            paths.append(app.packages.build(s, Actor.system("test"), filed.report.id, include_media=index == 0).path)
    key = app.signer
    app.close()
    return Packages(paths[0], paths[1], key)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _write(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _rewrite(source: Path, target: Path, change) -> Path:  # type: ignore[no-untyped-def]
    members = _members(source)
    change(members)
    return _write(target, list(members.items()))


def _sign(members: dict[str, bytes], manifest: dict, key) -> None:  # type: ignore[no-untyped-def]
    members["manifest.json"] = canonical_json(manifest)
    members["manifest.sig"] = base64.b64encode(key.sign(members["manifest.json"])) + b"\n"


def _check(path: Path, built: Packages, limits: Limits = Limits()) -> PackageInvalid:
    with pytest.raises(PackageInvalid) as err:
        verify_package(path, [built.key.public_key], limits)
    return err.value


def test_an_untouched_package_is_valid(built):
    summary = verify_package(built.first, [built.key.public_key])
    manifest = json.loads(_members(built.first)["manifest.json"])
    assert summary.package_id == manifest["package_id"] and summary.key_id == built.key.key_id
    assert summary.media_files == 1 and len(summary.files) == 3


def test_a_key_rotation_keeps_old_packages_verifiable_with_both_keys_pinned(built):
    other = Ed25519PrivateKey.generate().public_key()
    assert verify_package(built.first, [other, built.key.public_key]).package_id


def test_a_modified_media_file_is_named(built, tmp_path):
    def change(m):
        name = next(n for n in m if n.startswith("media/"))
        m[name] = m[name][:-10] + b"0123456789"
    problem = _check(_rewrite(built.first, tmp_path / "p.zip", change), built)
    assert problem.problem is Problem.CONTENT and "media/" in problem.message and "was modified" in problem.message


def test_a_modified_report_json_is_named(built, tmp_path):
    def change(m):
        m["report.json"] = m["report.json"].replace(b'"urgent": false', b'"urgent": true', 1)
    problem = _check(_rewrite(built.first, tmp_path / "p.zip", change), built)
    assert problem.problem is Problem.CONTENT and problem.message.startswith("report.json was modified")


def test_an_added_file_is_named(built, tmp_path):
    def change(m):
        m["media/" + "0" * 64 + ".jpg"] = b"an extra picture"
    problem = _check(_rewrite(built.first, tmp_path / "p.zip", change), built)
    assert problem.problem is Problem.CONTENT and "0000000000000000" in problem.message and "not in the manifest" in problem.message


def test_a_removed_file_is_named(built, tmp_path):
    problem = _check(_rewrite(built.first, tmp_path / "p.zip", lambda m: m.pop("custody.json")), built)
    assert problem.problem is Problem.CONTENT and problem.message == "custody.json is listed in the manifest but missing from the package"


def test_a_removed_signature_or_manifest_is_named(built, tmp_path):
    problem = _check(_rewrite(built.first, tmp_path / "a.zip", lambda m: m.pop("manifest.sig")), built)
    assert problem.problem is Problem.MANIFEST and "no manifest.sig" in problem.message
    problem = _check(_rewrite(built.first, tmp_path / "b.zip", lambda m: m.pop("manifest.json")), built)
    assert problem.problem is Problem.MANIFEST and "no manifest.json" in problem.message


def test_an_edited_manifest_fails_the_signature(built, tmp_path):
    def change(m):
        m["manifest.json"] = m["manifest.json"].replace(b'"includes_media": true', b'"includes_media": false')
    problem = _check(_rewrite(built.first, tmp_path / "p.zip", change), built)
    assert problem.problem is Problem.SIGNATURE and "not a valid signature" in problem.message


def test_a_manifest_signed_by_another_key_is_refused(built, tmp_path):
    intruder = Ed25519PrivateKey.generate()
    # Re-signed by another key while still claiming the centre's key id.
    def claim(m):
        m["manifest.sig"] = base64.b64encode(intruder.sign(m["manifest.json"])) + b"\n"
    problem = _check(_rewrite(built.first, tmp_path / "a.zip", claim), built)
    assert problem.problem is Problem.SIGNATURE and "not a valid signature" in problem.message

    # Honestly naming its own key: that key is not trusted.
    from balise.evidence.adapters.signing import public_key_id

    def own(m):
        manifest = json.loads(m["manifest.json"])
        manifest["key_id"] = public_key_id(intruder.public_key())
        m["manifest.json"] = canonical_json(manifest)
        m["manifest.sig"] = base64.b64encode(intruder.sign(m["manifest.json"])) + b"\n"
    problem = _check(_rewrite(built.first, tmp_path / "b.zip", own), built)
    assert problem.problem is Problem.SIGNATURE and "not a trusted key" in problem.message


def test_a_report_json_swapped_from_another_package_is_named(built, tmp_path):
    other = _members(built.second)["report.json"]

    def swap(m):
        m["report.json"] = other
    problem = _check(_rewrite(built.first, tmp_path / "a.zip", swap), built)
    assert problem.problem is Problem.CONTENT and problem.message.startswith("report.json was modified")

    # Even a manifest re-signed over the swapped file (by someone holding the key) does not
    # make the mix-up pass: report.json names another package.
    def swap_and_resign(m):
        m["report.json"] = other
        manifest = json.loads(m["manifest.json"])
        for entry in manifest["files"]:
            if entry["path"] == "report.json":
                entry.update(size=len(other), sha256=hashlib.sha256(other).hexdigest())
        _sign(m, manifest, built.key)
    problem = _check(_rewrite(built.first, tmp_path / "b.zip", swap_and_resign), built)
    assert problem.problem is Problem.CONTENT and "belongs to another package" in problem.message


def test_a_truncated_zip_is_unreadable(built, tmp_path):
    data = built.first.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    problem = _check(cut, built)
    assert problem.problem is Problem.UNREADABLE and "not a readable zip" in problem.message


def test_a_file_that_is_not_a_zip_is_unreadable(built, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all\n" * 10)
    assert _check(junk, built).problem is Problem.UNREADABLE


def test_corrupt_member_data_is_unreadable(built, tmp_path):
    data = bytearray(built.first.read_bytes())
    with zipfile.ZipFile(built.first) as zf:
        media = next(i for i in zf.infolist() if i.filename.startswith("media/"))
    # Flip bytes inside the stored image, leaving the zip directory intact.
    start = media.header_offset + 30 + len(media.filename) + 1000
    data[start:start + 8] = bytes(b ^ 0xFF for b in data[start:start + 8])
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(data))
    problem = _check(corrupt, built)
    assert problem.problem is Problem.UNREADABLE and "corrupt" in problem.message and "media/" in problem.message


@pytest.mark.parametrize(("name", "reason"), [
    ("../evil.json", "climbs out of the package"),
    ("media/../../evil.jpg", "climbs out of the package"),
    ("/etc/passwd", "absolute member name"),
    ("C:/evil.json", "absolute member name"),
    ("..\\evil.json", "backslash"),
    ("media/./x.jpg", "outside the package format"),
    (".hidden", "outside the package format"),
])
def test_zip_slip_and_odd_names_are_refused(built, tmp_path, name, reason):
    members = list(_members(built.first).items()) + [(name, b"payload")]
    problem = _check(_write(tmp_path / "slip.zip", members), built)
    assert problem.problem is Problem.UNSAFE and problem.message.startswith("unsafe member name")
    assert reason in problem.message and repr(name) in problem.message


def test_duplicate_names_are_refused(built, tmp_path):
    members = list(_members(built.first).items())
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _write(tmp_path / "dup.zip", members + [("report.json", b"{}")])
    problem = _check(path, built)
    assert problem.problem is Problem.UNSAFE and "duplicate member name 'report.json'" in problem.message
    path = _write(tmp_path / "case.zip", members + [("Report.json", b"{}")])
    problem = _check(path, built)
    assert problem.problem is Problem.UNSAFE and "differ only in case" in problem.message


def test_a_symlink_member_is_refused(built, tmp_path):
    link = zipfile.ZipInfo("media/" + "1" * 64 + ".jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    members = list(_members(built.first).items()) + [(link, b"/etc/passwd")]
    problem = _check(_write(tmp_path / "link.zip", members), built)
    assert problem.problem is Problem.UNSAFE and "symbolic link" in problem.message


def test_an_encrypted_member_is_refused(built, tmp_path):
    path = _write(tmp_path / "enc.zip", list(_members(built.first).items()))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        directory = zf.start_dir
    # Set the "encrypted" flag of custody.json in the zip directory (zipfile cannot write one).
    entry = data.find(b"PK\x01\x02", directory)
    while data[entry + 46:entry + 46 + len(b"custody.json")] != b"custody.json":
        entry = data.find(b"PK\x01\x02", entry + 4)
    data[entry + 8] |= 0x1
    path.write_bytes(bytes(data))
    problem = _check(path, built)
    assert problem.problem is Problem.UNSAFE and "encrypted" in problem.message


def test_a_zip_bomb_member_is_refused_by_its_compression_ratio(built, tmp_path):
    bomb = ("media/" + "2" * 64 + ".bin", b"\0" * (16 * 1024 * 1024))
    problem = _check(_write(tmp_path / "bomb.zip", list(_members(built.first).items()) + [bomb]), built)
    assert problem.problem is Problem.UNSAFE and "expands" in problem.message and "zip bomb" in problem.message


def test_too_many_members_are_refused(built, tmp_path):
    members = list(_members(built.first).items())
    members += [(f"media/{i:064x}.bin", b"") for i in range(10_001 - len(members))]
    problem = _check(_write(tmp_path / "many.zip", members), built)
    assert problem.problem is Problem.UNSAFE and "10001 members; the limit is 10000" in problem.message


def test_a_declared_member_count_is_refused_before_the_directory_is_read(built, tmp_path):
    # Only the end record claims 60,000 entries: refused without building an object per entry.
    path = tmp_path / "claims.zip"
    data = bytearray(built.first.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60_000, 60_000)
    path.write_bytes(bytes(data))
    problem = _check(path, built)
    assert problem.problem is Problem.UNSAFE and "60000 members" in problem.message


def test_the_total_uncompressed_size_is_limited(built, tmp_path):
    problem = _check(built.first, built, Limits(max_total_bytes=100_000))
    assert problem.problem is Problem.UNSAFE and "more than 100000 bytes" in problem.message


def test_overlapping_members_are_refused(built, tmp_path):
    # Two directory entries pointing at the same data: the trick behind non-recursive zip bombs.
    path = _write(tmp_path / "overlap.zip", list(_members(built.first).items()) + [("media/" + "3" * 64 + ".bin", b"x" * 100)])
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        report_offset = zf.getinfo("report.json").header_offset
    last = data.rfind(b"PK\x01\x02")  # the directory entry of the member added last
    struct.pack_into("<I", data, last + 42, report_offset)
    path.write_bytes(bytes(data))
    problem = _check(path, built)
    assert problem.problem is Problem.UNSAFE and "overlap" in problem.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format="other-format"), "format is 'other-format'"),
        (lambda m: m.update(format_version=2), "format_version is 2"),
        (lambda m: m.pop("package_id"), "has no package_id"),
        (lambda m: m["files"].append({"path": "notes.txt", "size": 1, "sha256": "0" * 64}), "not a file of the package format"),
        (lambda m: m["files"].append(dict(m["files"][0])), "twice"),
        (lambda m: m["files"].append({"path": "../x.json", "size": 1, "sha256": "0" * 64}), "climbs out"),
        (lambda m: m["files"][0].update(sha256="XYZ"), "lowercase hex SHA-256"),
    ],
)
def test_a_malformed_manifest_is_named_even_when_signed(built, tmp_path, change, message):
    def edit(m):
        manifest = json.loads(m["manifest.json"])
        change(manifest)
        _sign(m, manifest, built.key)
    problem = _check(_rewrite(built.first, tmp_path / "m.zip", edit), built)
    assert problem.problem is Problem.MANIFEST and message in problem.message


def test_a_signature_that_is_not_base64_is_named(built, tmp_path):
    problem = _check(_rewrite(built.first, tmp_path / "s.zip", lambda m: m.update({"manifest.sig": b"***"})), built)
    assert problem.problem is Problem.MANIFEST and "not base64" in problem.message
