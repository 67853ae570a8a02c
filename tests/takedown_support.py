"""Loopback stand-ins for the outside world of notice-and-takedown: a website serving a DEMO
picture that can be taken down, and an SMTP server that keeps what it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Page:
    status: int
    content_type: str
    body: bytes


@dataclass
class DemoSite:
    """A DEMO website on 127.0.0.1. ``pages[path]`` is what it serves; ``take_down(path)``
    makes it answer 404, as a host does after a notice."""

    base: str
    pages: dict[str, Page] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def serve(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        self.pages[path] = Page(200, content_type, body)
        return self.base + path

    def take_down(self, path: str) -> None:
        self.pages[path] = Page(404, "text/plain", b"removed")


@contextmanager
def demo_site() -> Iterator[DemoSite]:
    site = DemoSite(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            site.hits.append(self.path)
            page = site.pages.get(self.path, Page(404, "text/plain", b"not found"))
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def routing_overrides(tmp_path: Path, *, country: str = "NL", abuse: str = "abuse@demo-hosting.example") -> Path:
    """Loopback placed in a Member State, with the DEMO host's abuse address (the shipped data
    and RDAP rightly refuse to place special-use addresses)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "geo-overrides.json"
    path.write_text(json.dumps([{"network": "127.0.0.0/8", "country": country,
                                 "organisation": "DEMO hosting (loopback)", "abuse_email": abuse}]))
    return path


class Clock:
    """A clock the test moves forward, to reach removal checks hours or days later."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
