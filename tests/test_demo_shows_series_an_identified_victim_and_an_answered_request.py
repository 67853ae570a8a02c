"""DEMO data shows the victims-first work (issue 17): a series spanning three reports whose
victim is not identified, one spanning two marked identified by the DEMO police liaison (a
case reference only), and a victim's request from a DEMO coordinating authority answered with
the three reports."""

from __future__ import annotations

from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import Organisation, Series, SeriesHash, VictimRequest


def test_demo_series_and_victim_request(balise):
    result = demo.seed(balise, reports=1, error_history=False)
    assert result.authority_key and result.authority_key.startswith("bal_")
    with balise.db.sessions() as s:
        series = s.execute(select(Series).order_by(Series.id)).scalars().all()
        spans = {x.id: {r for (r,) in s.execute(select(SeriesHash.report_id).where(SeriesHash.series_id == x.id)
                                                .distinct()).all()} for x in series}
        by_size = sorted(series, key=lambda x: len(spans[x.id]))
        assert [len(spans[x.id]) for x in by_size] == [2, 3]
        assert by_size[0].identified and by_size[0].case_reference == "DEMO-FR-2026-0001"
        assert not by_size[1].identified
        (request,) = s.execute(select(VictimRequest)).scalars().all()
        org = s.get(Organisation, request.organisation_id)
        assert org.kind == "coordinating_authority" and org.is_demo
        assert {a["report"] for a in request.answer} == {str(r) for r in spans[by_size[1].id]}
        assert request.answered_at is not None and request.authority_reference == "DEMO-CA-2026-001"
