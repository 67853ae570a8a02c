"""The reporter's address is stored only when they tick the box; name and email are optional
(DSA Art. 16(2)(c)) and stored only when given."""

from __future__ import annotations

from sqlalchemy import select, text

from balise.adapters.db.models import AuditRecord
from tests.public_support import receipt, stored, submit

ADDRESS = "testclient"  # what Starlette's test client reports as the peer address


def _row_values(balise, number):
    with balise.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM public_reports WHERE number = :n"), {"n": number}).mappings().one()
        report = conn.execute(text("SELECT * FROM reports WHERE id = :i"), {"i": row["report_id"]}).mappings().one()
    return dict(row), dict(report)


def test_no_ip_name_or_email_without_opt_in(client, balise):
    r = submit(client, "en", url="https://benign.example.test/a")
    number, _ = receipt(r.text)
    row, report = _row_values(balise, number)
    assert row["reporter_ip"] is None and row["reporter_name"] is None and row["reporter_email"] is None
    everything = " ".join(str(v) for v in [*row.values(), *report.values()])
    assert ADDRESS not in everything
    with balise.db.sessions() as session:
        details = [str(a.details) + a.actor_id for a in session.execute(select(AuditRecord)).scalars()]
    assert not any(ADDRESS in d for d in details)


def test_ip_kept_only_when_opted_in(client, balise):
    r = submit(client, "en", url="https://benign.example.test/b", keep_ip="yes", name="DEMO Name",
               email="demo@example.test")
    number, _ = receipt(r.text)
    row, _ = stored(balise, number)
    assert row.reporter_ip == ADDRESS
    assert row.reporter_name == "DEMO Name" and row.reporter_email == "demo@example.test"
