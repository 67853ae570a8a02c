"""Retention may run twice, crash half-way or race another worker: a second run changes nothing,
a report whose transaction failed is untouched and redacted by the next run, two workers
never redact one report twice, and content that a live report still holds stays in the vault."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item, Notice, Person, Report, VaultObject
from tests.helpers import make_provider
from tests.retention_support import app_on_clock, close_unfounded, file_media_report, picture, vault_file
from tests.takedown_support import Clock


def _closed(app, key, seeds) -> list:
    ids = [file_media_report(app, key, picture(seed)) for seed in seeds]
    app.run_jobs()
    for report_id in ids:
        close_unfounded(app, report_id)
    app.run_jobs()
    return ids


def _snapshot(app) -> dict[str, Any]:
    def row(obj: Any) -> dict[str, Any]:
        return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}

    with app.db.sessions() as s:
        return {
            "reports": sorted((row(r) for r in s.execute(select(Report)).scalars()), key=lambda r: str(r["id"])),
            "items": sorted((row(i) for i in s.execute(select(Item)).scalars()), key=lambda r: str(r["id"])),
            "notices": [row(n) for n in s.execute(select(Notice).order_by(Notice.id)).scalars()],
            "vault": sorted(s.execute(select(VaultObject.sha256)).scalars()),
            "files": sorted(p.name for p in app.settings.vault_path.rglob("*.blv")),
        }


def _redactions(app) -> list[str]:
    with app.db.sessions() as s:
        return sorted(s.execute(select(AuditRecord.subject_id).where(AuditRecord.event_type == "report:redact")).scalars())


def test_running_twice_leaves_the_same_state(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    ids = _closed(app, key, (41, 42))
    clock.advance(days=91)
    app.retention.run()
    before = _snapshot(app)
    assert all(r["redacted_at"] == clock.now for r in before["reports"]) and before["files"] == []
    clock.advance(hours=1)
    again = app.retention.run()
    assert all(found == [] for found in again.redacted.values()) and not again.removed
    assert _snapshot(app) == before
    assert _redactions(app) == sorted(str(i) for i in ids)
    app.close()


def test_content_a_live_report_still_holds_stays_in_the_vault(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    same = picture(43)
    [closed] = _closed(app, key, (43,))
    live = file_media_report(app, key, same)  # the same picture reported again, still open
    app.run_jobs()
    with app.db.sessions() as s:
        sha = s.get(Report, closed).items[0].vault_object
        assert s.get(Report, live).items[0].vault_object == sha
    clock.advance(days=91)
    app.retention.run()
    with app.db.sessions() as s:
        assert s.get(Report, closed).redacted_at is not None and s.get(Report, closed).items[0].vault_object is None
        assert s.get(VaultObject, sha) is not None
        removed = s.execute(select(AuditRecord.details).where(AuditRecord.event_type == "report:redact")).scalar_one()
    assert removed["removed"]["vault_objects_kept_shared"] == 1 and "vault_objects" not in removed["removed"]
    assert vault_file(app, sha).exists()
    with app.db.transaction() as s:
        assert app.evidence.read_all(s, sha, Actor.system("test"), "DEMO: the live report's content") == same
    # Once the live report is closed and its own retention passes, the content goes too.
    close_unfounded(app, live)
    app.run_jobs()
    clock.advance(days=91)
    app.retention.run()
    assert not vault_file(app, sha).exists()
    app.close()


class _FailingOnce:
    """Local copies whose first deletion fails, as a full or read-only disk would."""

    def __init__(self, real: Any) -> None:
        self.real, self.failed = real, False

    def delete_package(self, path: str) -> bool:
        return self.real.delete_package(path)

    def delete_notice_copies(self, reference: str, package_file: str | None) -> int:
        if not self.failed:
            self.failed = True
            raise OSError(30, "Read-only file system")
        return self.real.delete_notice_copies(reference, package_file)


def test_a_report_whose_redaction_fails_is_untouched_and_redacted_by_the_next_run(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    ids = _closed(app, key, (44, 45))
    retention = app.retention
    retention._copies = _FailingOnce(retention._copies)
    clock.advance(days=91)
    first = retention.run()
    [(failed_id, error)] = first.failed
    assert "Read-only file system" in error
    [done] = [i for ids_ in first.redacted.values() for i in ids_]
    assert {failed_id, done} == {str(i) for i in ids}
    with app.db.sessions() as s:
        untouched = s.execute(select(Report).where(Report.id.in_(ids), Report.redacted_at.is_(None))).scalar_one()
        assert str(untouched.id) == failed_id and untouched.persons and untouched.additional_info
        sha = untouched.items[0].vault_object
        run = s.execute(select(AuditRecord.details).where(AuditRecord.event_type == "retention:run")).scalar_one()
    assert vault_file(app, sha).exists()  # nothing of the failed report was lost
    assert run["failed"] == [failed_id]
    second = retention.run()
    assert [i for ids_ in second.redacted.values() for i in ids_] == [failed_id] and second.failed == []
    assert not vault_file(app, sha).exists()
    assert _redactions(app) == sorted(str(i) for i in ids)
    app.close()


def test_two_workers_racing_redact_each_report_once(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    ids = _closed(app, key, (46, 47, 48, 49))
    clock.advance(days=91)
    retention = app.retention
    start = threading.Barrier(2)
    results = []

    def worker() -> None:
        start.wait()
        results.append(retention.run())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 2 and all(r.failed == [] for r in results)
    # Between them the two runs redacted every report exactly once.
    redacted = sorted(i for r in results for ids_ in r.redacted.values() for i in ids_)
    assert redacted == sorted(str(i) for i in ids)
    assert _redactions(app) == redacted
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Person)).scalar() == 0
    app.close()
