"""Shared by the media viewer's exposure tests: a Balise with a clock the test moves, reports
filed with benign files (DEMO pictures, sample videos from tests/data/vectors, and hostile
stand-ins: HTML, SVG, script, polyglot, truncated), analysts signed in, claims, reveals."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Report
from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth, csrf_token, make_provider, make_user, minimal_report, sign_in
from tests.takedown_support import Clock
from tests.vectors import vectors_dir

COMPLETE = {"signature": "DEMO-SIG", "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}

HTML = b"<!doctype html><html><body><h1>DEMO</h1><script>document.title='ran'</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
       b'onload="document.title=\'ran\'"><script>document.title="ran"</script><rect width="64" height="64"/></svg>')
SCRIPT = b"document.title = 'ran'; /* DEMO stand-in for a script a provider might send */\n"


def polyglot() -> bytes:
    """A DEMO JPEG with a zip archive holding an HTML page appended: both at once."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", HTML)
    return demo_image(77, (320, 240)) + archive.getvalue()


def truncated_jpeg() -> bytes:
    whole = demo_image(78, (640, 480))
    return whole[: len(whole) // 2]


def sample_video() -> bytes:
    return (vectors_dir() / "tmk" / "sample-videos" / "chair-22-sd-grey-bar.mp4").read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def workbench(tmp_path: Path, db_url: str, **settings: Any) -> Iterator[tuple[Balise, Clock, str]]:
    clock = Clock()
    balise = Balise(make_settings(tmp_path, db_url, **settings), clock=clock)
    try:
        _, key = make_provider(balise)
        yield balise, clock, key
    finally:
        balise.close()


def file_report(balise: Balise, key: str, files: list[tuple[str, bytes, str]]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """File a complete report with these (file name, bytes, declared type) and hash it; the
    report id and its items' ids in order."""
    report = minimal_report(items=[{"kind": "media", "file": f"f{i}"} for i in range(len(files))], **COMPLETE)
    with TestClient(create_app(balise)) as api:
        r = api.post("/api/v1/reports", data={"report": json.dumps(report)}, headers=auth(key),
                     files=[(f"f{i}", (name, data, declared)) for i, (name, data, declared) in enumerate(files)])
    assert r.status_code == 201, r.text
    balise.run_jobs()
    report_id = uuid.UUID(r.json()["id"])
    with balise.db.sessions() as s:
        items = s.execute(select(Item.id).where(Item.report_id == report_id).order_by(Item.position)).scalars().all()
    return report_id, list(items)


@contextmanager
def analyst(balise: Balise, username: str, role: str = "analyst") -> Iterator[TestClient]:
    make_user(balise, username, role)
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, username)
        yield client


def token_of(client: TestClient, path: str = "/ui/settings") -> str:
    return csrf_token(client.get(path).text)


def claim(client: TestClient, report_id: uuid.UUID) -> None:
    r = client.post(f"/ui/reports/{report_id}/claim", data={"csrftoken": token_of(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/reports/{report_id}", r.headers.get("location")


def release(client: TestClient, report_id: uuid.UUID) -> None:
    client.post(f"/ui/reports/{report_id}/release", data={"csrftoken": token_of(client)})


def reveal(client: TestClient, item_id: uuid.UUID, purpose: str = "age", detail: str = "") -> Any:
    return client.post(f"/ui/items/{item_id}/reveal", data={"purpose": purpose, "detail": detail},
                       headers={"x-csrftoken": token_of(client)})


def reveal_url(client: TestClient, item_id: uuid.UUID, purpose: str = "age") -> str:
    r = reveal(client, item_id, purpose)
    assert r.status_code == 200, r.text
    return r.json()["url"]


def events(balise: Balise, event_type: str) -> list[AuditRecord]:
    with balise.db.sessions() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == event_type)
                              .order_by(AuditRecord.seq)).scalars())


def stored_hashes(balise: Balise) -> set[str]:
    """The SHA-256 of every item's stored content."""
    with balise.db.sessions() as s:
        return {v for v in s.execute(select(Item.vault_object)).scalars() if v}


def report_items(balise: Balise, report_id: uuid.UUID) -> list[Item]:
    with balise.db.sessions() as s:
        return list(s.get(Report, report_id).items)
