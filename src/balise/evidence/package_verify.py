"""Verify an evidence package: a pure function of the zip file and the public keys trusted.

It reads nothing else (no database, no settings), extracts nothing to disk and decompresses
no more than the sizes the archive declares, within limits, so that police can run it on a
file received from anywhere. The first problem found is raised as :class:`PackageInvalid`,
whose ``problem`` says which kind of check failed (and so which exit code the CLI uses).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import stat
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from balise.domain.packages import (
    CUSTODY_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MEDIA_NAME_RE,
    MEMBER_NAME_RE,
    NCMEC_NAME_RE,
    REPORT_FILE,
    SIGNATURE_ALGORITHM,
    SIGNATURE_FILE,
)
from balise.evidence.adapters.signing import public_key_id, verify_signature


class Problem(Enum):
    """Kinds of failure, in the order the checks run; the value is the CLI's exit code."""

    UNREADABLE = 3   # not a zip, truncated, or a member's data is corrupt
    UNSAFE = 4       # names, links, duplicates, encryption, or zip-bomb limits
    MANIFEST = 5     # manifest.json or manifest.sig missing or malformed
    SIGNATURE = 6    # not signed by a trusted key, or the manifest was changed
    CONTENT = 7      # a file differs from the manifest, is missing, or is not listed


class PackageInvalid(Exception):
    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Against zip bombs and resource exhaustion. The defaults fit any package Balise builds
    with its default limits (at most 1,000 items of 32 MiB)."""

    max_members: int = 10_000
    max_total_bytes: int = 64 * 1024**3
    # Uncompressed / compressed size of one member; checked for members above ratio_floor bytes.
    max_ratio: float = 100.0
    ratio_floor: int = 64 * 1024
    max_manifest_bytes: int = 16 * 1024**2
    max_json_bytes: int = 256 * 1024**2


@dataclass(frozen=True)
class PackageSummary:
    package_id: str
    report_id: str
    created_at: str
    centre: str
    key_id: str
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def media_files(self) -> int:
        return sum(1 for f in self.files if f["path"].startswith("media/"))

    @property
    def total_bytes(self) -> int:
        return sum(f["size"] for f in self.files)


def _fail(problem: Problem, message: str) -> PackageInvalid:
    return PackageInvalid(problem, message)


def _name_problem(name: str) -> str | None:
    if not name:
        return "an empty member name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"an absolute member name {name!r}"
    if "\\" in name:
        return f"a member name with a backslash {name!r}"
    parts = name.split("/")
    if ".." in parts:
        return f"a member name that climbs out of the package {name!r}"
    if not MEMBER_NAME_RE.fullmatch(name):
        return f"a member name outside the package format {name!r}"
    return None


def _check_declared_members(path: Path, limits: Limits) -> None:
    """Refuse an archive that declares too many members before zipfile builds an object for
    each of them (millions of tiny entries would exhaust memory before any other check)."""
    with open(path, "rb") as fp:
        # zipfile's own reader of the end-of-central-directory record (zip64 included).
        end = zipfile._EndRecData(fp)  # type: ignore[attr-defined]
    if end is None:
        raise zipfile.BadZipFile("no end of central directory record")
    declared = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
    if declared > limits.max_members:
        raise _fail(Problem.UNSAFE, f"the archive has {declared} members; the limit is {limits.max_members}")


def _check_structure(zf: zipfile.ZipFile, archive_size: int, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise _fail(Problem.UNSAFE, f"the archive has {len(infos)} members; the limit is {limits.max_members}")
    members: dict[str, zipfile.ZipInfo] = {}
    folded: dict[str, str] = {}
    total = 0
    for info in infos:
        name = info.filename
        problem = _name_problem(name) if not name.endswith("/") else _name_problem(name.rstrip("/"))
        if problem:
            raise _fail(Problem.UNSAFE, f"unsafe member name: {problem}")
        if name in members:
            raise _fail(Problem.UNSAFE, f"duplicate member name {name!r}")
        if name.lower() in folded:
            raise _fail(Problem.UNSAFE, f"member names {folded[name.lower()]!r} and {name!r} differ only in case")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _fail(Problem.UNSAFE, f"member {name!r} is a symbolic link")
        # Tools that record no file type (type bits 0) are fine; any other type is not a file.
        if info.is_dir() or stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise _fail(Problem.UNSAFE, f"member {name!r} is not a regular file")
        if info.flag_bits & 0x1:
            raise _fail(Problem.UNSAFE, f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _fail(Problem.UNSAFE, f"member {name!r} uses compression method {info.compress_type}, "
                                        "not stored or deflated")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _fail(Problem.UNSAFE, f"stored member {name!r} declares {info.file_size} bytes but holds "
                                        f"{info.compress_size}")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _fail(Problem.UNSAFE, f"the members decompress to more than {limits.max_total_bytes} bytes "
                                        "(zip bomb?)")
        if info.file_size > limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise _fail(Problem.UNSAFE, f"member {name!r} expands {ratio:.0f} times "
                                            f"(limit {limits.max_ratio:.0f}; zip bomb?)")
        members[name] = info
        folded[name.lower()] = name
    # Members whose data overlap (one compressed stream counted for several files) are the
    # classic way to make a small archive decompress to a huge size.
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for current, following in zip(ordered, ordered[1:]):
        if current.header_offset + 30 + current.compress_size > following.header_offset:
            raise _fail(Problem.UNSAFE, f"members {current.filename!r} and {following.filename!r} overlap (zip bomb?)")
    if ordered and ordered[-1].header_offset + 30 + ordered[-1].compress_size > archive_size:
        raise _fail(Problem.UNREADABLE, f"member {ordered[-1].filename!r} extends past the end of the file")
    return members


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, problem: Problem) -> bytes:
    if info.file_size > limit:
        raise _fail(problem, f"{info.filename} has {info.file_size} bytes; the limit is {limit}")
    try:
        with zf.open(info) as member:
            return member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(Problem.UNREADABLE, f"{info.filename} cannot be read (corrupt archive): {exc}") from exc


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(Problem.UNREADABLE, f"{info.filename} cannot be read (corrupt archive): {exc}") from exc
    return digest.hexdigest(), size


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(Problem.MANIFEST, f"manifest.json is not UTF-8 JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise _fail(Problem.MANIFEST, "manifest.json is not a JSON object")
    if manifest.get("format") != FORMAT_NAME:
        raise _fail(Problem.MANIFEST, f"manifest.json format is {manifest.get('format')!r}, not {FORMAT_NAME!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _fail(Problem.MANIFEST, f"manifest.json format_version is {manifest.get('format_version')!r}; "
                                      f"this verifier reads version {FORMAT_VERSION}")
    for name in ("package_id", "report_id", "created_at", "centre", "key_id"):
        if not isinstance(manifest.get(name), str) or not manifest[name]:
            raise _fail(Problem.MANIFEST, f"manifest.json has no {name}")
    if manifest.get("signature_algorithm") != SIGNATURE_ALGORITHM:
        raise _fail(Problem.MANIFEST, f"manifest.json signature_algorithm is {manifest.get('signature_algorithm')!r}, "
                                      f"not {SIGNATURE_ALGORITHM}")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise _fail(Problem.MANIFEST, "manifest.json has no files list")
    seen: set[str] = set()
    for index, entry in enumerate(files):
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("size"), int) and not isinstance(entry.get("size"), bool)
                and entry["size"] >= 0 and isinstance(entry.get("sha256"), str)
                and len(entry["sha256"]) == 64 and all(c in "0123456789abcdef" for c in entry["sha256"])):
            raise _fail(Problem.MANIFEST, f"manifest.json files[{index}] needs a path, a size and a lowercase hex SHA-256")
        path = entry["path"]
        problem = _name_problem(path)
        if problem:
            raise _fail(Problem.MANIFEST, f"manifest.json files[{index}] has {problem}")
        if path in (MANIFEST_FILE, SIGNATURE_FILE):
            raise _fail(Problem.MANIFEST, f"manifest.json lists {path}, which it cannot cover")
        if path in seen:
            raise _fail(Problem.MANIFEST, f"manifest.json lists {path} twice")
        if path not in (REPORT_FILE, CUSTODY_FILE) and not MEDIA_NAME_RE.fullmatch(path) \
                and not NCMEC_NAME_RE.fullmatch(path):
            raise _fail(Problem.MANIFEST, f"manifest.json lists {path!r}, which is not a file of the package format")
        seen.add(path)
    for required in (REPORT_FILE, CUSTODY_FILE):
        if required not in seen:
            raise _fail(Problem.MANIFEST, f"manifest.json does not list {required}")
    return manifest


def _check_signature(manifest: dict[str, Any], manifest_bytes: bytes, sig_bytes: bytes,
                     public_keys: Sequence[Ed25519PublicKey]) -> None:
    try:
        signature = base64.b64decode(sig_bytes.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(Problem.MANIFEST, "manifest.sig is not base64") from exc
    if len(signature) != 64:
        raise _fail(Problem.MANIFEST, f"manifest.sig decodes to {len(signature)} bytes; an Ed25519 signature has 64")
    by_id = {public_key_id(k): k for k in public_keys}
    key = by_id.get(manifest["key_id"])
    if key is None:
        given = ", ".join(sorted(by_id)) or "none"
        raise _fail(Problem.SIGNATURE, f"the package says it was signed by key {manifest['key_id']}, "
                                       f"which is not a trusted key (trusted: {given})")
    if not verify_signature(key, signature, manifest_bytes):
        raise _fail(Problem.SIGNATURE, f"manifest.sig is not a valid signature of manifest.json by key "
                                       f"{manifest['key_id']} (the manifest was changed or signed by another key)")


def _check_documents(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], manifest: dict[str, Any],
                     limits: Limits) -> None:
    """The signed files agree with the manifest that lists them (a report.json from another
    package would already have failed its hash; this names the mix-up if it did not)."""
    for name in (REPORT_FILE, CUSTODY_FILE):
        data = _read_small(zf, members[name], limits.max_json_bytes, Problem.CONTENT)
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _fail(Problem.CONTENT, f"{name} is not UTF-8 JSON: {exc}") from exc
        if not isinstance(document, dict) or document.get("package_id") != manifest["package_id"]:
            raise _fail(Problem.CONTENT, f"{name} belongs to another package than {manifest['package_id']}")
        report_id = (document.get("report") or {}).get("id") if name == REPORT_FILE else document.get("report_id")
        if report_id != manifest["report_id"]:
            raise _fail(Problem.CONTENT, f"{name} is about report {report_id}, the manifest about {manifest['report_id']}")


def verify_package(path: str | Path, public_keys: Sequence[Ed25519PublicKey], limits: Limits = Limits()) -> PackageSummary:
    """Check an evidence package; return its summary or raise PackageInvalid naming the first
    problem. ``public_keys`` are the keys trusted to have signed it (pinned by the recipient)."""
    path = Path(path)
    try:
        archive_size = path.stat().st_size
        _check_declared_members(path, limits)
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise _fail(Problem.UNREADABLE, f"{path.name} is not a readable zip file (truncated or corrupt): {exc}") from exc
    with zf:
        members = _check_structure(zf, archive_size, limits)
        for required in (MANIFEST_FILE, SIGNATURE_FILE):
            if required not in members:
                raise _fail(Problem.MANIFEST, f"the package has no {required}")
        manifest_bytes = _read_small(zf, members[MANIFEST_FILE], limits.max_manifest_bytes, Problem.MANIFEST)
        sig_bytes = _read_small(zf, members[SIGNATURE_FILE], 1024, Problem.MANIFEST)
        manifest = _parse_manifest(manifest_bytes)
        _check_signature(manifest, manifest_bytes, sig_bytes, public_keys)
        listed = {entry["path"]: entry for entry in manifest["files"]}
        for name, entry in listed.items():
            info = members.get(name)
            if info is None:
                raise _fail(Problem.CONTENT, f"{name} is listed in the manifest but missing from the package")
            if info.file_size != entry["size"]:
                raise _fail(Problem.CONTENT, f"{name} was modified: it has {info.file_size} bytes, "
                                             f"the manifest says {entry['size']}")
            digest, size = _hash_member(zf, info)
            if size != entry["size"]:
                raise _fail(Problem.CONTENT, f"{name} was modified: it has {size} bytes, the manifest says {entry['size']}")
            if digest != entry["sha256"]:
                raise _fail(Problem.CONTENT, f"{name} was modified: its SHA-256 is {digest}, "
                                             f"the manifest says {entry['sha256']}")
        unlisted = sorted(set(members) - set(listed) - {MANIFEST_FILE, SIGNATURE_FILE})
        if unlisted:
            raise _fail(Problem.CONTENT, f"{unlisted[0]} is in the package but not in the manifest"
                                         + (f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else ""))
        _check_documents(zf, members, manifest, limits)
    return PackageSummary(
        package_id=manifest["package_id"], report_id=manifest["report_id"], created_at=manifest["created_at"],
        centre=manifest["centre"], key_id=manifest["key_id"],
        files=[{"path": e["path"], "size": e["size"], "sha256": e["sha256"]} for e in manifest["files"]],
    )
