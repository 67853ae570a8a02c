"""A failure half-way through a report with several files leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Item, Report, VaultObject
from balise.demo import demo_image
from tests.helpers import auth, minimal_report


class DiskFull(OSError):
    pass


def test_failure_on_the_third_file_leaves_no_report_item_or_vault_object(client, provider, balise, monkeypatch):
    _, key = provider
    blobs = balise.evidence._blobs
    real_put = blobs.put
    calls = {"n": 0}

    def failing_put(sha256, stream):
        calls["n"] += 1
        if calls["n"] == 3:
            raise DiskFull(28, "No space left on device")
        return real_put(sha256, stream)

    monkeypatch.setattr(blobs, "put", failing_put)
    report = minimal_report(items=[{"kind": "media", "file": f"f{i}"} for i in range(3)])
    files = [(f"f{i}", (f"{i}.jpg", demo_image(100 + i), "image/jpeg")) for i in range(3)]
    # The test client re-raises what would be a 500 for a real caller.
    with pytest.raises(DiskFull):
        client.post("/api/v1/reports", data={"report": json.dumps(report)}, files=files, headers=auth(key))
    assert calls["n"] == 3
    with balise.db.sessions() as s:
        for model in (Report, Item, VaultObject):
            assert s.execute(select(func.count()).select_from(model)).scalar_one() == 0, model
        assert s.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == 2  # org + key only
    assert not list(balise.settings.vault_path.rglob("*.blv"))
    # Closed at once: an idle-in-transaction session would block the next test's TRUNCATE.
    with balise.db.sessions() as s:
        assert balise.audit.verify(s).ok


def test_an_object_already_in_the_vault_survives_a_failed_report(client, provider, balise, monkeypatch):
    _, key = provider
    shared = demo_image(7)
    one = minimal_report(items=[{"kind": "media", "file": "a"}])
    assert client.post("/api/v1/reports", data={"report": json.dumps(one)},
                       files=[("a", ("a.jpg", shared, "image/jpeg"))], headers=auth(key)).status_code == 201
    blobs = balise.evidence._blobs
    real_put = blobs.put

    def fail_second(sha256, stream, seen=[]):  # noqa: B006 - call counter
        seen.append(sha256)
        if len(seen) == 2:
            raise DiskFull(28, "No space left on device")
        return real_put(sha256, stream)

    monkeypatch.setattr(blobs, "put", fail_second)
    two = minimal_report(items=[{"kind": "media", "file": "a"}, {"kind": "media", "file": "b"}])
    with pytest.raises(DiskFull):
        client.post("/api/v1/reports", data={"report": json.dumps(two)},
                    files=[("a", ("a.jpg", shared, "image/jpeg")), ("b", ("b.jpg", demo_image(8), "image/jpeg"))],
                    headers=auth(key))
    assert len(list(balise.settings.vault_path.rglob("*.blv"))) == 1
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Report)).scalar_one() == 1
