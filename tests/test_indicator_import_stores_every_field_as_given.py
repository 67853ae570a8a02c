"""A page of new indicators goes to PostgreSQL as COPY text written by Balise (escapes for
backslash, tab, newline and carriage return; NULL; JSON columns as JSON text), to SQLite as
one executemany: either way every field reads back exactly as it was given, including text
that looks like COPY's own escapes, non-ASCII text and absent values."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.detection.formats import Candidate, ImportReport
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus

AWKWARD = "back\\slash \\N tab\there new\nline cr\rend é 子 \\t"
SHORT = "i\\N\tm\ng\re"  # media_type holds 16 characters


def test_every_field_of_a_new_indicator_reads_back_as_given(balise) -> None:
    given = [
        Candidate(line=1, algorithm=Algorithm.PDQ, value="f" * 64, kind=IndicatorKind.KNOWN_CSAM,
                  media_type="image", status=IndicatorStatus.ACTIVE, quality=None, language=None,
                  classification={}),
        Candidate(line=2, algorithm=Algorithm.MD5, value="0" * 32, kind=IndicatorKind.KNOWN_CSAM,
                  media_type=SHORT, status=IndicatorStatus.ACTIVE, quality=87, language="fr",
                  classification={"note": AWKWARD, "category": "A", "nested": {"n": [1, None, "\\"]}}),
    ]
    with balise.db.transaction() as s:
        report = balise.indicators.import_candidates(s, Actor.system("test"), given, ImportReport(), fmt="test",
                                                     source=AWKWARD)
    assert report.imported == 2
    with balise.db.sessions() as s:
        rows = {r.value: r for r in s.execute(select(Indicator)).scalars()}
    plain, awkward = rows["f" * 64], rows["0" * 32]
    assert (plain.quality, plain.language, plain.classification, plain.frames) == (None, None, None, None)
    assert plain.provenance == {"source": AWKWARD, "line": 1}
    assert awkward.media_type == SHORT and awkward.quality == 87 and awkward.language == "fr"
    assert awkward.classification == {"note": AWKWARD, "category": "A", "nested": {"n": [1, None, "\\"]}}
    assert awkward.provenance == {"source": AWKWARD, "line": 2}
    assert plain.created_at == awkward.created_at and plain.created_at.tzinfo is not None
    assert {plain.status, awkward.status} == {"active"} and awkward.version == plain.version + 1
