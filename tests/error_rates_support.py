"""Reports and items with known matches and decisions, written as rows (the figures read rows;
how the rows come about through intake and the workbench is proven apart), and indicators of
named lists."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Report
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind

ACTOR = Actor.system("test")


def indicator(app: Balise, algorithm: Algorithm, value: str, source: str | None,
              assessed: bool = False) -> int:
    provenance: dict[str, Any] = {"source": source} if source else {}
    if assessed:
        provenance = {"assessment": {"item": str(uuid.uuid4()), "assessed_by": "someone"}}
    with app.db.transaction() as session:
        return app.indicators.add(session, ACTOR, algorithm=algorithm, value=value, kind=IndicatorKind.KNOWN_CSAM,
                                  provenance=provenance, quality=100 if algorithm is Algorithm.PDQ else None).id


def item(app: Balise, received: datetime, *, matches: list[dict[str, Any]] | None = None,
         source: str = "provider_api", outcome: str | None = None, assessment_source: str | None = None,
         report_outcome: str | None = None) -> uuid.UUID:
    """One report with one hash-only item, as the figures find it."""
    with app.db.transaction() as session:
        report = Report(source=source, state="in_assessment" if report_outcome is None else "manifestly_unfounded"
                        if report_outcome == "manifestly_unfounded" else "forwarded_europol_only",
                        outcome=report_outcome, is_demo=True, created_at=received, updated_at=received)
        report.items.append(Item(position=0, kind="hash_only", media_type="image", matches=matches,
                                 matched=bool(matches), outcome=outcome, assessment_source=assessment_source,
                                 created_at=received))
        session.add(report)
        session.flush()
        return report.items[0].id


def md5_match(indicator_id: int) -> list[dict[str, Any]]:
    return [{"indicator_id": indicator_id, "algorithm": "md5", "distance": 0}]


def pdq_match(indicator_id: int, distance: int) -> list[dict[str, Any]]:
    return [{"indicator_id": indicator_id, "algorithm": "pdq", "distance": distance}]


SEPT = datetime(2026, 9, 10, 12, tzinfo=timezone.utc)
OCT = datetime(2026, 10, 1, tzinfo=timezone.utc)  # the first instant of October
NOV = datetime(2026, 11, 5, 8, tzinfo=timezone.utc)


def three_months(balise: Balise) -> None:
    """September to November 2026: 16 exact-hash items (12 confirmed, 3 overturned, 1 not
    decided), 6 far PDQ matches, 3 provider flags, a public report, one own indicator."""
    a = indicator(balise, Algorithm.MD5, "1" * 32, "list A")
    b = indicator(balise, Algorithm.PDQ, "f" * 64, "list B")
    c = indicator(balise, Algorithm.SHA256, "2" * 64, None, assessed=True)
    reuse = f"reuse:indicator:{a}"
    for n in range(5):
        item(balise, SEPT + timedelta(hours=n), matches=md5_match(a), outcome="illegal", assessment_source="analyst")
    for n in range(3):  # inherited from the indicator, let stand by the analyst who forwarded
        item(balise, SEPT, matches=md5_match(a), outcome="illegal", assessment_source=reuse, report_outcome="forwarded")
    item(balise, SEPT, matches=md5_match(a), outcome="not_illegal", assessment_source="analyst")
    item(balise, SEPT, matches=md5_match(a), outcome="illegal", assessment_source=reuse,
         report_outcome="manifestly_unfounded")
    item(balise, SEPT, matches=md5_match(a), outcome="illegal", assessment_source=reuse)  # nobody decided yet
    for n in range(4):
        item(balise, OCT + timedelta(days=n), matches=md5_match(a), outcome="illegal", assessment_source="analyst")
    item(balise, OCT, matches=md5_match(a), outcome="not_illegal", assessment_source="analyst")
    for n in range(5):
        item(balise, OCT + timedelta(days=3), matches=pdq_match(b, 25), outcome="illegal" if n < 3 else "not_illegal",
             assessment_source="analyst")
    item(balise, OCT, matches=pdq_match(b, 0), outcome="cannot_assess", assessment_source="analyst")
    item(balise, NOV, report_outcome="manifestly_unfounded")
    item(balise, NOV, report_outcome="manifestly_unfounded")
    item(balise, NOV, outcome="illegal", assessment_source="analyst")
    item(balise, NOV, source="public_form", outcome="illegal", assessment_source="analyst")
    item(balise, NOV, matches=[{"indicator_id": c, "algorithm": "sha256", "distance": 0}], outcome="illegal",
         assessment_source="analyst")
