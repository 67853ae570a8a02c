"""A retried submission with the same Idempotency-Key is the same report."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from balise.adapters.db.models import Report
from balise.demo import demo_image
from tests.helpers import auth, make_provider, minimal_report


def _count(balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(Report)).scalar_one()


def test_retry_with_same_key_and_body_returns_the_same_report(client, provider, balise):
    _, key = provider
    headers = {**auth(key), "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/reports", json=minimal_report(), headers=headers)
    second = client.post("/api/v1/reports", json=minimal_report(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert _count(balise) == 1


def test_key_order_in_json_does_not_make_a_different_body(client, provider, balise):
    _, key = provider
    headers = {**auth(key), "Idempotency-Key": "order", "content-type": "application/json"}
    body = minimal_report()
    client.post("/api/v1/reports", content=json.dumps(body), headers=headers)
    r = client.post("/api/v1/reports", content=json.dumps(dict(reversed(list(body.items())))), headers=headers)
    assert r.status_code == 201
    assert _count(balise) == 1


def test_same_key_with_a_different_body_is_409(client, provider, balise):
    _, key = provider
    headers = {**auth(key), "Idempotency-Key": "k"}
    assert client.post("/api/v1/reports", json=minimal_report(), headers=headers).status_code == 201
    r = client.post("/api/v1/reports", json=minimal_report(content_removed=False), headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_conflict"
    assert _count(balise) == 1


def test_same_key_with_a_different_file_is_409(client, provider, balise):
    _, key = provider
    headers = {**auth(key), "Idempotency-Key": "files"}
    report = json.dumps(minimal_report(items=[{"kind": "media", "file": "a"}]))
    r1 = client.post("/api/v1/reports", data={"report": report}, files=[("a", ("a.jpg", demo_image(1), "image/jpeg"))], headers=headers)
    r2 = client.post("/api/v1/reports", data={"report": report}, files=[("a", ("a.jpg", demo_image(2), "image/jpeg"))], headers=headers)
    assert r1.status_code == 201 and r2.status_code == 409
    assert len(list(balise.settings.vault_path.rglob("*.blv"))) == 1


def test_keys_are_per_organisation(client, provider, balise):
    _, key_a = provider
    _, key_b = make_provider(balise, "Other Provider")
    r1 = client.post("/api/v1/reports", json=minimal_report(), headers={**auth(key_a), "Idempotency-Key": "shared"})
    r2 = client.post("/api/v1/reports", json=minimal_report(), headers={**auth(key_b), "Idempotency-Key": "shared"})
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] != r2.json()["id"]


def test_invalid_idempotency_key_is_422(client, provider):
    _, key = provider
    r = client.post("/api/v1/reports", json=minimal_report(), headers={**auth(key), "Idempotency-Key": "has space"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_idempotency_key"


def test_concurrent_retries_create_one_report(client, provider, balise):
    _, key = provider
    headers = {**auth(key), "Idempotency-Key": "race"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: client.post("/api/v1/reports", json=minimal_report(), headers=headers), range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(balise) == 1
