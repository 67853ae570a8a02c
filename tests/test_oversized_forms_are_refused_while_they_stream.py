"""A 50 MB urlencoded public form was once read whole (seconds, hundreds of MB) before a JSON
error on an HTML page. Form bodies — urlencoded and multipart, public and staff — are now
refused as soon as they pass the form limit: at once when Content-Length says so, and after
about the limit's worth of bytes when they are streamed (chunked), against a real uvicorn
server. The answer is a 413 HTML page in the page's language that closes the connection, and
nothing is stored."""

from __future__ import annotations

import select
import socket

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token
from tests.real_server_support import served
from tests.unchanged_support import assert_unchanged, snapshot

FIFTY_MB = 50 * 1024 * 1024
LIMIT = 256 * 1024  # the default max_form_bytes


@pytest.fixture
def app(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    yield balise
    balise.close()


def test_a_declared_oversized_form_is_refused_before_its_body_is_read(app):
    with TestClient(create_app(app)) as c:
        token = csrf_token(c.get("/report/de").text)
        before = snapshot(app)
        r = c.post("/report/de", content=b"csrftoken=" + token.encode() + b"&description=" + b"a" * FIFTY_MB,
                   headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and r.headers["connection"] == "close"
        assert r.headers["content-type"].startswith("text/html") and r.headers["content-language"] == "de"
        assert "<h1>Zu viel gesendet</h1>" in r.text and str(LIMIT) in r.text
        # A multipart staff form, in the staff pages' language of the browser.
        r = c.post("/ui/login", files={"photo": ("a.jpg", b"\xff" * (LIMIT + 1), "image/jpeg")},
                   data={"csrftoken": token, "username": "ana", "password": "x" * 12},
                   headers={"accept-language": "fr"})
        assert r.status_code == 413 and "Formulaire trop volumineux" in r.text, r.text
    assert_unchanged(app, before)


@pytest.mark.e2e
def test_a_streamed_oversized_form_is_cut_off_near_the_limit(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url))
    try:
        with served(tmp_path, db_url) as (host, port):
            before = snapshot(app)
            for path, content_type in (("/report/fr", "application/x-www-form-urlencoded"),
                                       ("/report/fr", "multipart/form-data; boundary=b")):
                sent, answer = _stream_until_answered(host, port, path, content_type)
                assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
                head, _, page = answer.partition(b"\r\n\r\n")
                assert b"content-language: fr" in head.lower() and b"connection: close" in head.lower()
                assert "Trop de données envoyées".encode() in page
                # Far less than the 50 MB offered: the limit, plus what socket buffers held.
                assert sent < 16 * 1024 * 1024, sent
            assert_unchanged(app, before)
    finally:
        app.close()


def _stream_until_answered(host: str, port: int, path: str, content_type: str) -> tuple[int, bytes]:
    """Send a chunked body of up to 50 MB, 64 KiB at a time, until the server answers."""
    chunk = b"description=" + b"a" * (64 * 1024 - 12) if "urlencoded" in content_type else (
        b'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\n' + b"a" * (64 * 1024))
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        while sent < FIFTY_MB:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
        return sent, answer
