"""`GET /metrics` of a real `balise serve` answers in the Prometheus exposition format (read back
with prometheus_client's own parser) with what that process served and the state of the work in
the database, and only to a scraper holding BALISE_METRICS_TOKEN."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditHead, Job
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.real_server_support import served

TOKEN = "metrics-token-" + "t" * 30
PDQ = "f" * 64


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found[(name, tuple(sorted(labels.items())))]


def test_metrics_of_a_real_server(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    _, key = make_provider(balise)
    with balise.db.transaction() as session:
        balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=PDQ,
                              kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "test"})
    with served(tmp_path, db_url, BALISE_METRICS_TOKEN=TOKEN) as (host, port):
        base = f"http://{host}:{port}"
        assert httpx.post(f"{base}/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 201
        for _ in range(3):
            assert httpx.get(f"{base}/api/v1/reports/{uuid.uuid4()}", headers=auth(key)).status_code == 404
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer " + "x" * 44}).status_code == 401
        answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    found = samples(answer.text)

    # By route template: the three report ids are one series, and no id is in any label.
    assert value(found, "balise_http_requests_total", method="GET", route="/api/v1/reports/{report_id}", status="404") == 3
    assert value(found, "balise_http_requests_total", method="POST", route="/api/v1/reports", status="201") == 1
    assert value(found, "balise_http_request_duration_seconds_count", method="GET", route="/api/v1/reports/{report_id}") == 3
    assert value(found, "balise_http_request_duration_seconds_sum", method="GET", route="/api/v1/reports/{report_id}") > 0
    assert value(found, "balise_http_requests_total", method="GET", route="/metrics", status="401") == 2

    with balise.db.sessions() as session:
        pending = dict(session.execute(select(Job.kind, func.count()).where(Job.status == "pending")
                                       .group_by(Job.kind)).all())
        head = session.execute(select(AuditHead.seq)).scalar_one()
    assert pending, "the report should have queued work (the server runs no jobs here)"
    for kind, count in pending.items():
        assert value(found, "balise_jobs", kind=kind, status="pending") == count
        assert value(found, "balise_jobs_oldest_ready_age_seconds", kind=kind) >= 0
    assert value(found, "balise_match_index_hashes") == 1
    assert value(found, "balise_match_index_version") == value(found, "balise_indicator_version") >= 1
    # The report waits for assessment: its clock runs, inside its window.
    assert value(found, "balise_clocks", kind="assessment", state="running") == 1
    assert value(found, "balise_clocks", kind="assessment", state="overdue") == 0
    assert value(found, "balise_audit_head_sequence") == head > 0
    assert 0 <= value(found, "balise_audit_head_age_seconds") < 600
    assert value(found, "balise_metrics_database_up") == 1
    balise.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_a_token_metrics_are_refused_outside_development(tmp_path, db_url):
    import base64
    import os

    from fastapi.testclient import TestClient

    from balise.evidence.adapters.signing import write_new_key
    from balise.web.app import create_app

    write_new_key(tmp_path / "signing.pem")
    production = {"env": "production", "secret_key": "s" * 48, "vault_key": base64.b64encode(os.urandom(32)).decode(),
                  "signing_key_file": tmp_path / "signing.pem"}
    closed = Balise(make_settings(tmp_path, db_url, **production))
    with TestClient(create_app(closed), base_url="https://testserver") as client:
        refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "BALISE_METRICS_TOKEN_FILE" in refused.json()["message"]
    opened = Balise(make_settings(tmp_path, db_url, **production, metrics_open=True))
    with TestClient(create_app(opened), base_url="https://testserver") as client:
        assert client.get("/metrics").status_code == 200
    closed.close()
    opened.close()
