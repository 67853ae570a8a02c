"""The HTTP protocol of `balise serve`: uvicorn's h11 implementation with Nagle's algorithm
turned off on every accepted connection.

Why: with `--workers N` uvicorn binds the listening socket itself (``socket.socket(family)``,
protocol number 0) and hands it to each process; asyncio only sets TCP_NODELAY on sockets whose
protocol number is TCP, so every accepted connection kept Nagle's algorithm on. uvicorn writes a
response's headers and its body in two writes: the body then waited for the client's delayed
ACK of the headers, 40 ms on Linux, on every request of a keep-alive connection (one client in
sequence: 48 ms a match request for 7 ms of work; docs/benchmarks.md, issue 19). A single
process (``loop.create_server(host, port)``) was not affected."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock: Any = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # the peer is already gone; the protocol finds out itself
                pass
        super().connection_made(transport)
