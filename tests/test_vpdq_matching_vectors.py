"""vPDQ matching reproduces the pairwise results of the reference brute-force rule over the
sample hash files (tests/data/vectors/README.md): for all 120 pairs, the unique quality >= 50
frame counts and both match percentages (within 0.01) at distance 31; at 80 % / 0 % exactly 14
pairs match."""

from __future__ import annotations

import csv
from functools import lru_cache

import pytest

from balise.detection.adapters.vpdq_match import (
    VpdqFrame,
    is_match,
    match,
    match_pct,
    parse_vpdq_lines,
    unique_good_frames,
)
from tests.vectors import vectors_dir


@lru_cache(maxsize=None)
def frames(name: str) -> tuple[VpdqFrame, ...]:
    path = vectors_dir() / "vpdq" / "sample-hashes" / f"{name}.txt"
    assert path.is_file(), f"missing {path}"
    return tuple(parse_vpdq_lines(path.read_text()))


def expected_pairs() -> list[dict[str, str]]:
    path = vectors_dir() / "expected" / "vpdq_pairwise_match_pct_D31_F50.csv"
    assert path.is_file(), f"missing {path}"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120
    return rows


def test_all_pairs_reproduce_the_reference_percentages_and_counts() -> None:
    for row in expected_pairs():
        q, c = frames(row["query"]), frames(row["compared"])
        assert len(q) == int(row["query_frames"]) and len(c) == int(row["compared_frames"]), row
        m = match(q, c, distance=31, quality=50)
        assert m.query_unique_frames == int(row["query_unique_q>=50"]), row
        assert m.compared_unique_frames == int(row["compared_unique_q>=50"]), row
        assert m.query_pct == pytest.approx(float(row["query_pct_matched"]), abs=0.01), row
        assert m.compared_pct == pytest.approx(float(row["compared_pct_matched"]), abs=0.01), row
        assert match_pct(q, c) == (m.query_pct, m.compared_pct)


def test_exactly_14_pairs_match_at_80_and_0_percent() -> None:
    matched = [r for r in expected_pairs() if is_match(frames(r["query"]), frames(r["compared"]), 31, 50, 80, 0)]
    assert len(matched) == 14
    reference = [r for r in expected_pairs() if float(r["query_pct_matched"]) >= 80]
    assert matched == reference


def test_thresholds_are_configurable() -> None:
    row = expected_pairs()[0]
    q, c = frames(row["query"]), frames(row["compared"])
    strict = match(q, c, distance=0)
    assert strict.query_pct <= match(q, c, distance=31).query_pct
    assert not is_match(q, c, query_match_pct=100.01)
    assert is_match(q, c, query_match_pct=0, compared_match_pct=0)
    assert len(unique_good_frames(q, quality=101)) == 0
    assert match(q, c, quality=101).is_match is False


def test_parser_refuses_malformed_lines_with_their_number() -> None:
    good = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000"
    assert parse_vpdq_lines(good + "\n\n" + good.upper() + "\n")[1].pdq_hex == good.split(",")[2]
    for bad in (good[:-6], good.replace("e27", "x27"), "a," + good[2:], good + ",1"):
        with pytest.raises(ValueError, match="line 2"):
            parse_vpdq_lines(good + "\n" + bad)
