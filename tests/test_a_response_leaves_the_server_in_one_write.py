"""uvicorn writes a response's headers and its body in two writes: two system calls, two TCP
segments, and on loopback two wake-ups of the client per answer. Balise's protocol holds a
write until the next one, which leaves with it (web/protocol.py, issue 19), and never past
the current turn of the event loop: a streamed body still leaves chunk by chunk, a large body is not
held whole, and closing the connection sends what was held first. Proved on a real uvicorn
server on uvloop (what `balise serve` runs) and a real socket; the writes are counted on the
way to the connection's transport, with plain uvicorn as the control."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from balise.web.protocol import NoDelayHttpToolsProtocol

BIG = bytes(range(256)) * 4096  # a megabyte
CHUNK = len(BIG) // 64
release = threading.Event()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first,", "more_body": True})
        # The rest only once the client has read the first chunk: held past this turn, it
        # would never arrive and the test would time out.
        while not release.is_set():
            await asyncio.sleep(0.005)
        await send({"type": "http.response.body", "body": b"second"})
        return
    if path == "/chunks":
        # A megabyte in 64 sends within one turn (nothing here yields to the loop).
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(64):
            await send({"type": "http.response.body", "body": BIG[i * CHUNK:(i + 1) * CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    body = b"ok"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    if path == "/close":
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Counting:
    """The connection's transport, counting the writes that reach it."""

    def __init__(self, transport: Any, writes: list[int]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def serve(protocol: type[Any], writes: list[int]):  # type: ignore[no-untyped-def]
    class Probe(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(Counting(transport, writes))  # type: ignore[arg-type]

    listening = socket.socket(socket.AF_INET)
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, http=Probe, loop="uvloop", log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    for _ in range(250):
        if server.started:
            break
        threading.Event().wait(0.02)
    return server, thread, listening.getsockname()[1]


@pytest.fixture(params=[HttpToolsProtocol, NoDelayHttpToolsProtocol], ids=["plain uvicorn", "balise"])
def server(request):  # type: ignore[no-untyped-def]
    writes: list[int] = []
    srv, thread, port = serve(request.param, writes)
    yield request.param, writes, port
    srv.should_exit = True
    thread.join(10)


def test_each_answer_is_one_write_where_plain_uvicorn_makes_two(server):
    protocol, writes, port = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(5):
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
    connection.close()
    assert len(writes) == (5 if protocol is NoDelayHttpToolsProtocol else 10)


def test_a_streamed_body_still_leaves_chunk_by_chunk(server):
    _, _, port = server
    release.clear()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        while b"first," not in received:
            received += sock.recv(65536)
        assert b"second" not in received
        release.set()
        while not received.endswith(b"0\r\n\r\n"):
            received += sock.recv(65536)
    assert b"second" in received


def test_a_large_body_is_not_held_whole_and_a_closing_answer_arrives(server):
    protocol, writes, port = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/chunks")
    assert connection.getresponse().read() == BIG
    connection.close()
    if protocol is NoDelayHttpToolsProtocol:
        # Held up to the bound, then sent: never the whole megabyte in one write.
        bound = NoDelayHttpToolsProtocol.WRITE_BOUND
        assert len(writes) >= len(BIG) // (bound + CHUNK)
        assert max(writes) <= bound + CHUNK + 1024
    else:
        assert len(writes) == 66  # headers, 64 chunks, the end of the chunked body
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/close")
    response = connection.getresponse()
    assert (response.status, response.getheader("connection"), response.read()) == (200, "close", b"ok")
    connection.close()
