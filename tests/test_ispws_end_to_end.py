"""A client written for NCMEC's Reporting API, pointed at a real `balise serve`: only HTTP Basic
credentials from `balise org create --ispws` and the documented endpoints. It files a report
with a benign photo from the shared vectors; after `balise jobs run` the report is triaged and
in the analysts' queue."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import create_engine, text

from tests.cli_support import run_cli
from tests.helpers import csrf_token
from tests.ispws_support import file_details, rich_report, schema
from tests.servers import running_server
from tests.vectors import vectors_dir


def run(env: dict[str, str], *args: str, input: str | None = None) -> str:
    """An operator's `balise` command (in this process; only `serve` needs a process of its own)."""
    result = run_cli(env, *args, input=input)
    assert result.returncode == 0, f"balise {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result.stdout


def xml(response: httpx.Response) -> etree._Element:
    assert response.headers["request-id"]
    root = etree.fromstring(response.content)
    assert schema().validate(root), response.text
    return root


@pytest.mark.e2e
def test_ncmec_client_files_a_report_that_reaches_the_analyst_queue(tmp_path: Path, db_url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(tmp_path / "data"), BALISE_DATABASE_URL=db_url,
               BALISE_RUN_JOBS_IN_SERVER="false")
    run(env, "db", "upgrade")
    created = run(env, "org", "create", "DEMO Platform", "--kind", "provider", "--no-key", "--ispws")
    user = re.search(r"user name: (\S+)", created).group(1)
    password = re.search(r"password \(shown once\): (\S+)", created).group(1)
    run(env, "user", "create", "ana", "--role", "analyst", "--password-stdin", input="a long enough password\n")
    photo = (vectors_dir() / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg").read_bytes()

    with running_server(env) as (base, _):
        ncmec = httpx.Client(base_url=f"{base}/ispws", auth=(user, password), timeout=60)
        status = xml(ncmec.get("/status"))
        assert status.findtext("responseCode") == "0" and f"Remote User : {user}" in status.findtext("responseDescription")
        assert ncmec.get("/xsd").content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')

        opened = xml(ncmec.post("/submit", content=rich_report().encode(), headers={"Content-Type": "text/xml; charset=utf-8"}))
        assert opened.findtext("responseCode") == "0"
        report_id = opened.findtext("reportId")

        uploaded = xml(ncmec.post("/upload", data={"id": report_id}, files={"file": ("bridge.jpg", photo, "image/jpeg")}))
        assert uploaded.findtext("responseCode") == "0" and uploaded.findtext("hash") == hashlib.md5(photo).hexdigest()
        file_id = uploaded.findtext("fileId")

        described = xml(ncmec.post("/fileinfo", content=file_details(int(report_id), file_id).encode(),
                                   headers={"Content-Type": "text/xml; charset=utf-8"}))
        assert described.findtext("responseCode") == "0"

        done = xml(ncmec.post("/finish", data={"id": report_id}))
        assert done.tag == "reportDoneResponse" and done.findtext("responseCode") == "0"
        assert done.findtext("reportId") == report_id and [f.text for f in done.find("files")] == [file_id]

        # The perceptual hashing of the picture, the entity extraction of the report, the triage
        # of the filed report that it queues, and the safe fetch of each URL it names
        # (internetDetails).
        assert "ran 5 job(s)" in run(env, "jobs", "run")

        engine = create_engine(db_url)
        with engine.connect() as conn:
            report_uuid, state, triaged = conn.execute(text(
                "SELECT r.id, r.state, r.triaged_at FROM ispws_reports s JOIN reports r ON r.id = s.report_id "
                "WHERE s.id = :id"), {"id": int(report_id)}).one()
        engine.dispose()
        assert state == "information_requested" and triaged is not None

        staff = httpx.Client(base_url=base, timeout=30)
        token = csrf_token(staff.get("/ui/login").text)
        assert staff.post("/ui/login", data={"username": "ana", "password": "a long enough password",
                                             "csrftoken": token}).status_code == 303
        token = csrf_token(staff.get("/ui/login/totp").text)
        code = run(env, "user", "totp-code", "ana").strip()
        assert staff.post("/ui/login/totp", data={"code": code, "csrftoken": token}).status_code == 303
        queue = staff.get("/ui/queue", params={"state": "information_requested", "source": "ncmec_xml"})
        assert queue.status_code == 200
        assert str(report_uuid).replace("-", "") in queue.text.replace("-", "")
