"""Transparency table (b) (CSAR Art. 83(3)(b)): the Article 36 submissions received in the year,
by the Member State of the submitting authority (a court decision has none: "not known") and by
database, with the indicators they generated (created, or the centre's candidates they
confirmed; a hash named again generates nothing), on SQLite and PostgreSQL; small counts are
withheld; the public page shows the table in words."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus
from balise.domain.model import OrgKind
from balise.domain.submissions import SubmissionChannel, check_submission
from balise.domain.transparency import SUPPRESSED
from balise.governance.transparency import Transparency
from tests import transparency_support as data

ACTOR = Actor.system("test")


def md5(text: str) -> str:
    return hashlib.md5(f"DEMO {text}".encode()).hexdigest()


def _authority(app: Balise, name: str, country: str):  # type: ignore[no-untyped-def]
    with app.db.transaction() as s:
        return app.organisations.create(s, ACTOR, name=name, kind=OrgKind.COORDINATING_AUTHORITY, country=country).id


def _submit(app: Balise, org, reference: str, values: list[str], kind: str = "known_csam",  # type: ignore[no-untyped-def]
            court: str | None = None) -> None:
    terms = check_submission(reference=reference, hashes=[{"algorithm": "md5", "value": v} for v in values],
                             authority=court or "authority", kind=kind,
                             process="court_decision" if court else "authority_confirmation")
    with app.db.transaction() as s:
        app.submissions.submit(s, ACTOR, terms, channel=SubmissionChannel.API, organisation_id=org)


def _seed(app: Balise, clock: data.Clock) -> None:
    fr = _authority(app, "DEMO Autorité FR", "FR")
    de = _authority(app, "DEMO Behörde DE", "DE")
    clock.now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    _submit(app, fr, "FR-2025-1", [md5("last year")], kind="solicitation")  # another year: not counted
    clock.now = data.NOW - timedelta(hours=1)  # the year's period ends at NOW, excluded
    _submit(app, fr, "FR-1", [md5("a"), md5("b"), md5("c")])
    _submit(app, fr, "FR-2", [md5("a"), md5("d")])  # "a" again: reconfirmed, not generated
    for n in range(8):
        _submit(app, fr, f"FR-{n + 3}", [md5(f"fr {n}")])
    # The centre's own candidate, waiting for an authority: confirming it generates it.
    with app.db.transaction() as s:
        ind = app.indicators.add(s, ACTOR, algorithm=Algorithm.MD5, value=md5("candidate"),
                                 kind=IndicatorKind.KNOWN_CSAM, provenance={"assessment": {"item": "DEMO"}})
        s.execute(update(Indicator).where(Indicator.id == ind.id).values(
            status=IndicatorStatus.AWAITING_AUTHORITY.value, awaiting_since=clock.now))
    _submit(app, de, "DE-1", [md5("candidate"), md5("de")])
    _submit(app, de, "DE-2", [md5("de solicitation")], kind="solicitation")
    _submit(app, None, "TJ 26/1", [md5("court")], kind="new_csam", court="DEMO Tribunal judiciaire de Lyon")
    clock.now = data.NOW


def _table(app: Balise, threshold: int):  # type: ignore[no-untyped-def]
    with app.db.sessions() as s:
        report = Transparency(app.clock, threshold).build(s, 2026)
    table = report.table("submissions_by_state")
    return report, table, [(row.keys, row.values, row.withheld) for row in table.rows]


def test_submissions_and_the_indicators_they_generated_by_state_and_database(settings):
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    try:
        _seed(app, clock)
        report, table, rows = _table(app, 1)
        assert (table.point, table.keys, table.measures, table.note) == (
            "b", ("member_state", "indicator_kind"), ("submissions", "indicators"), None)
        assert [(k, v) for k, v, _ in rows] == [
            (("FR", "known_csam"), (10, 12)),  # 3 + 1 (d) + 8
            (("DE", "known_csam"), (1, 2)),  # the confirmed candidate and one new
            (("DE", "solicitation"), (1, 1)),
            ((None, "new_csam"), (1, 1)),  # a court decision: no authority's Member State
        ]
        assert report.headline["submissions"] == 13

        # Below the threshold the cells are withheld; the FR row stays.
        report, _, rows = _table(app, 10)
        assert rows[0] == (("FR", "known_csam"), (10, 12), (None, None))
        assert all(v == (None, None) and w == (SUPPRESSED, SUPPRESSED) for _, v, w in rows[1:])
        assert report.headline["submissions"] == 13
    finally:
        app.close()


def test_the_public_page_shows_the_submissions_in_words(settings, client):
    clock = data.Clock(data.NOW)
    app = Balise(settings, clock=clock)
    try:
        _seed(app, clock)
    finally:
        app.close()
    html = client.get("/transparency/en/2026").text
    section = html[html.index("Submissions by coordinating authorities, by Member State"):]
    section = section[:section.index("</table>")]
    for words in ("Member State", "Database", "Submissions", "Indicators", "France (FR)", "Known abuse material",
                  "Germany (DE)", "Solicitation of children", "Not known", "New abuse material", "12"):
        assert words in section, words
    assert "known_csam" not in section and "None" not in section
    assert "No submissions are counted" not in html
