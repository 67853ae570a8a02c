"""/ispws/retract cancels an unfinished report: its XML, files and file details leave the vault
(audited), only a tombstone row stays, nothing reaches triage, and the expiry job later finds
nothing to do."""

from __future__ import annotations

from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, IspwsFile, IspwsReport, Report, VaultObject
from tests.ispws_support import (
    answer,
    basic,
    code,
    demo_jpeg,
    file_details,
    fileinfo,
    make_ispws_provider,
    open_report,
    retract,
    rich_report,
    upload_ok,
)


def test_retract_deletes_the_staged_report_and_its_files(client, balise):
    _, user, password = make_ispws_provider(balise)
    auth = basic(user, password)
    report_id = open_report(client, auth, rich_report())
    first = upload_ok(client, auth, report_id, demo_jpeg(41))
    upload_ok(client, auth, report_id, demo_jpeg(42))
    assert code(fileinfo(client, auth, file_details(report_id, first))) == 0

    r = retract(client, auth, report_id)
    assert r.status_code == 200 and code(r) == 0 and answer(r).findtext("reportId") == str(report_id)

    with balise.db.sessions() as session:
        row = session.get(IspwsReport, report_id)
        assert row.state == "retracted" and row.document_object is None and row.closed_at is not None
        assert session.execute(select(func.count()).select_from(IspwsFile)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(VaultObject)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Report)).scalar_one() == 0
        deletions = session.execute(select(AuditRecord).where(AuditRecord.event_type == "media:delete")).scalars().all()
        assert len(deletions) == 4 and {d.actor_type for d in deletions} == {"organisation"}
        assert session.execute(select(AuditRecord.event_type).order_by(AuditRecord.seq.desc()).limit(1)).scalar_one() \
            == "ispws:report_retract"
    assert not list(balise.settings.vault_path.rglob("*.blv"))

    balise.ispws.expire({"report_id": report_id})  # what the expiry job will do at the deadline
    with balise.db.sessions() as session:
        assert session.get(IspwsReport, report_id).state == "retracted"
