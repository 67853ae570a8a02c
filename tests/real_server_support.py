"""A real `balise serve` (uvicorn) on loopback for the tests that need real HTTP framing, and a
raw socket to talk to it byte by byte."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import running_server


@contextmanager
def served(tmp_path: Path, db_url: str, **settings: str) -> Iterator[tuple[str, int]]:
    """(host, port) of `balise serve` on the test's database until the block ends."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env = {**base, "BALISE_ENV": "development", "BALISE_DATA_DIR": str(tmp_path / "data"),
           "BALISE_DATABASE_URL": db_url, "BALISE_FETCH_RESOLVER": "static", "BALISE_RUN_JOBS_IN_SERVER": "false",
           **settings}
    with running_server(env) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it does not)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def responses_in(data: bytes) -> int:
    return data.count(b"HTTP/1.1 ")
