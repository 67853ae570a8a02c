"""The work done on a worker (a local process or a Dask worker): read, hash, open archives.

Pure functions of their arguments: :func:`process_batch` takes ``(file id, path bytes)`` pairs
and options and returns one JSON-ready record per file (archive members nested under
``members``), so the same code runs in a ``ProcessPoolExecutor`` and on a Dask cluster.

* Files are opened ``O_RDONLY | O_NOFOLLOW | O_NONBLOCK`` (+ ``O_NOATIME`` when allowed): a file
  swapped for a symlink or a FIFO after the walk is refused, never followed or waited on, and
  nothing is ever written to the scanned paths.
* Up to ``in_memory_bytes`` a file is read once into memory and hashed from there; larger
  files are streamed (constant memory) and their picture/video decoded from the open file
  descriptor (``/proc/self/fd/N``), so a 3 GB file costs 1 MiB of buffer.
* Archive members (zip, tar, tar.gz) are decompressed as streams into memory, or into an
  anonymous spooled temporary file in the private ``tmp_dir`` under ``--out`` when large; a
  member's name is only a label, never a file name. Decompression stops at ``max_member_bytes``
  per member and when an archive expands more than ``max_ratio`` times its compressed size
  (past ``ratio_floor`` bytes): a zip bomb is reported, not expanded.
* Pictures get their 8 dihedral PDQ hashes (rotations and mirrors; ``pdq`` and the other 7 in
  ``pdq_dihedral``) so that rotated or mirrored copies of known pictures match.
* Identical content inside one batch is perceptually hashed once (SHA-256 cache); the
  scheduler puts files of equal size in the same batch, so copies are found there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

from balise.detection.adapters.media_layout import describe
from balise.detection.adapters.media_hash import QUALITY_THRESHOLD, MediaError, hash_image, hash_video
from balise.scan.labels import member_label

CHUNK = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "max_depth": 3,
    "max_ratio": 100.0,
    "ratio_floor": 16 * 1024 * 1024,
    "max_member_bytes": 4 * 1024**3,
    "in_memory_bytes": 64 * 1024 * 1024,
    "video_max_seconds": 300.0,
    "video_max_frames": 100_000,
    "tmp_dir": None,
    "test_deny": None,  # tests only: paths (bytes) whose open raises EACCES
}


class _Hashers:
    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self.md5.update(chunk)
        self.sha1.update(chunk)
        self.sha256.update(chunk)
        self.size += len(chunk)

    def result(self) -> dict[str, Any]:
        return {"size": self.size, "md5": self.md5.hexdigest(), "sha1": self.sha1.hexdigest(),
                "sha256": self.sha256.hexdigest()}


def archive_kind(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tgz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _open_readonly(path: bytes, opts: dict[str, Any]) -> int:
    deny = opts.get("test_deny")
    if deny and path in deny:
        raise PermissionError(13, "Permission denied")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass  # O_NOATIME needs ownership; fall back (reading may update atime)
    return os.open(path, flags)


def process_batch(items: list[tuple[int, bytes]], opts: dict[str, Any]) -> list[dict[str, Any]]:
    o = {**DEFAULTS, **opts}
    if o.get("tmp_dir"):
        try:
            os.makedirs(o["tmp_dir"], mode=0o700, exist_ok=True)
        except OSError:
            o["tmp_dir"] = None  # a remote worker without the output directory: its own temp dir
    cache: dict[str, dict[str, Any]] = {}
    out = []
    for file_id, path in items:
        rec = process_file(path, o, cache)
        rec["id"] = file_id
        out.append(rec)
    return out


def process_file(path: bytes, o: dict[str, Any], cache: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    cache = {} if cache is None else cache
    rec: dict[str, Any] = {"hashed": 0}
    try:
        fd = _open_readonly(path, o)
    except OSError as exc:
        return {**rec, "status": "skipped", "error": f"cannot open: {_oserr(exc)}"}
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return {**rec, "status": "skipped", "error": "not a regular file (special file)"}
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb", buffering=0, closefd=False)
        try:
            if st.st_size <= o["in_memory_bytes"]:
                data = _read_all(f, o["in_memory_bytes"] + 1)
                if len(data) > o["in_memory_bytes"]:  # grew since fstat: stream instead
                    f.seek(0)
                    rec.update(_hash_stream(f, fd, path, o, cache, depth=0))
                else:
                    rec.update(_hash_bytes(data, path, o, cache, depth=0))
            else:
                rec.update(_hash_stream(f, fd, path, o, cache, depth=0))
        finally:
            f.close()
    except OSError as exc:
        return {**rec, "status": "skipped", "error": f"cannot read: {_oserr(exc)}"}
    finally:
        os.close(fd)
    return rec


def _oserr(exc: OSError) -> str:
    return f"{exc.strerror or exc} (errno {exc.errno})" if exc.errno else str(exc)


def _read_all(f: BinaryIO, limit: int) -> bytes:
    parts = []
    n = 0
    while n < limit and (chunk := f.read(min(CHUNK * 8, limit - n))):
        parts.append(chunk)
        n += len(chunk)
    return b"".join(parts)


def _hash_bytes(data: bytes, label: bytes, o: dict[str, Any], cache: dict, depth: int) -> dict[str, Any]:
    h = _Hashers()
    h.update(data)
    rec = h.result()
    rec["hashed"] = 1
    head = data[:512]
    rec.update(_content(rec, head, lambda: io.BytesIO(data), None, label, o, cache, depth, lambda: data))
    return rec


def _hash_stream(f: BinaryIO, fd: int | None, label: bytes, o: dict[str, Any], cache: dict, depth: int) -> dict[str, Any]:
    h = _Hashers()
    head = b""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = f.readinto(buf)
        if not n:
            break
        if len(head) < 512:
            head += bytes(view[: min(n, 512 - len(head))])
        h.update(view[:n])
    rec = h.result()
    rec["hashed"] = 1

    def reopen() -> BinaryIO:
        f.seek(0)
        return f

    fd_path = f"/proc/self/fd/{fd}" if fd is not None and os.path.exists(f"/proc/self/fd/{fd}") else None
    with contextlib.ExitStack() as stack:
        def whole() -> Any:
            # Large files are mapped, not read: the layout looks at a few places in them.
            if fd is not None and rec["size"]:
                return stack.enter_context(mmap.mmap(fd, 0, access=mmap.ACCESS_READ))
            return reopen().read()

        rec.update(_content(rec, head, reopen, fd_path, label, o, cache, depth, whole))
    return rec


def _content(rec: dict, head: bytes, reopen, fs_path: str | None, label: bytes, o: dict, cache: dict, depth: int,
             whole: Callable[[], Any]) -> dict:
    """Media type and perceptual hashes (or archive members) of content already hashed exactly.
    What is hashed is decided as for a report (media_layout.py): the picture wherever it
    starts, the bytes around it ignored and noted, a cut JPEG hashed as far as it decodes."""
    if rec["size"] == 0:
        return {"media_type": "other", "mime": None, "status": "empty", "error": "empty file (0 bytes)"}
    cached = cache.get(rec["sha256"])
    if cached is not None:
        return {**cached, "copy_in_batch": 1}
    kind = archive_kind(head)
    if kind:
        out: dict[str, Any] = {"media_type": "archive", "mime": f"application/{kind}", "status": "ok"}
        if depth >= o["max_depth"]:
            out.update(status="limit", error=f"nested archive not opened: depth limit {o['max_depth']} reached")
        else:
            members, err = _archive_members(kind, reopen(), rec["size"], label, o, cache, depth + 1)
            out["members"] = members
            if err:
                out.update(status="limit" if err.startswith("zip bomb") else "error", error=err)
        return out  # archives are not cached: their members are reported per archive
    out = {"media_type": "other", "mime": None}
    try:
        data = whole()
        layout = describe(data)
        out.update(media_type=layout.media_type, mime=layout.mime)
        if layout.notes:
            out["notes"] = layout.notes
        if layout.polyglot:
            out["polyglot"] = layout.also
        if layout.media_type == "image":
            source = (reopen() if fs_path is None else fs_path) if layout.whole else io.BytesIO(layout.media_bytes(data))
            # The 8 dihedral hashes come from the same DCT coefficients (no second decode), so
            # rotated and mirrored copies of a known picture match, as in the provider API.
            ih = hash_image(source, dihedral=True)
            out.update(pdq=ih.pdq, pdq_quality=ih.pdq_quality, width=ih.width, height=ih.height,
                       format=ih.format, status=ih.status)
            if ih.dihedral and (ih.pdq_quality or 0) >= QUALITY_THRESHOLD:
                # The other 7, in DIHEDRAL_NAMES[1:] order; a low-quality picture never matches.
                out["pdq_dihedral"] = [d.pdq for d in ih.dihedral[1:]]
        elif layout.media_type == "video":
            frames = _video(reopen, fs_path, o)
            out["vpdq"] = [[f.frame_number, f.quality, f.pdq, f.timestamp] for f in frames]
            out["frame_count"] = len(frames)
            out["status"] = "ok" if any(f.quality >= QUALITY_THRESHOLD for f in frames) else "low_quality"
        else:
            out["status"] = "ok"
    except MediaError as exc:
        out.update(status="error", error=str(exc))
    except OSError as exc:
        out.update(status="error", error=f"cannot read: {_oserr(exc)}")
    except MemoryError:
        out.update(status="error", error="out of memory while decoding")
    except Exception as exc:  # noqa: BLE001 - a hostile file must never stop the scan
        out.update(status="error", error=f"unexpected decoder failure: {type(exc).__name__}: {exc}")
    cache[rec["sha256"]] = out
    return out


def _video(reopen, fs_path: str | None, o: dict) -> list:
    kw = {"max_frames": o["video_max_frames"], "max_seconds": o["video_max_seconds"]}
    if fs_path is not None:
        return hash_video(fs_path, **kw)
    # An in-memory member: PyAV needs a file; an anonymous name in the private temp dir.
    src = reopen()
    fd, tmp = tempfile.mkstemp(prefix="member-", suffix=".bin", dir=o.get("tmp_dir"))
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        return hash_video(tmp, **kw)
    finally:
        os.unlink(tmp)


# --------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------


class _Bomb(Exception):
    pass


def _spool(o: dict) -> Any:
    return tempfile.SpooledTemporaryFile(max_size=o["in_memory_bytes"], dir=o.get("tmp_dir"))


def _member_record(label: bytes, src: BinaryIO, budget: dict, o: dict, cache: dict, depth: int,
                   compressed: int | None) -> dict[str, Any]:
    """Stream one member out of its archive (bounded), hash it, and look inside it."""
    h = _Hashers()
    head = b""
    sp = _spool(o)
    try:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            budget["out"] += len(chunk)
            if len(head) < 512:
                head += chunk[: 512 - len(head)]
            if h.size > o["max_member_bytes"]:
                raise _Bomb(f"zip bomb: member expands beyond the limit of {o['max_member_bytes']} bytes; stopped")
            if compressed is not None and h.size > o["ratio_floor"] and h.size > o["max_ratio"] * max(compressed, 1):
                raise _Bomb(f"zip bomb: member expands more than {o['max_ratio']:g} times its compressed size "
                            f"({compressed} bytes); stopped after {h.size} bytes")
            if budget["out"] > budget["limit"]:
                raise _Bomb(f"zip bomb: archive expands more than {o['max_ratio']:g} times its size; stopped")
            sp.write(chunk)
        rec = h.result()
        rec["hashed"] = 1

        def reopen() -> BinaryIO:
            sp.seek(0)
            return sp

        def whole() -> Any:
            if h.size <= o["in_memory_bytes"]:
                return reopen().read()
            return stack.enter_context(mmap.mmap(sp.fileno(), 0, access=mmap.ACCESS_READ))

        with contextlib.ExitStack() as stack:
            rec.update(_content(rec, head, reopen, None, label, o, cache, depth, whole))
        return rec
    finally:
        sp.close()


def _archive_members(kind: str, f: BinaryIO, size: int, label: bytes, o: dict, cache: dict, depth: int
                     ) -> tuple[list[dict[str, Any]], str | None]:
    members: list[dict[str, Any]] = []
    budget = {"out": 0, "limit": max(o["ratio_floor"], o["max_ratio"] * max(size, 1))}

    def add(name: str | bytes, rec: dict[str, Any]) -> None:
        rec["label"] = member_label(label, name)
        rec["depth"] = depth
        nested = rec.pop("members", None)
        members.append(rec)
        if nested:
            members.extend(nested)

    try:
        if kind == "zip":
            with zipfile.ZipFile(f) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    name = info.orig_filename
                    if info.flag_bits & 0x1:
                        add(name, {"hashed": 0, "status": "skipped", "error": "encrypted archive member"})
                        continue
                    try:
                        with zf.open(info) as src:
                            rec = _member_record(member_label(label, name), src, budget, o, cache, depth, info.compress_size)
                    except _Bomb as exc:
                        add(name, {"hashed": 0, "status": "skipped", "error": str(exc)})
                        if budget["out"] > budget["limit"]:
                            return members, str(exc)
                        continue
                    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
                        add(name, {"hashed": 0, "status": "skipped", "error": f"corrupt archive member: {exc}"})
                        continue
                    add(name, rec)
        else:
            with tarfile.open(fileobj=f, mode="r|*") as tf:
                for info in tf:
                    if info.isdir():
                        continue
                    name = info.name
                    if not info.isfile():
                        what = "link" if (info.issym() or info.islnk()) else "special file"
                        add(name, {"hashed": 0, "status": "skipped", "error": f"archive member is a {what}: not followed"})
                        continue
                    src = tf.extractfile(info)
                    if src is None:
                        continue
                    try:
                        rec = _member_record(member_label(label, name), src, budget, o, cache, depth, None)
                    except _Bomb as exc:
                        add(name, {"hashed": 0, "status": "skipped", "error": str(exc)})
                        return members, str(exc)
                    add(name, rec)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError, RuntimeError) as exc:
        return members, f"corrupt archive: {type(exc).__name__}: {exc}"
    return members, None


__all__ = ["DEFAULTS", "archive_kind", "process_batch", "process_file"]
