"""A report's or a match request's exact hashes (MD5, SHA-1, SHA-256) are looked up together:
one statement on PostgreSQL (two arrays, whatever their length), chunks of 900 values on SQLite
(its parameter limit). Every known active hash is found at every position it was asked, under
its own algorithm only; a suspended indicator and a value known under another algorithm are
not. On both real databases."""

from __future__ import annotations

from sqlalchemy import event

from balise.accounts.actors import Actor
from balise.detection.matching_types import HashQuery
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus

SYSTEM = Actor.system("test")


def _add(balise, algorithm: Algorithm, value: str) -> int:  # type: ignore[no-untyped-def]
    with balise.db.transaction() as session:
        return balise.indicators.add(session, SYSTEM, algorithm=algorithm, value=value,
                                     kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"}).id


def test_two_thousand_exact_hashes_find_each_known_one_at_each_position(balise):
    known_md5 = [f"{n:032x}" for n in (5, 950, 1900)]
    known_sha256 = f"{7:064x}"
    ids = {value: _add(balise, Algorithm.MD5, value) for value in known_md5}
    ids[known_sha256] = _add(balise, Algorithm.SHA256, known_sha256)
    suspended = _add(balise, Algorithm.MD5, f"{1000:032x}")
    with balise.db.transaction() as session:
        balise.indicators.set_status(session, SYSTEM, suspended, IndicatorStatus.SUSPENDED, "DEMO test")
    # 2,000 MD5 values, the SHA-256 one asked twice, and a known MD5 value asked as a SHA-1.
    queries = [HashQuery("md5", f"{n:032x}") for n in range(2000)]
    queries += [HashQuery("sha256", known_sha256), HashQuery("sha256", known_sha256),
                HashQuery("sha1", f"{5:032x}".rjust(40, "0"))]
    statements: list[str] = []

    def note(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        if "FROM indicators" in statement:
            statements.append(statement)

    event.listen(balise.db.engine, "before_cursor_execute", note)
    try:
        outcomes = balise.matcher.match(queries)
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", note)
    found = {i: [m["indicator_id"] for m in o.matches] for i, o in enumerate(outcomes) if o.matches}
    assert found == {5: [ids[known_md5[0]]], 950: [ids[known_md5[1]]], 1900: [ids[known_md5[2]]],
                     2000: [ids[known_sha256]], 2001: [ids[known_sha256]]}
    reads = [s for s in statements if "WHERE indicators.algorithm" in s]
    assert len(reads) == (1 if balise.db.engine.dialect.name == "postgresql" else 3)
