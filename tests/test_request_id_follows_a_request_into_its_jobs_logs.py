"""With BALISE_LOG_FORMAT=json every log line is one JSON object; a request's id (its sane
X-Request-ID, else a new one) is echoed in the answer, is on the server's line for that request,
and is on the worker's lines while it runs the jobs that request enqueued — on a real
`balise serve` and a real `balise jobs run`, each in its own process."""

from __future__ import annotations

import json
import subprocess
import uuid
from contextlib import closing

import httpx
import pytest

from balise.container import Balise
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.servers import BALISE, clean_env, running_server, server_output, wait_for


def json_lines(output: str) -> list[dict]:  # type: ignore[type-arg]
    # `serve` also prints its banner on standard output; log lines are the JSON objects.
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_request_id_reaches_the_worker_running_its_job(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    _, key = make_provider(balise)
    balise.close()
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_RUN_JOBS_IN_SERVER="false",
                    BALISE_LOG_FORMAT="json")
    request_id = f"ops-{uuid.uuid4().hex}"
    report = minimal_report(service={"type": "hosting", "url": "https://personal.example.test/jane.doe"})
    with running_server(env) as (base, proc):
        answer = httpx.post(f"{base}/api/v1/reports", json=report, headers={**auth(key), "X-Request-ID": request_id})
        assert answer.status_code == 201
        assert answer.headers["x-request-id"] == request_id
        anonymous = httpx.get(f"{base}/healthz")
        generated = anonymous.headers["x-request-id"]
        # The request's line is written once its answer has gone out.
        assert wait_for(lambda: generated in server_output(proc), 10)
        served = server_output(proc)
    lines = json_lines(served)
    assert lines, served
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    mine = [line for line in lines if line["request_id"] == request_id]
    [http] = [line["message"] for line in mine if line["logger"] == "balise.http"]
    assert http.startswith("POST /api/v1/reports 201 ")
    # A request without an id gets a new one, echoed and logged.
    assert len(generated) == 32 and generated != request_id
    assert any(line["request_id"] == generated for line in lines)

    worker = subprocess.run([BALISE, "jobs", "run"], env=env, capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stderr
    ran = json_lines(worker.stderr)
    done = [line for line in ran if line["logger"] == "balise.jobs" and " done in " in line["message"]]
    assert done, worker.stderr
    assert all(line["request_id"] == request_id for line in done)
    # Neither the API key, nor the reported URL (personal data) is in any log line.
    for text in (served, worker.stderr):
        assert key not in text
        assert "jane.doe" not in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("given", ["has space", "x" * 129, "{\"forged\": 1}", "-starts-with-a-dash", ""])
def test_an_insane_request_id_is_replaced(tmp_path, db_url, given):
    from fastapi.testclient import TestClient

    from balise.web.app import create_app

    with closing(Balise(make_settings(tmp_path, db_url))) as balise, TestClient(create_app(balise)) as client:
        echoed = client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"]
    assert echoed != given
    assert len(echoed) == 32 and int(echoed, 16) >= 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_sane_request_id_is_kept(tmp_path, db_url):
    from fastapi.testclient import TestClient

    from balise.web.app import create_app

    given = "req-01HZX3:proxy@edge=1"
    with closing(Balise(make_settings(tmp_path, db_url))) as balise, TestClient(create_app(balise)) as client:
        assert client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] == given
