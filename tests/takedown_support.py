"""Loopback stand-ins for the outside world of notice-and-takedown: a website serving a DEMO
picture that can be taken down, and an SMTP server that keeps what it receives; and the steps
of the notice-and-takedown flow that several tests share (file a URL report, forward it)."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from PIL import Image

from balise.accounts.actors import Actor
from balise.adapters.db.models import Report
from balise.casework.assessment import Decision
from balise.container import Balise
from balise.demo import demo_image
from balise.detection.adapters.media_hash import hash_image_bytes
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, make_user
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
def demo_site(host: str = "127.0.0.1") -> Iterator[DemoSite]:
    """``host``: any loopback address; one outside the fetcher's allowed networks shows that
    a refused fetch never reached the server."""
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

    server = ThreadingHTTPServer((host, 0), Handler)
    site.base = f"http://{host}:{server.server_address[1]}"
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


def routing_overrides(tmp_path: Path, *, country: str = "NL", abuse: str = "abuse@demo-hosting.example",
                      organisation: str = "DEMO hosting (loopback)") -> Path:
    """Loopback placed in a Member State, with the DEMO host's abuse address (the shipped data
    and RDAP rightly refuse to place special-use addresses)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "geo-overrides.json"
    path.write_text(json.dumps([{"network": "127.0.0.0/8", "country": country,
                                 "organisation": organisation, "abuse_email": abuse}]))
    return path


class Clock:
    """A clock the test moves forward, to reach removal checks hours or days later."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


COMPLETE = {"signature": "DEMO-SIGNATURE", "provider": {"contact_point": {"email": "trust@provider.example"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}
GERMAN_UPLOAD_IP = "80.128.0.1"  # Deutsche Telekom in the shipped registry data


def reencoded(data: bytes, quality: int = 70) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def routing_app(tmp_path: Path, db_url: str, clock: Clock | None, smtp_port: int, **overrides: object) -> Balise:
    if "geo_overrides_file" not in overrides:
        overrides["geo_overrides_file"] = routing_overrides(tmp_path)
    settings = make_settings(tmp_path, db_url, index_refresh_seconds=0.0, fetch_allow_networks="127.0.0.1/32",
                             centre_country="NL",
                             centre_name="DEMO Centre", smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                             mail_from="DEMO Centre <centre@balise.example>", **overrides)
    return Balise(settings, clock=clock) if clock is not None else Balise(settings)


def known_picture(app: Balise, seed: int = 5) -> bytes:
    """A DEMO picture whose PDQ is a confirmed known-material indicator."""
    original = demo_image(seed, (800, 600))
    with app.db.transaction() as s:
        app.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=hash_image_bytes(original).pdq,
                           kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO"},
                           classification={"ncmec_category": "A1"}, media_type="image")
    return original


def file_url_report(app: Balise, url: str, *, upload_ip: str | None = GERMAN_UPLOAD_IP,
                    key: str | None = None) -> uuid.UUID:
    """File a URL report through the provider API (a new provider unless ``key`` is given)."""
    if key is None:
        _, key = make_provider(app, name=f"DEMO provider {uuid.uuid4().hex[:8]}")
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "known_csam",
              "service": {"type": "hosting", "url": "https://provider.example"}, "awareness": {"source": "own_motion"},
              "content_removed": False, "items": [{"kind": "url", "url": url}], **COMPLETE}
    if upload_ip:
        report["persons"] = [{"role": "reported_user", "identifiers": [
            {"type": "ip", "value": upload_ip, "event": "upload", "observed_at": "2026-11-22T21:00:00+01:00"}]}]
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", json=report, headers=auth(key))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def forward(app: Balise, report_id: uuid.UUID, text: str = "") -> Report:
    """The analyst demo-ana claims the report and forwards it (``text`` when no item is illegal)."""
    with app.db.sessions() as s:
        exists = app.users.get(s, "demo-ana") is not None
    if not exists:
        make_user(app, "demo-ana", "analyst")
    with app.db.transaction() as s:
        user = app.users.get(s, "demo-ana")
        app.assessment.claim(s, user, report_id)
    with app.db.transaction() as s:
        user = app.users.get(s, "demo-ana")
        revision = s.get(Report, report_id).revision
        app.assessment.decide(s, user, report_id, revision=revision, decision=Decision("forward", text=text))
    with app.db.sessions() as s:
        return s.get(Report, report_id)


class GatedFetcher:
    """The app's safe fetcher, except that after ``hold_next()`` the next fetch waits until
    ``release()``: a slow fetch the test controls (``entered`` is set when it is waiting)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self._inner = inner
        self._armed = False
        self._lock = threading.Lock()
        self.entered = threading.Event()
        self._released = threading.Event()

    def hold_next(self) -> None:
        with self._lock:
            self._armed = True

    def release(self) -> None:
        self._released.set()

    def fetch(self, url: str):  # type: ignore[no-untyped-def]
        with self._lock:
            hold, self._armed = self._armed, False
        if hold:
            self.entered.set()
            assert self._released.wait(120), "the test never released the held fetch"
        return self._inner.fetch(url)


def gate_fetcher(app: Balise) -> GatedFetcher:
    """Put a GatedFetcher in front of the app's fetcher (before the services using it exist)."""
    gated = GatedFetcher(app.fetcher)
    app.__dict__["fetcher"] = gated
    return gated


def routing_worker_env(tmp_path: Path, db_url: str, smtp_port: int, lease_seconds: float, **extra: str) -> dict[str, str]:
    """The environment of a real `balise worker` process on the same database and settings as
    :func:`routing_app` (the kill -9 tests start and kill such processes)."""
    from tests.servers import clean_env

    return clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                     BALISE_MAIL_FROM="DEMO Centre <centre@balise.example>", BALISE_JOB_LEASE_SECONDS=str(lease_seconds),
                     BALISE_CENTRE_COUNTRY="NL", BALISE_CENTRE_NAME="DEMO Centre",
                     BALISE_FETCH_ALLOW_NETWORKS="127.0.0.1/32",
                     BALISE_GEO_OVERRIDES_FILE=str(routing_overrides(tmp_path)), **extra)


def start_worker(env: dict[str, str], workers: list) -> object:  # type: ignore[type-arg]
    """A `balise worker` in its own process group (so that the test can kill it with -9),
    remembered in ``workers`` for the test's cleanup."""
    import subprocess

    from tests.servers import BALISE

    proc = subprocess.Popen([BALISE, "worker", "--poll", "0.2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    workers.append(proc)
    return proc


def answer_receipt(handler: BaseHTTPRequestHandler, reference: str) -> None:
    """What a police or Europol endpoint answers to a delivered package: 200 and a JSON receipt
    with its own reference (Balise records it as the acknowledgement)."""
    answer = json.dumps({"received": True, "reference": reference}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(answer)))
    handler.end_headers()
    handler.wfile.write(answer)
