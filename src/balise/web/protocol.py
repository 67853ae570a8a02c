"""The HTTP protocol of `balise serve`: uvicorn's httptools implementation (llhttp, the
parser of Node.js, in C) with Nagle's algorithm turned off on every accepted connection, each
answer sent in one write, and requests of ambiguous length refused in Balise's own words.

Why httptools: it parses a request in C, h11 in Python. With uvloop as the event loop it took
about a sixth of the server's CPU off a one-hash match request (issue 19; docs/benchmarks.md).

Why TCP_NODELAY: with `--workers N` uvicorn binds the listening socket itself
(``socket.socket(family)``, protocol number 0) and hands it to each process; asyncio only sets
TCP_NODELAY on sockets whose protocol number is TCP, so every accepted connection kept
Nagle's algorithm on. uvicorn writes a response's headers and its body in two writes: the body
then waited for the client's delayed ACK of the headers, 40 ms on Linux, on every request of a
keep-alive connection.

Why one write per answer: the headers and the body of a response, written separately by
uvicorn, leave as one write (``_OneWritePerAnswer``): one system call and one TCP segment per
answer instead of two.

Why the parser is wrapped: llhttp refuses a request with both Content-Length and
Transfer-Encoding itself (RFC 9112 section 6.3: its length is ambiguous, the shape of request
smuggling), before any header reaches the application, and uvicorn then answers
"Invalid HTTP request received." in plain text. Balise's clients read its refusals as JSON
(XML on /ispws): the wrapper answers that one error as FramingGuard (web/limits.py) does
behind other servers, and closes the connection. Any other parse error keeps uvicorn's answer."""

from __future__ import annotations

import asyncio
import socket
from http import HTTPStatus
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httptools
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

def _no_delay(transport: asyncio.BaseTransport) -> None:
    sock: Any = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the peer is already gone; the protocol finds out itself
            pass


class NoDelayH11Protocol(H11Protocol):
    """The pure-Python parser (tests' in-process servers, and `BALISE_HTTP_PARSER=h11`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)


def _ambiguous_length(error: httptools.HttpParserError) -> bool:
    message = str(error)
    return "Content-Length" in message and "Transfer-Encoding" in message


class _RefusingParser:
    """llhttp's parser, answering a request of ambiguous length with ``answer`` instead of
    raising to uvicorn."""

    __slots__ = ("_parser", "_answer")

    def __init__(self, parser: httptools.HttpRequestParser, answer: Callable[[], None]) -> None:
        self._parser = parser
        self._answer = answer

    def feed_data(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not _ambiguous_length(exc):
                raise
            self._answer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class _OneWritePerAnswer:
    """The connection's transport, sending a response's headers and body as one write: uvicorn
    writes them separately, two system calls and two TCP segments per answer (on loopback the
    first one also wakes the client, which then waits for the second).

    A write is held only until the next one, which then leaves with it at once, or until the
    end of the current turn of the event loop if none follows (a streamed body's pause):
    never more than one write and never past ``LIMIT`` bytes. Closing sends what is held
    first; aborting drops it. Holding until the end of the turn for every write was tried:
    behind a long queue of ready tasks it delayed answers (intake throughput fell)."""

    LIMIT = 64 * 1024
    __slots__ = ("_transport", "_loop", "_held", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._pending = False  # a flush at the end of this turn is scheduled

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif len(data) >= self.LIMIT:
            self._transport.write(data)
        else:
            self._held = data
            if not self._pending:
                self._pending = True
                self._loop.call_soon(self._flush)

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def _flush(self) -> None:
        self._pending = False
        self._send()

    def _send(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._send()
        self._transport.close()

    def write_eof(self) -> None:
        self._send()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return len(self._held or b"") + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    WRITE_BOUND = _OneWritePerAnswer.LIMIT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser = _RefusingParser(self.parser, self._refuse_ambiguous)  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(_OneWritePerAnswer(transport, self.loop))  # type: ignore[arg-type]

    def _refuse_ambiguous(self) -> None:
        # The parser stops at the second of the two headers: the request line is known.
        from balise.web.app import refuse_ambiguous_framing

        path = unquote(self.url.split(b"?", 1)[0].decode("latin-1"))
        status, headers, body = refuse_ambiguous_framing({"type": "http", "path": path})
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
        for name, value in [*self.server_state.default_headers, *headers,
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join(head) + b"\r\n" + body)
        self.transport.close()
