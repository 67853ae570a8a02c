"""Each imported indicator keeps where it came from as JSON: the file's name as given, its line,
and the Article 36 submission it rests on. On PostgreSQL the rows go through COPY with that JSON
written as text, so a name with quotes, backslashes or a tab must come back exactly as given."""

from __future__ import annotations

import io

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.domain.indicators import IndicatorKind
from balise.domain.submissions import check_decision

ACTOR = Actor.system("test")
SOURCE = 'DEMO "list"\\ of\tJune é.txt'
FILE = b"# DEMO hashes\npdq " + b"1" * 64 + b"\n\nmd5 " + b"a" * 32 + b"\n"


def _provenances(balise) -> dict[str, dict]:
    with balise.db.sessions() as s:
        return {i.algorithm: i.provenance for i in s.execute(select(Indicator)).scalars()}


def test_an_import_without_a_submission_keeps_the_name_and_line(balise):
    with balise.db.transaction() as s:
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(FILE), fmt="te", source=SOURCE)
    assert _provenances(balise) == {"pdq": {"source": SOURCE, "line": 2}, "md5": {"source": SOURCE, "line": 4}}


def test_an_import_under_a_decision_also_keeps_its_submission(balise):
    decision = check_decision(reference='DEMO-2026/"7"', authority="DEMO court\\chamber",
                              process="court_decision", kind=IndicatorKind.KNOWN_CSAM)
    with balise.db.transaction() as s:
        submission, _ = balise.submissions.import_stream(
            s, ACTOR, decision, io.BytesIO(FILE), organisation_id=None, fmt="te", source=SOURCE,
            default_kind=IndicatorKind.KNOWN_CSAM)
        submission_id = submission.id
    found = _provenances(balise)
    assert sorted(p["line"] for p in found.values()) == [2, 4]
    for provenance in found.values():
        assert provenance["source"] == SOURCE
        assert provenance["submission"]["id"] == submission_id
        assert provenance["submission"]["reference"] == 'DEMO-2026/"7"'
        assert provenance["submission"]["authority"] == "DEMO court\\chamber"
