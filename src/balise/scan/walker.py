"""Walking the scanned paths: regular files, and everything else recorded with a reason.

Paths are bytes (exact names). Symbolic links are never followed (a link that stays inside the
roots is recorded too: its target is scanned where it really is); broken links, link loops,
links out of the scanned roots, FIFOs, sockets and devices are recorded as skipped with the
reason; unreadable directories too. Nothing is opened for writing, nothing is followed out of
the roots. The walk is iterative (no recursion limit) and sorted by name.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from balise.scan.labels import display


@dataclass(frozen=True)
class Found:
    path: bytes
    size: int
    mtime_ns: int
    inode: int
    device: int


@dataclass(frozen=True)
class Skipped:
    path: bytes
    reason: str


def _special(mode: int) -> str | None:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe): not read"
    if stat.S_ISSOCK(mode):
        return "socket: not read"
    if stat.S_ISCHR(mode):
        return "character device: not read"
    if stat.S_ISBLK(mode):
        return "block device: not read"
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "special file: not read"
    return None


def _inside(target: bytes, roots: list[bytes]) -> bool:
    return any(target == r or target.startswith(r.rstrip(b"/") + b"/") for r in roots)


def _symlink_reason(path: bytes, roots: list[bytes]) -> str:
    try:
        target = os.readlink(path)
    except OSError as exc:
        return f"symbolic link (unreadable: {exc.strerror}): not followed"
    shown = display(target)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symbolic link loop (-> {shown}): not followed"
        return f"broken symbolic link (-> {shown}): not followed"
    real = os.path.realpath(path)
    if not _inside(real, roots):
        return f"symbolic link to outside the scanned paths (-> {shown}): not followed"
    return f"symbolic link (-> {shown}): not followed, its target is scanned in place"


def walk(roots: Iterable[bytes], exclude: Iterable[bytes] = ()) -> Iterator[Found | Skipped]:
    root_list = [os.path.abspath(r) for r in roots]
    real_roots = [os.path.realpath(r) for r in root_list]
    excluded = {os.path.realpath(e) for e in exclude}
    for root in root_list:
        try:
            st = os.lstat(root)
        except OSError as exc:
            yield Skipped(root, f"cannot stat: {exc.strerror}")
            continue
        if stat.S_ISLNK(st.st_mode):
            yield Skipped(root, _symlink_reason(root, real_roots))
            continue
        if stat.S_ISREG(st.st_mode):
            yield Found(root, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield Skipped(root, _special(st.st_mode) or "not a regular file")
            continue
        stack = [root]
        while stack:
            directory = stack.pop()
            if os.path.realpath(directory) in excluded:
                continue
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                yield Skipped(directory, f"cannot list directory: {exc.strerror}")
                continue
            subdirs = []
            for entry in entries:
                path = entry.path
                try:
                    est = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    yield Skipped(path, f"cannot stat: {exc.strerror}")
                    continue
                mode = est.st_mode
                if stat.S_ISLNK(mode):
                    yield Skipped(path, _symlink_reason(path, real_roots))
                elif stat.S_ISDIR(mode):
                    subdirs.append(path)
                elif stat.S_ISREG(mode):
                    yield Found(path, est.st_size, est.st_mtime_ns, est.st_ino, est.st_dev)
                else:
                    yield Skipped(path, _special(mode) or "special file: not read")
            stack.extend(reversed(subdirs))
