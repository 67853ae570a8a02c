"""DEMO data (`make run`) shows two reports linked by a shared, checksum-valid DEMO wallet and
an alert about it to a DEMO payment partner, with the partner's answer."""

from __future__ import annotations

from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import EntityMention, FinancialAlert, Notice
from balise.domain import entities as E


def test_demo_wallet_links_two_reports_and_is_alerted(balise):
    demo.seed(balise, reports=3, error_history=False)
    wallet = demo.demo_wallet()
    assert E.crypto(wallet).valid and E.crypto(wallet).kind is E.EntityKind.MONERO
    with balise.db.sessions() as s:
        reports = set(s.execute(select(EntityMention.report_id).where(EntityMention.value == wallet)).scalars())
        assert len(reports) == 2
        (alert,) = s.execute(select(FinancialAlert)).scalars().all()
        notice = s.execute(select(Notice).where(Notice.reference == alert.reference)).scalar_one()
    assert alert.identifier == wallet and alert.outcome == "account_frozen" and alert.report_id in reports
    assert notice.kind == "financial_alert" and notice.channel == "export" and notice.status in ("sent", "acknowledged")
