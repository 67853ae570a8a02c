"""A report redacted by retention has nothing left to act on: setting a hold, building an
evidence package or retrying a failed notice is refused with the date of the redaction, and
nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EvidencePackage, Hold, Item, Notice, Report
from balise.casework.assessment import Decision
from balise.evidence.packages import PackageError
from balise.takedown.holds import HoldError
from balise.takedown.notices import MAX_ATTEMPTS
from tests.helpers import make_provider
from tests.retention_support import app_on_clock, classify, close_unfounded, decide, file_media_report, picture
from tests.servers import free_port
from tests.takedown_support import Clock


def _audit_count(app) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(AuditRecord)).scalar()


def _redacted_forwarded(tmp_path, db_url):
    clock = Clock()
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(61))
    app.run_jobs()
    with app.db.sessions() as s:
        [item] = s.execute(select(Item).where(Item.report_id == report_id)).scalars().all()
    classify(app, item.id, "not_illegal")
    decide(app, report_id, Decision("forward", text="DEMO: forwarded for the test"))
    app.run_jobs()
    clock.advance(days=731)
    app.retention.run()
    with app.db.sessions() as s:
        assert s.get(Report, report_id).redacted_at == clock.now
    return app, clock, report_id


def test_a_hold_on_a_redacted_report_is_refused(tmp_path, db_url):
    app, clock, report_id = _redacted_forwarded(tmp_path, db_url)
    before = _audit_count(app)
    with pytest.raises(HoldError, match=f"redacted by retention on {clock.now:%Y-%m-%d}"):
        with app.db.transaction() as s:
            app.holds.set(s, Actor.system("test-police"), report_id, do_not_inform=True, do_not_remove=False,
                          authority="DEMO unit", expires_at=clock.now + timedelta(days=30))
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Hold)).scalar() == 0
    assert _audit_count(app) == before
    app.close()


def test_an_evidence_package_of_a_redacted_report_is_refused(tmp_path, db_url):
    app, clock, report_id = _redacted_forwarded(tmp_path, db_url)
    before = _audit_count(app)
    with pytest.raises(PackageError, match="its content and personal data are gone"):
        with app.db.transaction() as s:
            app.packages.build(s, Actor.system("test"), report_id)
    with app.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(EvidencePackage)).scalar() == 0
    assert list(app.settings.package_path.glob("*.zip")) == [] and _audit_count(app) == before
    app.close()


def test_a_failed_notice_of_a_redacted_report_cannot_be_retried(tmp_path, db_url):
    clock = Clock()
    # Nothing listens on this port: the provider's feedback e-mail fails for good.
    app = app_on_clock(tmp_path, db_url, clock, smtp_url=f"smtp://127.0.0.1:{free_port()}",
                       mail_from="DEMO Centre <centre@balise.example>")
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(62))
    app.run_jobs()
    close_unfounded(app, report_id)
    for _ in range(MAX_ATTEMPTS + 2):
        clock.advance(hours=2)
        app.run_jobs()
    with app.db.sessions() as s:
        notice = s.execute(select(Notice).where(Notice.report_id == report_id)).scalar_one()
        assert notice.status == "failed"
    clock.advance(days=91)
    app.retention.run()  # a failed notice does not keep the report: it will not be delivered
    with pytest.raises(ValueError, match=f"redacted by retention on {clock.now:%Y-%m-%d}: its text is gone"):
        with app.db.transaction() as s:
            app.notices.retry(s, notice.reference)
    with app.db.sessions() as s:
        again = s.get(Notice, notice.id)
        assert again.status == "failed" and again.body.startswith("[redacted by retention")
        assert "notice:retry" not in s.execute(select(AuditRecord.event_type)).scalars().all()
    app.close()
