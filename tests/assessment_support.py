"""The one assessment screen end to end: a real `balise serve` on loopback on the test's database
(SQLite file or PostgreSQL), a provider, an analyst, DEMO reports of generated benign pictures
and a URL, and signing in to headless Chromium."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

from balise.adapters.db.models import Item, Report, ReportClaim
from balise.demo import demo_image
from tests.browser_support import PASSWORD
from tests.browser_support import sign_in as browser_sign_in
from tests.cli_support import run_cli
from tests.servers import CHROMIUM, running_server, wait_for

COMPLETE = {"signature": "DEMO-SIG", "provider": {"contact_point": {"email": "ts@provider.demo.invalid"}},
            "user_decision": "suspend", "reported_elsewhere": {"reported": False}}


def run(env, *args, input=None) -> str:
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


@contextmanager
def workbench(tmp_path: Path, db_url: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(base URL, provider API key, environment) of a server with a provider and analyst "ana"."""
    assert Path(CHROMIUM).exists(), "headless Chromium is required (apt-get install chromium)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(tmp_path / "data"), BALISE_DATABASE_URL=db_url,
               BALISE_FETCH_RESOLVER="static")
    key = re.search(r"(bal_\S+)", run(env, "org", "create", "DEMO Platform", "--kind", "provider", "--country", "FR",
                                      "--scope", "reports:write", "--scope", "reports:read")).group(1)
    run(env, "user", "create", "ana", "--role", "analyst", "--password-stdin", input=PASSWORD + "\n")
    with running_server(env) as (base, _):
        yield base, key, env


def file_report(base: str, key: str, pictures: int, seed: int, **fields) -> str:
    """A DEMO report of ``pictures`` generated benign pictures and one URL, triaged into the queue."""
    report = {"reported_at": "2026-11-23T10:00:00+01:00", "type": "new_csam", "service": {"type": "hosting"},
              "awareness": {"source": "own_motion"}, "content_removed": True,
              "additional_info": "DEMO report: generated benign pictures.",
              "items": [{"kind": "media", "file": f"f{i}", "filename": f"demo-{i}.jpg"} for i in range(pictures)]
              + [{"kind": "url", "url": f"https://provider.demo.invalid/media/{seed}.jpg"}], **COMPLETE, **fields}
    files = [(f"f{i}", (f"demo-{i}.jpg", demo_image(seed + i, (640, 480)), "image/jpeg")) for i in range(pictures)]
    r = httpx.post(f"{base}/api/v1/reports", headers={"Authorization": f"Bearer {key}"},
                   data={"report": json.dumps(report)}, files=files)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert wait_for(lambda: httpx.get(f"{base}/api/v1/reports/{rid}", headers={"Authorization": f"Bearer {key}"})
                    .json()["state"] == "in_assessment")
    return rid


def sign_in(page, base: str, env: dict[str, str], username: str = "ana") -> None:
    browser_sign_in(page, base, env, username)


class MainFrameLoads:
    """How many full page loads (navigations of the main frame) a page has made."""

    def __init__(self, page) -> None:
        self.count = 0
        page.on("framenavigated", lambda frame: self._seen(page, frame))

    def _seen(self, page, frame) -> None:
        if frame == page.main_frame:
            self.count += 1


def stored(db_url: str, report_id: str) -> tuple[Report, list[Item], ReportClaim | None]:
    """The report, its items and its claim as the database holds them now."""
    engine = create_engine(db_url)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            rid = uuid.UUID(report_id)
            report = session.get(Report, rid)
            items = list(session.execute(select(Item).where(Item.report_id == rid).order_by(Item.position)).scalars())
            claim = session.get(ReportClaim, rid)
            session.expunge_all()
            return report, items, claim
    finally:
        engine.dispose()
