"""Intake in few round trips (issue 19 item 5): filing a report runs a number of SQL
statements that does not depend on how many items, file parts or persons it holds — bulk
inserts and one audit append — and the Idempotency-Key is checked inside the same transaction
that stores the report. Counted on the real databases, through the API."""

from __future__ import annotations

import io
import json

from sqlalchemy import event, func, select

from balise.adapters.db.models import AuditRecord, Item, PersonIdentifier, Report, VaultObject
from tests.helpers import auth, make_provider, minimal_report


def _count(balise, send) -> int:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def listen(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(balise.db.engine, "before_cursor_execute", listen)
    try:
        response = send()
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", listen)
    assert response.status_code == 201, response.text
    return len(seen)


def _warm(client, key: str) -> None:  # type: ignore[no-untyped-def]
    """A first report: the key is then in this process's cache, as in steady operation."""
    assert client.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).status_code == 201


def _hash_only(n: int, offset: int) -> list[dict[str, object]]:
    return [{"kind": "hash_only", "hashes": {"md5": f"{offset + i:032x}", "sha256": f"{offset + i:064x}"}}
            for i in range(n)]


def _persons(n: int) -> list[dict[str, object]]:
    return [{"role": "reported_user", "identifiers": [{"type": "email", "value": f"demo{i}@example.test"}]} for i in range(n)]


def test_hash_only_reports_of_1_and_50_items_cost_the_same_statements(client, balise):
    _, key = make_provider(balise, "DEMO Platform")
    _warm(client, key)
    one = _count(balise, lambda: client.post("/api/v1/reports", json=minimal_report(items=_hash_only(1, 0), persons=_persons(1)),
                                             headers={**auth(key), "Idempotency-Key": "one"}))
    fifty = _count(balise, lambda: client.post(
        "/api/v1/reports", json=minimal_report(items=_hash_only(50, 100), persons=_persons(5)),
        headers={**auth(key), "Idempotency-Key": "fifty"}))
    assert fifty == one
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 52
        assert s.scalar(select(func.count()).where(AuditRecord.event_type == "item:create")) == 52
        assert s.scalar(select(func.count()).where(AuditRecord.event_type == "person:create")) == 6
        assert s.scalar(select(func.count()).select_from(PersonIdentifier)) == 6
        assert balise.audit.verify(s).ok


def test_multipart_reports_of_1_and_4_files_cost_the_same_statements(client, balise):
    _, key = make_provider(balise, "DEMO Platform")

    def send(n: int, tag: str):  # type: ignore[no-untyped-def]
        document = minimal_report(type="new_csam", items=[{"kind": "media", "file": f"f{i}"} for i in range(n)])
        files = {f"f{i}": (f"demo-{tag}-{i}.bin", io.BytesIO(f"DEMO file {tag} {i}".encode()), "application/octet-stream")
                 for i in range(n)}
        return client.post("/api/v1/reports", data={"report": json.dumps(document)}, files=files, headers=auth(key))

    _warm(client, key)
    one = _count(balise, lambda: send(1, "a"))
    four = _count(balise, lambda: send(4, "b"))
    assert four == one
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VaultObject)) == 5
        assert s.scalar(select(func.count()).where(AuditRecord.event_type == "media:store")) == 5
        assert s.scalar(select(func.count()).select_from(Report)) == 3
        assert balise.audit.verify(s).ok
