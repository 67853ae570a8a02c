"""`balise serve --workers N` hands each process a listening socket that uvicorn made with
``socket.socket(family)`` (protocol number 0), on whose connections asyncio leaves Nagle's
algorithm on; uvicorn writes a response's headers and body in two writes, so the body waited
for the client's delayed ACK (40 ms on Linux) on every keep-alive request. Balise's protocol
turns Nagle off on every accepted connection. Proved on a real uvicorn server in this process,
on a socket made as uvicorn's worker processes get it, with plain uvicorn as the control."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from balise.web.protocol import NoDelayH11Protocol, NoDelayHttpToolsProtocol


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def nodelay_of_accepted_connection(protocol: type[Any], loop: str = "asyncio") -> int:
    seen: list[int] = []

    class Probe(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    # As uvicorn binds it for its worker processes (uvicorn/config.py bind_socket).
    listening = socket.socket(socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    assert listening.proto == 0
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hello, http=Probe, loop=loop, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.02)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        connection.close()
    finally:
        server.should_exit = True
        thread.join(10)
        listening.close()
    assert len(seen) == 1
    return seen[0]


@pytest.mark.e2e
# On asyncio's loop (uvloop turns Nagle off by itself, so it cannot be the control).
@pytest.mark.parametrize(("plain", "balise"), [(H11Protocol, NoDelayH11Protocol),
                                               (HttpToolsProtocol, NoDelayHttpToolsProtocol)])
def test_balise_protocol_turns_nagle_off_where_plain_uvicorn_leaves_it_on(plain, balise):
    assert nodelay_of_accepted_connection(plain) == 0
    assert nodelay_of_accepted_connection(balise) != 0


@pytest.mark.e2e
def test_what_balise_serve_runs_by_default_has_nagle_off():
    assert nodelay_of_accepted_connection(NoDelayHttpToolsProtocol, loop="uvloop") != 0
