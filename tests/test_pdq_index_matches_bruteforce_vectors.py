"""The PDQ index, built from the reference haystack and queried with the reference needles at
threshold 31, returns exactly the published brute-force (needle, haystack, distance) rows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from balise.detection.adapters.pdq_index import PdqIndex, hamming, hex_to_words
from tests.vectors import vectors_dir


def read_hashes(path: Path) -> list[str]:
    assert path.is_file(), f"missing reference file {path}"
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def expected_rows() -> set[tuple[int, int, int]]:
    path = vectors_dir() / "expected" / "mih_needles_vs_haystack_bruteforce_d32.csv"
    assert path.is_file(), f"missing {path}"
    with path.open(newline="") as fh:
        return {(int(r["needle_line"]), int(r["haystack_line"]), int(r["hamming"])) for r in csv.DictReader(fh)}


def test_index_returns_exactly_the_bruteforce_pairs() -> None:
    base = vectors_dir() / "pdq" / "data" / "reg-test-input"
    haystack = read_hashes(base / "haystack.txt")
    needles = read_hashes(base / "needles.txt")
    assert len(haystack) == 1350 and len(needles) == 100
    index = PdqIndex.build(hex_to_words(haystack), np.arange(1, len(haystack) + 1))  # ids = 1-based lines
    result = index.query_hex(needles, threshold=31)
    got = {(q + 1, i, d) for q, i, d in zip(result.query_index.tolist(), result.ids.tolist(), result.distances.tolist())}
    expected = expected_rows()
    assert len(expected) == 250
    assert got - expected == set(), "extra pairs"
    assert expected - got == set(), "missed pairs"


def test_index_distances_agree_with_hamming_and_are_sorted() -> None:
    base = vectors_dir() / "pdq" / "data" / "reg-test-input"
    haystack = hex_to_words(read_hashes(base / "haystack.txt"))
    needles = hex_to_words(read_hashes(base / "needles.txt"))
    index = PdqIndex.build(haystack, np.arange(len(haystack)))
    r = index.query(needles)
    np.testing.assert_array_equal(r.distances, hamming(needles[r.query_index], haystack[r.ids]))
    order = np.lexsort((r.ids, r.distances, r.query_index))
    np.testing.assert_array_equal(order, np.arange(len(r)))


def test_single_needle_queries_match_the_batch() -> None:
    base = vectors_dir() / "pdq" / "data" / "reg-test-input"
    haystack = read_hashes(base / "haystack.txt")
    needles = read_hashes(base / "needles.txt")
    index = PdqIndex.build(hex_to_words(haystack), np.arange(1, len(haystack) + 1))
    batch = index.query_hex(needles)
    for q, needle in enumerate(needles):
        single = index.query_hex([needle])
        assert single.for_query(0) == batch.for_query(q)


def test_short256_lines_one_and_two_are_four_bits_apart() -> None:
    hashes = read_hashes(vectors_dir() / "pdq" / "data" / "reg-test-input" / "short256.dat")
    w = hex_to_words(hashes[:2])
    assert int(hamming(w[0], w[1])) == 4
    index = PdqIndex.build(w[1:2], np.array([2]))
    assert index.query(w[0:1], threshold=3).ids.tolist() == []
    assert index.query(w[0:1], threshold=4).for_query(0) == [(2, 4)]
