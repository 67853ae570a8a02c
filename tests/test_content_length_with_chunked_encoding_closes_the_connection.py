"""A request with both Content-Length and Transfer-Encoding: chunked disagrees with itself on
where its body ends — the shape of request smuggling through a proxy that reads the other
header. RFC 9112 (section 6.3) says the connection must then be closed. Against a real uvicorn
server on loopback, such a request is refused with 400, nothing of it is processed (its valid,
authenticated report is not filed), and the connection is closed at once: a request pipelined
behind it is never answered. A well-framed request on a keep-alive connection still is."""

from __future__ import annotations

import json
import socket

import pytest

from balise.container import Balise
from tests.conftest import make_settings
from tests.helpers import make_provider, minimal_report
from tests.real_server_support import read_until_closed, responses_in, served
from tests.unchanged_support import assert_unchanged, snapshot

# uvicorn keeps an idle connection for 5 s: a close well before that is the server's decision.
CLOSE_WITHIN_S = 3.0


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


def request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


@pytest.mark.e2e
# httptools (llhttp) refuses the request itself, answered by web/protocol.py; behind h11 the
# request reaches FramingGuard (web/limits.py). Both must answer alike.
@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_content_length_with_chunked_is_refused_and_the_connection_closed(tmp_path, db_url, parser):
    app = Balise(make_settings(tmp_path, db_url))
    _, key = make_provider(app)
    report = json.dumps(minimal_report()).encode()
    pipelined = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        with served(tmp_path, db_url, BALISE_HTTP_PARSER=parser) as (host, port):
            before = snapshot(app)
            for path, headers, te_first in (
                ("/api/v1/reports", {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, False),
                ("/api/v1/reports", {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, True),
                ("/ispws/submit", {"Content-Type": "text/xml"}, False),
                ("/report/en", {"Content-Type": "application/x-www-form-urlencoded"}, False),
            ):
                # The parser meets the second of the two headers first in one order, and the
                # other in the other: both are refused the same way.
                framing = {"Content-Length": str(len(report)), "Transfer-Encoding": "chunked"}
                if te_first:
                    framing = dict(reversed(list(framing.items())))
                ambiguous = request(path, {**headers, **framing}, chunked(report))
                with socket.create_connection((host, port), timeout=CLOSE_WITHIN_S) as sock:
                    sock.sendall(ambiguous + pipelined)
                    answer = read_until_closed(sock)  # socket.timeout here: the connection stayed open
                assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
                assert b"connection: close" in answer.lower()
                assert responses_in(answer) == 1, answer  # the pipelined request was not served
                assert b"Content-Length and Transfer-Encoding" in answer
                shape = b"<?xml" if path.startswith("/ispws") else b'{"error": "ambiguous_framing"'
                assert shape in answer, answer
            assert_unchanged(app, before)
            # The same report, framed once, is filed; and keep-alive still works.
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(request("/api/v1/reports", {"Authorization": f"Bearer {key}",
                                                         "Content-Type": "application/json",
                                                         "Transfer-Encoding": "chunked"}, chunked(report)) + pipelined)
                answer = b""
                while responses_in(answer) < 2 or not answer.rstrip().endswith(b"}"):
                    answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 201 ") and b"HTTP/1.1 200 " in answer, answer[:300]
    finally:
        app.close()
