"""A real HTTP server on a loopback address for the fetcher tests, with hostile routes.

Every route that streams stops by itself (bounded bytes and time) and when the client goes
away, so a test that fails cannot leave a busy thread behind."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from balise.domain.addresses import parse_networks
from balise.takedown.adapters.fetcher import Fetcher, FetchPolicy


def demo_png() -> bytes:
    """A benign generated gradient labelled DEMO."""
    image = Image.new("RGB", (64, 48))
    pixels = image.load()
    for x in range(64):
        for y in range(48):
            pixels[x, y] = (x * 4, y * 5, 128)
    ImageDraw.Draw(image).text((4, 4), "DEMO", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


PNG = demo_png()
TRICKLE_INTERVAL = 0.2  # seconds between bytes of the slow routes
STREAM_LIMIT_BYTES = 256 * 1024 * 1024
STREAM_LIMIT_SECONDS = 60.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.hits[parts.path] += 1
        self.server.requests.append((parts.path, dict(self.headers.items())))
        name = parts.path.strip("/").split("/")[0].split(".")[0].replace("-", "_")
        route = getattr(self, "route_" + name, None)
        if route is None:
            self._send(404, b"not found (DEMO)", "text/plain")
            return
        route(parts.path, query)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def route_image(self, path: str, query: dict[str, str]) -> None:
        self._send(200, PNG, "image/png")

    def route_status(self, path: str, query: dict[str, str]) -> None:
        code = int(path.rsplit("/", 1)[1])
        self._send(code, f"status {code} (DEMO)".encode(), "text/plain")

    def route_chain(self, path: str, query: dict[str, str]) -> None:
        # /chain/3 -> /chain/2 -> /chain/1 -> /chain/0 -> /image.png
        left = int(path.rsplit("/", 1)[1])
        target = "/image.png" if left == 0 else f"/chain/{left - 1}"
        self._send(302, b"", "text/plain", {"Location": target})

    def route_to(self, path: str, query: dict[str, str]) -> None:
        self._send(int(query.get("status", "302")), b"", "text/plain", {"Location": query["location"]})

    def route_long_redirect(self, path: str, query: dict[str, str]) -> None:
        self._send(302, b"", "text/plain", {"Location": "/image.png?pad=" + "a" * int(query["length"])})

    def route_loop_a(self, path: str, query: dict[str, str]) -> None:
        self._send(301, b"", "text/plain", {"Location": "/loop-b"})

    def route_loop_b(self, path: str, query: dict[str, str]) -> None:
        self._send(301, b"", "text/plain", {"Location": "/loop-a"})

    def route_slow_body(self, path: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self._trickle(b"x" * 100000)

    def route_slow_headers(self, path: str, query: dict[str, str]) -> None:
        self._trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 100000 + b"\r\n\r\n")

    def route_endless(self, path: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"z" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent, started = 0, time.monotonic()
        try:
            while sent < STREAM_LIMIT_BYTES and time.monotonic() - started < STREAM_LIMIT_SECONDS:
                self.wfile.write(frame)
                sent += len(chunk)
        except OSError:
            return

    def route_huge_length(self, path: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(10 ** 12))
        self.end_headers()
        self.wfile.write(b"\x00" * 1024)

    def route_headers(self, path: str, query: dict[str, str]) -> None:
        self._send(200, b"ok (DEMO)", "text/plain", {"Set-Cookie": "session=demo; Path=/"})

    def _trickle(self, data: bytes) -> None:
        started = time.monotonic()
        try:
            for index in range(len(data)):
                if time.monotonic() - started > STREAM_LIMIT_SECONDS:
                    return
                self.wfile.write(data[index:index + 1])
                self.wfile.flush()
                time.sleep(TRICKLE_INTERVAL)
        except OSError:
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up (the fetcher stopping at a cap) are the point of these routes

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []


class RunningServer:
    def __init__(self, server: _Server, scheme: str) -> None:
        self._server = server
        self.host, self.port = server.server_address[:2]
        self.scheme = scheme

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def hits(self) -> Counter[str]:
        return self._server.hits

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self._server.requests


@contextmanager
def serving(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[RunningServer]:
    server = _Server((host, 0))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield RunningServer(server, "https" if tls else "http")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class ConnectionCounter:
    """A TCP listener that only counts the connections it accepts (and closes them)."""

    def __init__(self, host: str) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


class GarbageServer(ConnectionCounter):
    """Answers every connection with bytes that are not HTTP."""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            try:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2 DEMO not http\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on which nothing listens (bound then released)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def tls_contexts(server_name: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throw-away CA and a certificate for ``server_name`` signed by it: (the server's
    context, a client context that trusts only that CA and checks host names)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Balise DEMO test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


LOOPBACK = "127.0.0.1/32"


def loopback_fetcher(resolver: object = None, ssl_context: ssl.SSLContext | None = None, allow: str = LOOPBACK,
                     **policy: object) -> Fetcher:
    """A fetcher allowed to reach 127.0.0.1 only (the test allow-list), with short limits."""
    values: dict[str, object] = {"allow_networks": parse_networks(allow), "connect_timeout": 2.0,
                                 "read_timeout": 5.0, "total_timeout": 10.0, "max_bytes": 1024 * 1024}
    values.update(policy)
    return Fetcher(FetchPolicy(**values), resolver, ssl_context)  # type: ignore[arg-type]


@contextmanager
def serving_directory(directory: Path) -> Iterator[str]:
    """The files of ``directory`` over plain HTTP on 127.0.0.1; yields the base URL."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(directory)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
