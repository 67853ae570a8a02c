"""What the retention tests share: an app on a clock the test moves, reports filed through the
provider API with every kind of personal data Annex III carries (all DEMO), closed through
the real workbench decisions, and a look at the vault on disk."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from balise.adapters.db.models import Report
from balise.casework.assessment import Decision
from balise.container import Balise
from balise.demo import demo_image
from balise.web.app import create_app
from tests.cli_support import CliResult, run_cli
from tests.conftest import make_settings
from tests.helpers import auth, make_user, minimal_report
from tests.takedown_support import Clock

DEMO_PERSON = {"role": "reported_user", "display_name": "DEMO Uploader",
               "identifiers": [{"type": "email", "value": "demo-uploader@example.test"},
                               {"type": "ip", "value": "198.51.100.77", "event": "upload",
                                "observed_at": "2026-11-22T21:00:00+01:00"}]}
PERSONAL = ("DEMO Uploader", "demo-uploader@example.test", "198.51.100.77", "DEMO-holiday.jpg",
            "https://service.example.test/u/demo", "DEMO: the person shown is an adult",
            "DEMO free text from the provider", "trust@provider.example", "DEMO victim description")


def app_on_clock(tmp_path: Path, db_url: str, clock: Clock, **overrides: object) -> Balise:
    """No SMTP: notice emails are kept as files in the outbox, which retention must delete too."""
    return Balise(make_settings(tmp_path, db_url, index_refresh_seconds=0.0, **overrides), clock=clock)


def file_media_report(app: Balise, key: str, picture: bytes, **fields: Any) -> uuid.UUID:
    """A complete provider report with one picture and everything personal Annex III allows."""
    report = minimal_report(
        items=[{"kind": "media", "file": "a", "filename": "DEMO-holiday.jpg",
                "metadata": {"created_at": "2026-11-20T10:00:00+01:00"}}],
        service={"type": "hosting", "url": "https://service.example.test/u/demo"},
        signature="DEMO-SIGNATURE", user_decision="block", reported_elsewhere={"reported": False},
        provider={"contact_point": {"email": "trust@provider.example"}},
        persons=[DEMO_PERSON], victims=[{"age_band": "7-12", "description": "DEMO victim description"}],
        geolocation={"country": "FR", "postal_code": "75001"},
        additional_info="DEMO free text from the provider", **fields)
    with TestClient(create_app(app)) as client:
        r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                        files=[("a", ("a.jpg", picture, "image/jpeg"))], headers=auth(key))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def analyst(app: Balise, username: str = "ana", role: str = "analyst") -> None:
    with app.db.sessions() as s:
        exists = app.users.get(s, username) is not None
    if not exists:
        make_user(app, username, role)


def decide(app: Balise, report_id: uuid.UUID, decision: Decision, username: str = "ana") -> None:
    """Claim and decide as the analyst would in the workbench."""
    analyst(app, username)
    with app.db.transaction() as s:
        app.assessment.claim(s, app.users.get(s, username), report_id)
    with app.db.transaction() as s:
        app.assessment.decide(s, app.users.get(s, username), report_id, revision=s.get(Report, report_id).revision,
                              decision=decision)


def close_unfounded(app: Balise, report_id: uuid.UUID) -> None:
    decide(app, report_id, Decision("manifestly_unfounded", ("adult_content", "other"),
                                    "DEMO: the person shown is an adult"))


def classify(app: Balise, item_id: uuid.UUID, outcome: str, classification: dict[str, Any] | None = None,
             username: str = "ana") -> None:
    analyst(app, username)
    with app.db.transaction() as s:
        from balise.adapters.db.models import Item

        item = s.get(Item, item_id)
        user = app.users.get(s, username)
        app.assessment.claim(s, user, item.report_id)
        app.assessment.classify(s, user, item_id, revision=item.revision, outcome=outcome,
                                classification=classification)


def vault_file(app: Balise, sha256: str) -> Path:
    return app.settings.vault_path / sha256[:2] / sha256[2:4] / f"{sha256}.blv"


def cli(app: Balise, *args: str, **env: str) -> CliResult:
    """`balise …` as an operator runs it (in this process), on the same database (with the real
    clock)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    environment.update(BALISE_ENV="development", BALISE_DATA_DIR=str(app.settings.data_dir),
                       BALISE_DATABASE_URL=str(app.settings.database_url), **env)
    return run_cli(environment, *args)


def picture(seed: int) -> bytes:
    return demo_image(seed, (320, 240))
