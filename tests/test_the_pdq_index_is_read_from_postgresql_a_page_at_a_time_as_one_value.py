"""On PostgreSQL the PDQ index is built from pages of rows each read as one bytes value that
numpy parses (issue 19: a million rows in 1.2 s where fetching them as rows took 2). It reads
exactly what the row-by-row query reads: active PDQ indicators up to the version asked, across
page boundaries; a stored value that is not 64 characters sends it back to that query."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from balise.adapters.db.models import Indicator, IndicatorVersion
from balise.detection.adapters.pdq_index import hex_to_words
from balise.detection.matching import _read_active_pdq

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _row(value: str, *, version: int, algorithm: str = "pdq", status: str = "active") -> dict:
    return {"kind": "known_csam", "media_type": "image", "algorithm": algorithm, "value": value,
            "provenance": {"source": "test"}, "status": status, "version": version}


def _rows_query(session, version: int) -> dict[int, str]:
    return dict(session.execute(select(Indicator.id, Indicator.value).where(
        Indicator.algorithm == "pdq", Indicator.status == "active", Indicator.version <= version)).all())


def test_the_pages_read_what_the_row_query_reads(balise):
    rng = np.random.default_rng(3)
    values = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(23)]
    rows = [_row(v.upper() if i == 4 else v, version=i + 1) for i, v in enumerate(values)]
    rows[2]["status"] = "suspended"
    rows[7]["algorithm"], rows[7]["value"] = "sha256", "a" * 64
    with balise.db.transaction() as s:
        s.execute(insert(Indicator), rows)
    with balise.db.sessions() as s:
        expected = _rows_query(s, 20)
        for page in (5, 7, 250_000):  # boundaries inside, on and beyond the rows
            ids, words = _read_active_pdq(s, 20, page=page)
            assert sorted(ids.tolist()) == sorted(expected)
            order = np.argsort(ids)
            assert (words[order] == hex_to_words([expected[i] for i in ids[order].tolist()])).all()
        assert len(expected) == 18  # 20 versions, less one suspended and one sha256
        empty_ids, empty_words = _read_active_pdq(s, 0)
        assert empty_ids.shape == (0,) and empty_words.shape == (0, 4)


def test_a_value_of_another_length_sends_the_build_back_to_the_row_query(balise):
    with balise.db.transaction() as s:
        s.execute(insert(Indicator), [_row("0" * 64, version=1), _row("f" * 63, version=2)])
    with balise.db.sessions() as s:
        assert _read_active_pdq(s, 2) is None


def test_a_value_that_is_not_hex_sends_the_build_back_to_the_row_query(balise):
    with balise.db.transaction() as s:
        s.execute(insert(Indicator), [_row("0" * 64, version=1), _row("g" * 64, version=2)])
        s.execute(update(IndicatorVersion).values(version=2))
    with balise.db.sessions() as s:
        assert _read_active_pdq(s, 2) is None
        # ...which names the value that is wrong.
        with pytest.raises(ValueError, match="not 64 hex characters: 'ggg"):
            balise.pdq_index.rebuild_snapshot()
