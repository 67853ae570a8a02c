"""Files that appear whole or not at all, and never over an existing one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_new_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` under a temporary name, flushed to disk, then link it into
    place: a reader sees the whole file or none, and ``link()`` fails with FileExistsError rather
    than replace a file another process created meanwhile."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
