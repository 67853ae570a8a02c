"""A PDQ match reads what it says of an indicator (kind, classification, version) from the
database once, then from the process's cache: a repeated match sends no query for it. A change
to the indicator takes a new version; once the index has refreshed, the next match says the new
classification (never older than the index itself). Exact-hash matches read the details with
their hits, as before. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event

from balise.accounts.actors import Actor
from balise.detection.matching_types import HashQuery
from balise.domain.indicators import Algorithm, IndicatorKind

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "0123456789abcdef0123456789abcdef"
SYSTEM = Actor.system("test")


def detail_reads(balise, queries):  # type: ignore[no-untyped-def]
    """The match's outcome and how many statements read indicator rows by id (the details)."""
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(balise.db.engine, "before_cursor_execute", seen)
    try:
        outcome = balise.matcher.match(queries)
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "FROM indicators" in s and "indicators.id IN" in s]
    return outcome, len(reads)


def add(balise, algorithm, value, category):  # type: ignore[no-untyped-def]
    with balise.db.transaction() as session:
        balise.indicators.add(session, SYSTEM, algorithm=algorithm, value=value, kind=IndicatorKind.KNOWN_CSAM,
                              provenance={"source": "test"}, classification={"ncmec_category": category})


def test_a_repeated_pdq_match_reads_no_details_and_a_change_is_seen_after_the_refresh(balise):
    add(balise, Algorithm.PDQ, PDQ, "A1")
    balise.matcher.pdq.refresh(force=True)
    query = [HashQuery("pdq", PDQ)]

    first, reads = detail_reads(balise, query)
    assert first[0].matches[0]["classification"] == {"ncmec_category": "A1"} and reads == 1
    again, reads = detail_reads(balise, query)
    assert again[0].matches[0]["classification"] == {"ncmec_category": "A1"} and reads == 0
    version = again[0].matches[0]["version"]

    # What a caller does with its answer does not reach the next caller.
    again[0].matches[0]["classification"]["ncmec_category"] = "tampered"
    assert detail_reads(balise, query)[0][0].matches[0]["classification"] == {"ncmec_category": "A1"}

    add(balise, Algorithm.PDQ, PDQ, "B1")
    balise.matcher.pdq.refresh(force=True)
    changed, reads = detail_reads(balise, query)
    assert changed[0].matches[0]["classification"] == {"ncmec_category": "B1"} and reads == 1
    assert changed[0].matches[0]["version"] > version


def test_exact_matches_read_their_details_every_time(balise):
    add(balise, Algorithm.MD5, MD5, "A2")
    for _ in range(2):
        outcome, reads = detail_reads(balise, [HashQuery("md5", MD5)])
        assert outcome[0].matches[0]["classification"] == {"ncmec_category": "A2"} and reads == 1


def test_what_a_caller_does_to_an_answer_leaves_the_cache_as_it_was(balise):
    with balise.db.transaction() as session:
        balise.indicators.add(session, SYSTEM, algorithm=Algorithm.PDQ, value=PDQ, kind=IndicatorKind.KNOWN_CSAM,
                              provenance={"source": "test"},
                              classification={"ncmec_category": "A1", "flags": ["deepfake"], "national": {"FR": "illegal"}})
    balise.matcher.pdq.refresh(force=True)
    query = [HashQuery("pdq", PDQ)]
    balise.matcher.match(query)  # fills the cache
    answer = balise.matcher.match(query)[0].matches[0]["classification"]
    answer["ncmec_category"] = "changed"
    answer["flags"].append("self_generated")
    answer["national"]["FR"] = "legal"
    again, reads = detail_reads(balise, query)
    assert reads == 0
    assert again[0].matches[0]["classification"] == {"ncmec_category": "A1", "flags": ["deepfake"],
                                                     "national": {"FR": "illegal"}}
