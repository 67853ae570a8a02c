"""On generated data (random hashes plus near-duplicate families), the index returns exactly
the brute-force answer at every threshold, for batched and for single queries, whatever the
chunking."""

from __future__ import annotations

import numpy as np
import pytest

from balise.detection.adapters.pdq_index import PdqIndex
from tests.pdq_support import flip

THRESHOLDS = (0, 1, 8, 16, 31)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    random_part = rng.integers(0, 2**64, size=(200_000, 4), dtype=np.uint64)
    centres = rng.integers(0, 2**64, size=(400, 4), dtype=np.uint64)
    sizes = rng.integers(2, 51, size=centres.shape[0])
    members = np.repeat(centres, sizes, axis=0)
    families = flip(members, rng.integers(0, 41, members.shape[0]), rng)
    dupes = random_part[rng.integers(0, 200_000, 50)]  # exact duplicates under other ids
    corpus = np.concatenate([random_part, families, dupes])
    ids = rng.permutation(corpus.shape[0]).astype(np.int64) * 3 + 11  # arbitrary, not row numbers
    src = rng.integers(0, corpus.shape[0], 200)
    near = flip(corpus[src], rng.integers(0, 36, 200), rng)
    queries = np.concatenate([near, rng.integers(0, 2**64, size=(100, 4), dtype=np.uint64)])
    return corpus, ids, queries


@pytest.fixture(scope="module")
def distances(data) -> np.ndarray:
    corpus, _, queries = data
    d = np.zeros((queries.shape[0], corpus.shape[0]), dtype=np.int16)
    for w in range(4):
        d += np.bitwise_count(queries[:, w, None] ^ corpus[None, :, w]).astype(np.int16)
    return d


def brute(distances: np.ndarray, ids: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    q, r = np.nonzero(distances <= threshold)
    return set(zip(q.tolist(), ids[r].tolist(), distances[q, r].tolist()))


def as_set(result) -> set[tuple[int, int, int]]:
    return set(zip(result.query_index.tolist(), result.ids.tolist(), result.distances.tolist()))


@pytest.mark.parametrize("chunks", [None, 13, 16, 24, 32])
def test_batched_queries_equal_bruteforce(data, distances, chunks) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus, ids, chunks=chunks)
    for t in THRESHOLDS:
        result = index.query(queries, threshold=t)
        expected = brute(distances, ids, t)
        assert as_set(result) == expected, f"threshold {t}, chunks {chunks}"
        assert len(result) == len(expected), "duplicates in the result"
        if t == 31:  # the families and duplicates give queries several neighbours
            assert len(expected) > 200 and np.bincount(result.query_index).max() >= 3


def test_single_queries_equal_bruteforce(data, distances) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus, ids)
    for t in (0, 16, 31):
        expected = brute(distances, ids, t)
        got = set()
        for i in range(0, queries.shape[0], 3):
            r = index.query(queries[i], threshold=t)
            assert set(r.query_index.tolist()) <= {0}
            got.update((i, int(a), int(b)) for a, b in zip(r.ids, r.distances))
        assert got == {row for row in expected if row[0] % 3 == 0}


def test_larger_thresholds_are_exact_too(data, distances) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus, ids)
    for t in (40, 70):
        assert as_set(index.query(queries[:40], threshold=t)) == {r for r in brute(distances, ids, t) if r[0] < 40}


def test_results_are_sorted_by_query_distance_id(data) -> None:
    corpus, ids, queries = data
    r = PdqIndex.build(corpus, ids).query(queries, 31)
    order = np.lexsort((r.ids, r.distances, r.query_index))
    np.testing.assert_array_equal(order, np.arange(len(r)))


def test_tiny_and_empty_indexes(data) -> None:
    corpus, ids, queries = data
    for n in (0, 1, 2, 17):
        index = PdqIndex.build(corpus[:n], ids[:n])
        d = np.bitwise_count(queries[:, None, :] ^ corpus[None, :n, :]).sum(axis=2)
        q, r = np.nonzero(d <= 31)
        assert as_set(index.query(queries, 31)) == set(zip(q.tolist(), ids[r].tolist(), d[q, r].tolist()))


def test_threshold_out_of_range_is_refused(data) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus[:100], ids[:100])
    with pytest.raises(ValueError):
        index.query(queries, threshold=-1)
    with pytest.raises(ValueError):
        index.query(queries, threshold=257)
    with pytest.raises(TypeError):
        index.query(queries, threshold=3.5)
    with pytest.raises(ValueError):
        PdqIndex.build(corpus[:100], ids[:100], chunks=8)  # 32-bit chunks: 2**32 buckets each
