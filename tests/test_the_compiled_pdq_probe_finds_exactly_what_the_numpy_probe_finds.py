"""The PDQ index probes with a compiled kernel (_pdq_probe.c) when it was built, and with numpy
otherwise. Both must give the brute-force answer on the same arrays: random hashes, families of
near-duplicates, one value stored many times (a bucket far larger than the others), both row
widths of the permutation, a memory-mapped snapshot, tombstones and a delta. A corrupt snapshot
is refused with an error, never read outside its arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from balise.detection.adapters import pdq_index
from balise.detection.adapters.pdq_index import PdqIndex, _probe, _probe_compiled
from tests.pdq_support import flip

THRESHOLDS = (0, 1, 9, 31, 40)


def test_this_installation_built_the_compiled_kernel() -> None:
    # Without a C compiler and Python's headers the install goes on without the kernel, and
    # the index is correct but slower; this says so instead of letting it pass unnoticed.
    assert pdq_index._pdq_probe is not None, (
        "the PDQ probing kernel was not compiled: install a C compiler and Python's headers "
        "(Debian: gcc python3-dev), then `make clean test`"
    )
    assert pdq_index.compiled_kernel()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20261204)
    random_part = rng.integers(0, 2**64, size=(60_000, 4), dtype=np.uint64)
    centres = rng.integers(0, 2**64, size=(200, 4), dtype=np.uint64)
    members = np.repeat(centres, rng.integers(2, 30, size=200), axis=0)
    families = flip(members, rng.integers(0, 41, members.shape[0]), rng)
    crowd = np.repeat(random_part[:1], 3_000, axis=0)  # one value 3,000 times: one huge bucket per chunk
    corpus = np.concatenate([random_part, families, crowd])
    ids = rng.permutation(corpus.shape[0]).astype(np.int64) * 5 + 3
    src = rng.integers(0, corpus.shape[0], 150)
    near = flip(corpus[src], rng.integers(0, 45, 150), rng)
    queries = np.concatenate([near, random_part[:1], rng.integers(0, 2**64, size=(50, 4), dtype=np.uint64)])
    return corpus, ids, queries


def brute(corpus: np.ndarray, ids: np.ndarray, queries: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    d = np.zeros((queries.shape[0], corpus.shape[0]), dtype=np.int16)
    for w in range(4):
        d += np.bitwise_count(queries[:, w, None] ^ corpus[None, :, w]).astype(np.int16)
    q, r = np.nonzero(d <= threshold)
    return set(zip(q.tolist(), ids[r].tolist(), d[q, r].tolist()))


def kernel_set(kernel, main, queries: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    qi, rows, d = kernel(main, main.plan(threshold), np.ascontiguousarray(queries), threshold)
    triples = list(zip(qi.tolist(), main.ids[rows].tolist(), d.tolist()))
    assert len(triples) == len(set(triples)), "a (query, row) pair came back twice"
    return set(triples)


@pytest.mark.parametrize("chunks", [None, 12, 16, 21])
def test_both_kernels_return_the_bruteforce_answer_at_every_threshold(data, chunks) -> None:
    corpus, ids, queries = data
    main = PdqIndex.build(corpus, ids, chunks=chunks)._state.main
    for threshold in THRESHOLDS:
        if main.plan(threshold).brute:
            continue  # answered by a scan, not probed
        expected = brute(corpus, ids, queries, threshold)
        assert kernel_set(_probe_compiled, main, queries, threshold) == expected, threshold
        assert kernel_set(_probe, main, queries, threshold) == expected, threshold
    # The huge bucket and the families do give matches: the comparison is not of empty sets.
    assert len(brute(corpus, ids, queries, 31)) > 3_000


def test_a_wide_row_permutation_gives_the_same_answer(data) -> None:
    # Past 2**31 rows the permutation is int64; the kernel reads both widths.
    corpus, ids, queries = data
    main = PdqIndex.build(corpus, ids)._state.main
    assert main.perm.dtype == np.int32
    wide = dataclasses.replace(main, perm=main.perm.astype(np.int64), plans={}, cache={})
    assert kernel_set(_probe_compiled, wide, queries, 31) == brute(corpus, ids, queries, 31)


def test_queries_on_a_mapped_snapshot_with_tombstones_and_a_delta_agree_across_kernels(
    data, tmp_path, monkeypatch
) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus[:-1_000], ids[:-1_000])
    index.remove(ids[:5_000:7])
    index.add(corpus[-1_000:], ids[-1_000:])
    index.save(tmp_path / "snap")
    mapped = PdqIndex.load(tmp_path / "snap", mmap=True)
    assert not mapped._state.main.table.flags.writeable
    compiled = mapped.query(queries, 31)
    monkeypatch.setenv("BALISE_PDQ_KERNEL", "numpy")
    assert not pdq_index.compiled_kernel()
    with_numpy = mapped.query(queries, 31)
    assert compiled.as_set() == with_numpy.as_set()
    removed = set(ids[:5_000:7].tolist())
    expected = {t for t in brute(corpus, ids, queries, 31) if t[1] not in removed}
    assert compiled.as_set() == expected


def test_a_bucket_pointing_outside_the_snapshot_is_an_error_not_a_read(data, tmp_path) -> None:
    corpus, ids, queries = data
    index = PdqIndex.build(corpus, ids)
    index.save(tmp_path / "snap")
    main = index._state.main
    # The bucket that the first query's own value falls in, in a chunk the plan probes.
    chunk = next(i for i, t in enumerate(main.plan(31).radii) if t >= 0)
    start, bits = main.layout[chunk]
    value = int(pdq_index._chunk_values(queries[:1], start, bits)[0])
    table = np.load(tmp_path / "snap" / "table.npy")
    slot = main.table_base[chunk] + value
    assert 0 < slot < table.size - 1  # load() checks the first and last entries itself
    table[slot] = (main.n * len(main.layout) - 1) << main.shift | 3  # two entries past the end
    np.save(tmp_path / "snap" / "table.npy", table)
    corrupt = PdqIndex.load(tmp_path / "snap", mmap=True)
    with pytest.raises(ValueError, match="corrupt snapshot"):
        corrupt.query(queries[:1], 31)


def test_the_kernel_refuses_arrays_that_do_not_fit_together(data) -> None:
    corpus, ids, queries = data
    main = PdqIndex.build(corpus[:10_000], ids[:10_000])._state.main
    plan = main.plan(31)

    def probe(**changed):  # type: ignore[no-untyped-def]
        args = dict(
            queries=queries, table=main.table, perm=main.perm, prefix=main.prefix, words=main.words,
            starts=np.array([s for s, _ in main.layout]), bits=np.array([b for _, b in main.layout]),
            chunk=plan.chunk.astype(np.int64), mask=plan.mask, base=plan.base, shift=main.shift, threshold=31,
        )
        args.update(changed)
        return pdq_index._pdq_probe.probe(*args.values())

    # The arrays as the index holds them are accepted (so each refusal below is the change's).
    hits = np.frombuffer(probe(), dtype=np.int64).reshape(-1, 3)
    assert hits.shape[0] == _probe_compiled(main, plan, np.ascontiguousarray(queries), 31)[0].size > 0
    with pytest.raises(ValueError, match="plan does not fit"):
        probe(table=main.table[:100])
    with pytest.raises(ValueError, match="inconsistent array sizes"):
        probe(prefix=main.prefix[:-1])
    with pytest.raises(ValueError, match="unexpected item size"):
        probe(queries=queries.view(np.uint32), table=main.table.astype(np.int32))
