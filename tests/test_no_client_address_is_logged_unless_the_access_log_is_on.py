"""An access log writes every client's address, anonymous reporters' included, so `balise
serve` writes none unless BALISE_ACCESS_LOG=true — with several API processes too, where each
process sets its logging up again after uvicorn did (it turned uvicorn's access logger back
on, and `make run`, two processes on two cores, logged every address). Balise's own request
line (method, path, status, time; no address) is always there."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.servers import clean_env, running_server, server_output, wait_for


def lines_after_one_request(tmp_path, db_url, access_log: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url, BALISE_RUN_JOBS_IN_SERVER="false",
                    BALISE_LOG_FORMAT="json", BALISE_ACCESS_LOG=access_log)
    with running_server(env, workers=2) as (base, proc):
        answer = httpx.get(f"{base}/healthz")
        request_id = answer.headers["x-request-id"]
        assert wait_for(lambda: "GET /healthz 200" in server_output(proc) and request_id in server_output(proc), 10)
        output = server_output(proc)
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.e2e
def test_several_processes_log_no_client_address_by_default(tmp_path, db_url):
    lines = lines_after_one_request(tmp_path, db_url, "false")
    assert any(line["logger"] == "balise.http" and line["message"].startswith("GET /healthz 200") for line in lines)
    assert [line for line in lines if line["logger"] == "uvicorn.access"] == []
    assert not any("127.0.0.1:" in line["message"] for line in lines if line["logger"] != "uvicorn.error")


@pytest.mark.e2e
def test_the_access_log_is_written_when_asked_for(tmp_path, db_url):
    lines = lines_after_one_request(tmp_path, db_url, "true")
    assert any(line["logger"] == "uvicorn.access" and "/healthz" in line["message"] for line in lines)
