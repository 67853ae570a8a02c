"""Paths as exact bytes, and how they are shown.

A path is kept as the bytes the file system gave (``os.fsencode``), so a name that is not
UTF-8 survives exactly. Archive members are labelled ``<archive path>!/<member name>``; a
member's name is only a label (never used to create a file)."""

from __future__ import annotations

import base64
import os

MEMBER_SEP = b"!/"


def to_bytes(path: str | bytes | os.PathLike) -> bytes:
    return os.fsencode(path)


def display(path: bytes) -> str:
    """Readable text: UTF-8, undecodable bytes shown as U+FFFD (use ``b64`` for the exact bytes)."""
    return path.decode("utf-8", "replace")


def exact_text(path: bytes) -> str:
    """Lossless text (surrogateescape): ``os.fsencode(exact_text(p)) == p``."""
    return path.decode("utf-8", "surrogateescape")


def b64(path: bytes) -> str:
    return base64.b64encode(path).decode("ascii")


def is_utf8(path: bytes) -> bool:
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def member_label(container: bytes, name: str | bytes) -> bytes:
    raw = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
    return container + MEMBER_SEP + raw
