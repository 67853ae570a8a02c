"""Incremental updates are visible at once (adds found, removed ids never returned, re-adding
works), compaction keeps the answers, a memory-mapped snapshot answers identically, and bad
input (corrupt manifests, mismatched arrays, malformed hex) is refused with a clear error."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from balise.detection.adapters.pdq_index import PdqIndex, SnapshotError, hex_to_words, words_to_hex


def near(words: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = words.copy()
    for i in range(out.shape[0]):
        for bit in rng.choice(256, size=bits, replace=False):
            out[i, bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return out


def brute(corpus: np.ndarray, ids: np.ndarray, queries: np.ndarray, t: int) -> set[tuple[int, int, int]]:
    d = np.bitwise_count(queries[:, None, :] ^ corpus[None, :, :]).sum(axis=2)
    q, r = np.nonzero(d <= t)
    return set(zip(q.tolist(), ids[r].tolist(), d[q, r].tolist()))


def as_set(result) -> set[tuple[int, int, int]]:
    return set(zip(result.query_index.tolist(), result.ids.tolist(), result.distances.tolist()))


@pytest.fixture()
def setup():
    rng = np.random.default_rng(3)
    corpus = rng.integers(0, 2**64, size=(20_000, 4), dtype=np.uint64)
    ids = np.arange(100, 20_100, dtype=np.int64)
    queries = np.concatenate([near(corpus[:300], 10, rng), rng.integers(0, 2**64, size=(50, 4), dtype=np.uint64)])
    return rng, corpus, ids, queries


def test_added_hashes_are_found_immediately(setup) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    extra = near(corpus[:5], 3, rng)
    index.add(extra, np.array([1, 2, 3, 4, 5]))
    assert len(index) == 20_005
    r = index.query(corpus[:5], 31)
    for q in range(5):
        assert (q + 1, 3) in r.for_query(q)
        assert (100 + q, 0) in r.for_query(q)
    all_words = np.concatenate([corpus, extra])
    all_ids = np.concatenate([ids, [1, 2, 3, 4, 5]])
    assert as_set(index.query(queries, 31)) == brute(all_words, all_ids, queries, 31)


def test_removed_ids_are_never_returned_from_main_or_delta(setup) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    index.add(corpus[:3], np.array([7, 8, 9]))  # delta copies of stored hashes
    assert index.remove([100, 101, 8, 424242]) == 3
    r = index.query(corpus[:3], 0)
    assert r.for_query(0) == [(7, 0)]
    assert r.for_query(1) == []
    assert r.for_query(2) == [(9, 0), (102, 0)]
    keep = ~np.isin(ids, [100, 101])
    expected = brute(np.concatenate([corpus[keep], corpus[[0, 2]]]), np.concatenate([ids[keep], [7, 9]]), queries, 31)
    assert as_set(index.query(queries, 31)) == expected
    assert len(index) == 20_000 + 3 - 3


def test_readding_a_removed_id_works_and_remove_takes_all_its_hashes(setup) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    index.remove([150])
    assert index.query(corpus[50:51], 0).for_query(0) == []
    index.add(corpus[50:51], np.array([150]))
    assert index.query(corpus[50:51], 0).for_query(0) == [(150, 0)]
    index.add(corpus[60:61], np.array([150]))  # a second hash for the same id
    assert index.query(corpus[60:61], 0).for_query(0) == [(150, 0), (160, 0)]
    assert index.remove([150]) == 2
    assert index.query(corpus[[50, 60]], 0).for_query(0) == []


def test_compact_keeps_results(setup) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    index.add(near(corpus[:40], 5, rng), np.arange(40))
    index.remove(np.arange(100, 400, 2))
    before = as_set(index.query(queries, 31))
    assert index.compact() is index
    assert index.delta_size == 0 and index.tombstone_count == 0
    assert as_set(index.query(queries, 31)) == before
    assert len(index) == 20_000 + 40 - 150


def test_snapshot_round_trip_mmap_gives_identical_results(setup, tmp_path: Path) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    index.add(near(corpus[:10], 4, rng), np.arange(10))
    index.remove([105, 3])
    index.save(tmp_path / "snap")
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["count"] == 20_000 and manifest["delta_count"] == 9
    loaded = PdqIndex.load(tmp_path / "snap", mmap=True)
    main = loaded._state.main
    for name in ("words", "perm", "table", "prefix"):
        arr = getattr(main, name)
        assert not arr.flags.owndata and not arr.flags.writeable, f"{name} was copied"
    assert len(loaded) == len(index)
    for t in (0, 16, 31):
        assert as_set(loaded.query(queries, t)) == as_set(index.query(queries, t))
    # a loaded (read-only) index still takes updates
    loaded.add(corpus[:1], np.array([99]))
    loaded.remove([100])
    assert loaded.query(corpus[:1], 0).for_query(0) == [(99, 0)]
    # ...without touching the snapshot files
    assert PdqIndex.load(tmp_path / "snap", mmap=False).query(corpus[:1], 0).for_query(0) == [(100, 0)]


def test_corrupt_or_mismatched_snapshot_is_refused(setup, tmp_path: Path) -> None:
    rng, corpus, ids, queries = setup
    PdqIndex.build(corpus[:500], ids[:500]).save(tmp_path / "s")
    manifest_path = tmp_path / "s" / "manifest.json"
    good = manifest_path.read_text()

    manifest_path.write_text(good[: len(good) // 2])
    with pytest.raises(SnapshotError, match="corrupt"):
        PdqIndex.load(tmp_path / "s")

    m = json.loads(good)
    m["version"] = 99
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(SnapshotError, match="version"):
        PdqIndex.load(tmp_path / "s")

    m = json.loads(good)
    m["count"] = 501
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(SnapshotError, match="shape"):
        PdqIndex.load(tmp_path / "s")

    manifest_path.write_text(good)
    np.save(tmp_path / "s" / "ids.npy", np.arange(499, dtype=np.int64))
    with pytest.raises(SnapshotError, match="ids.npy"):
        PdqIndex.load(tmp_path / "s")

    with pytest.raises(SnapshotError, match="manifest.json missing"):
        PdqIndex.load(tmp_path / "nowhere")


def test_bad_hex_is_refused_with_its_position() -> None:
    good = "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
    assert words_to_hex(hex_to_words([good, good.upper()])) == [good, good]
    # Whitespace that bytes.fromhex would skip, between byte pairs (62 hex digits): refused too.
    spaced = (good[:10] + "  " + good[12:], good[:2] + "\t\n" + good[4:], " " * 64)
    for bad in (good[:-1], good + "0", good[:-1] + "g", good[:10] + " " + good[11:], *spaced, "é" * 64, None):
        with pytest.raises(ValueError, match=r"index 2\b") as err:
            hex_to_words([good, good, bad])
        assert repr(bad) in str(err.value)


def test_concurrent_readers_see_consistent_results_during_writes(setup) -> None:
    rng, corpus, ids, queries = setup
    index = PdqIndex.build(corpus, ids)
    expected = as_set(index.query(queries, 31))
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            got = as_set(index.query(queries, 31))
            base = {row for row in got if row[1] >= 100}
            if base != expected:
                errors.append("main results changed")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(30):
        index.add(rng.integers(0, 2**64, size=(1, 4), dtype=np.uint64), np.array([i]))
        index.remove([i - 1])
    index.compact()
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert as_set(index.query(queries, 31)) == expected | {r for r in as_set(index.query(queries, 31)) if r[1] < 100}
