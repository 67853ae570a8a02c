"""Exact PDQ range search: multi-index hashing over 256-bit hashes, in numpy, with the probing
loops compiled (``_pdq_probe.c``; the numpy kernel ``_probe`` is its reference and fallback).

A PDQ hash is 256 bits, written as 64 hex characters. Here a hash is held as four big-endian
64-bit words: hex -> 32 bytes -> 4 uint64, so a set of hashes is an ``(N, 4)`` uint64 array.

:class:`PdqIndex` returns exactly what a brute-force scan would: every stored hash within the
threshold, never one beyond it. How:

* The 256 bits are cut into ``m`` contiguous chunks of about ``log2(N)`` bits each (chosen from
  ``N`` by a cost model; ``N`` = 10 M gives 11 chunks of 23-24 bits).
* Generalised pigeonhole principle: if ``d(q, h) <= r`` and radii ``t_i`` satisfy
  ``sum(t_i) >= r - m + 1``, then for some chunk ``i`` the chunk distance is ``<= t_i``
  (otherwise ``d >= sum(t_i + 1) > r``). A radius of -1 means the chunk is not probed at all.
  Radii are handed out greedily by marginal cost, so every threshold from 0 to 256 is exact
  (a threshold whose probing would cost more than a scan is answered by a scan).
* Per chunk, hashes are counting-sorted by chunk value into a direct-addressed bucket table
  (``table``: one int64 per bucket, start << shift | count); probing chunk ``i`` at radius ``t_i`` means XOR-ing the query's chunk value
  with every mask of popcount ``<= t_i``.
* Candidates are first filtered on their first 128 bits, read from a per-chunk copy kept in
  bucket order (``prefix``; a random candidate passes with probability ~1e-9, and no row-id
  indirection is needed to reject it), then verified on all 256 bits, and only then
  deduplicated.

Memory per stored hash: 32 B hash + 8 B id + m x (4 B row + 16 B prefix) + bucket table
(8 B x sum(2**b_i), about 8-12 entries per hash): about 350 B, i.e. ~3.5 GB for 10 M hashes.

Updates: ``add`` goes to a small delta searched by brute force; ``remove`` tombstones rows;
``compact`` rebuilds. State is immutable and swapped atomically (copy-on-write), so one writer
and many reader threads need no reader lock. ``save``/``load`` use ``.npy`` files plus a JSON
manifest; ``load(mmap=True)`` maps the arrays read-only so processes on one host share pages.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

try:  # the compiled probing kernel (_pdq_probe.c); numpy's `_probe` below is the reference
    from balise.detection.adapters import _pdq_probe
except ImportError:  # built without a C compiler: the numpy kernel answers alone
    _pdq_probe = None

HASH_BITS = 256
WORDS = 4
DEFAULT_THRESHOLD = 31
MAX_THRESHOLD = HASH_BITS
SNAPSHOT_FORMAT = "balise-pdq-index"
SNAPSHOT_VERSION = 1

# Cost model (relative units, measured on x86-64 with the compiled kernel; one unit is about
# 27 ns): one probe is a random read of the bucket table and of its bucket's first cache line,
# one candidate a further 16 bytes of that bucket read in sequence and a 128-bit check (at 1 M
# hashes, 272 probes with 4,150 candidates took 30 us a query, 1,409 with 1,340 took 45 us),
# one scanned hash a streamed 256-bit check. The numpy kernel, which paid for every candidate
# in array operations, was calibrated at 1.6 a candidate: it picked 13 chunks at 1 M where 16
# are a third faster compiled.
_COST_PROBE = 1.0
_COST_CANDIDATE = 0.2
_COST_SCAN = 0.25
# Probe keys per slice of a batched query (bounds the temporary memory to a few hundred MB).
_SLICE_PROBES = 1 << 18
# Pairs per slice of a brute-force scan.
_SLICE_PAIRS = 1 << 22
_MAX_CHUNK_BITS = 28


class SnapshotError(ValueError):
    """A snapshot directory is missing, corrupt or inconsistent."""


# ---------------------------------------------------------------------------------------------
# Hex <-> words


_HEX_LUT = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX_LUT[_c] = 10 + _i


def hex_to_words(hexes: Sequence[str]) -> np.ndarray:
    """64-hex-char PDQ strings -> ``(N, 4)`` uint64 (big-endian words). Case-insensitive.

    Raises ``ValueError`` naming the index and value of the first string that is not exactly
    64 hex characters."""
    if isinstance(hexes, str):
        raise TypeError("hex_to_words takes a sequence of strings, not one string")
    hexes = list(hexes)
    for i, h in enumerate(hexes):
        if not isinstance(h, str) or len(h) != 64:
            raise ValueError(f"PDQ hash at index {i} is not 64 hex characters: {h!r}")
    if not hexes:
        return np.zeros((0, WORDS), dtype=np.uint64)
    joined = "".join(hexes)
    try:
        # bytes.fromhex decodes in C without the temporaries of the table lookup below (a third
        # of a one-hash query's index time). It skips whitespace, so a string with spaces gives
        # fewer bytes: then, as for any error, the lookup below names the string at fault.
        packed = bytes.fromhex(joined)
        if len(packed) == 32 * len(hexes):
            return np.frombuffer(packed, dtype=">u8").reshape(-1, WORDS).astype(np.uint64)
    except ValueError:
        pass
    try:
        raw = joined.encode("ascii")
    except UnicodeEncodeError as exc:
        i = exc.start // 64
        raise ValueError(f"PDQ hash at index {i} is not 64 hex characters: {hexes[i]!r}") from None
    try:
        return ascii_hex_to_words(np.frombuffer(raw, dtype=np.uint8).reshape(-1, 64))
    except _BadHex as exc:
        raise ValueError(f"PDQ hash at index {exc.row} is not 64 hex characters: {hexes[exc.row]!r}") from None


class _BadHex(ValueError):
    def __init__(self, row: int) -> None:
        super().__init__(f"PDQ hash at index {row} is not 64 hex characters")
        self.row = row


def ascii_hex_to_words(raw: np.ndarray) -> np.ndarray:
    """``(N, 64)`` uint8 of ASCII hex (as a database sends the text) -> ``(N, 4)`` uint64
    (big-endian words). Raises ``ValueError`` naming the first row that is not hex."""
    nib = _HEX_LUT[raw]
    bad = np.flatnonzero(nib == 255)
    if bad.size:
        raise _BadHex(int(bad[0]) // 64)
    packed = (nib[:, 0::2] << 4) | nib[:, 1::2]
    return np.ascontiguousarray(packed).view(">u8").astype(np.uint64)


def words_to_hex(words: np.ndarray) -> list[str]:
    """``(N, 4)`` uint64 -> lowercase 64-hex-char strings."""
    w = _as_words(words)
    raw = w.astype(">u8").tobytes().hex()
    return [raw[i : i + 64] for i in range(0, len(raw), 64)]


def hamming(a_words: np.ndarray, b_words: np.ndarray) -> np.ndarray:
    """Hamming distance between (broadcastable) ``(..., 4)`` uint64 arrays, as int64."""
    a = np.asarray(a_words, dtype=np.uint64)
    b = np.asarray(b_words, dtype=np.uint64)
    return np.bitwise_count(a ^ b).sum(axis=-1, dtype=np.int64)


def _as_words(words: np.ndarray) -> np.ndarray:
    w = np.asarray(words)
    if w.dtype != np.uint64:
        if w.size and (not np.issubdtype(w.dtype, np.integer) or (w < 0).any()):
            raise ValueError("PDQ words must be unsigned 64-bit integers")
        w = w.astype(np.uint64)
    if w.ndim == 1 and w.shape[0] == WORDS:
        w = w.reshape(1, WORDS)
    if w.ndim != 2 or w.shape[1] != WORDS:
        raise ValueError(f"PDQ words must have shape (N, 4), got {w.shape}")
    return w


def _as_ids(ids: np.ndarray, n: int) -> np.ndarray:
    a = np.asarray(ids)
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"ids must have shape ({n},), got {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError("ids must be integers")
    return np.ascontiguousarray(a, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Chunking and probe plans


def _split_bits(m: int) -> tuple[tuple[int, int], ...]:
    """m contiguous chunks covering all 256 bits: ((start_bit, nbits), ...), longer ones first."""
    base, extra = divmod(HASH_BITS, m)
    out, start = [], 0
    for i in range(m):
        b = base + (1 if i < extra else 0)
        out.append((start, b))
        start += b
    return tuple(out)


def _allocate_radii(bits: Sequence[int], n: int, threshold: int) -> tuple[tuple[int, ...], float]:
    """Greedy (optimal: marginal costs grow with the radius) radii with sum >= r - m + 1."""
    per = [_COST_PROBE + _COST_CANDIDATE * n / (1 << b) for b in bits]
    radii = [-1] * len(bits)
    heap = [(per[i] * 1.0, i) for i in range(len(bits))]  # marginal cost of -1 -> 0 is 1 probe
    heapq.heapify(heap)
    total = 0.0
    for _ in range(threshold + 1):
        cost, i = heapq.heappop(heap)
        total += cost
        radii[i] += 1
        t = radii[i] + 1
        nxt = math.comb(bits[i], t) * per[i] if t <= bits[i] else math.inf
        heapq.heappush(heap, (nxt, i))
    return tuple(radii), total


def _choose_chunks(n: int) -> tuple[tuple[int, int], ...]:
    """Pick m minimising the estimated cost at the default threshold, within a memory cap on
    the bucket tables (at most ~16 entries per stored hash)."""
    cap = 16 * max(n, 1) + (1 << 16)
    best = None
    for m in range(8, 65):
        layout = _split_bits(m)
        bits = [b for _, b in layout]
        if max(bits) > _MAX_CHUNK_BITS or sum(1 << b for b in bits) > cap:
            continue
        _, cost = _allocate_radii(bits, n, DEFAULT_THRESHOLD)
        if best is None or cost < best[0]:
            best = (cost, layout)
    assert best is not None
    return best[1]


@lru_cache(maxsize=256)
def _masks(b: int, t: int) -> np.ndarray:
    """All b-bit XOR masks of popcount <= t, ascending popcount."""
    out = []
    for k in range(min(t, b) + 1):
        for combo in itertools.combinations(range(b), k):
            v = 0
            for bit in combo:
                v |= 1 << bit
            out.append(v)
    a = np.array(out, dtype=np.int64)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class _Plan:
    brute: bool
    chunk: np.ndarray = field(repr=False)  # (P,) chunk index per probe
    mask: np.ndarray = field(repr=False)  # (P,) XOR mask per probe
    base: np.ndarray = field(repr=False)  # (P,) bucket-table base of the probe's chunk
    radii: tuple[int, ...] = ()


def _chunk_values(words: np.ndarray, start: int, b: int) -> np.ndarray:
    """Chunk value (bits [start, start + b) of the big-endian 256-bit string) as int64."""
    k, off = divmod(start, 64)
    if off + b <= 64:
        v = (words[:, k] >> np.uint64(64 - off - b)) & np.uint64((1 << b) - 1)
    else:
        b1 = 64 - off
        b2 = b - b1
        v = ((words[:, k] & np.uint64((1 << b1) - 1)) << np.uint64(b2)) | (words[:, k + 1] >> np.uint64(64 - b2))
    return v.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Immutable index state


@dataclass(frozen=True)
class _Main:
    """The bulk-built, read-only part: plain arrays (possibly memory-mapped)."""

    words: np.ndarray  # (N, 4) uint64
    ids: np.ndarray  # (N,) int64
    perm: np.ndarray  # (m * N,) row numbers, chunk-major, bucket-sorted
    table: np.ndarray  # (sum(2**b_i),) int64 bucket = (start in perm) << shift | count
    prefix: np.ndarray  # (m * N, 2) uint64: words[perm, :2], the first 128 bits in bucket order
    layout: tuple[tuple[int, int], ...]
    table_base: tuple[int, ...]
    shift: int
    plans: dict = field(default_factory=dict, compare=False, repr=False)
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return int(self.words.shape[0])

    def plan(self, threshold: int) -> _Plan:
        p = self.plans.get(threshold)
        if p is None:
            p = self._make_plan(threshold)
            self.plans[threshold] = p
        return p

    def _make_plan(self, threshold: int) -> _Plan:
        bits = [b for _, b in self.layout]
        radii, cost = _allocate_radii(bits, self.n, threshold)
        empty = np.zeros(0, dtype=np.int64)
        if cost >= _COST_SCAN * self.n:
            return _Plan(True, empty, empty, empty, radii)
        chunk, mask, base = [], [], []
        for i, (b, t) in enumerate(zip(bits, radii)):
            if t < 0:
                continue
            mk = _masks(b, t)
            chunk.append(np.full(mk.size, i, dtype=np.intp))
            mask.append(mk)
            base.append(np.full(mk.size, self.table_base[i], dtype=np.int64))
        return _Plan(False, np.concatenate(chunk), np.concatenate(mask), np.concatenate(base), radii)

    def id_order(self) -> tuple[np.ndarray, np.ndarray]:
        got = self.cache.get("id_order")
        if got is None:
            order = np.argsort(self.ids, kind="stable")
            got = (order, self.ids[order])
            self.cache["id_order"] = got
        return got


def _table_shift(n: int, m: int) -> int:
    """Bits of a packed bucket entry that hold the count; the start takes the rest."""
    shift = 63 - (m * n).bit_length()
    if n.bit_length() > shift:
        raise ValueError(f"too many hashes for one index: {n}")
    return shift


def _table_base(layout: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    sizes = [1 << b for _, b in layout]
    return tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)[:-1]]))


def _build_main(words: np.ndarray, ids: np.ndarray, layout: tuple[tuple[int, int], ...] | None = None) -> _Main:
    n = int(words.shape[0])
    if layout is None:
        layout = _choose_chunks(n)
    m = len(layout)
    shift = _table_shift(n, m)
    table_base = _table_base(layout)
    row_dtype = np.int32 if n < 2**31 - 1 else np.int64
    perm = np.empty(m * n, dtype=row_dtype)
    table = np.empty(sum(1 << b for _, b in layout), dtype=np.int64)
    prefix = np.empty((m * n, 2), dtype=np.uint64)
    for i, (start, b) in enumerate(layout):
        vals = _chunk_values(words, start, b)
        vals = vals.astype(np.uint16 if b <= 16 else np.uint32)
        part = perm[i * n : (i + 1) * n]
        part[:] = np.argsort(vals, kind="stable")
        np.take(words[:, :2], part, axis=0, out=prefix[i * n : (i + 1) * n])
        counts = np.bincount(vals, minlength=1 << b).astype(np.int64)
        del vals
        seg = table[table_base[i] : table_base[i] + (1 << b)]
        np.cumsum(counts, out=seg)
        seg -= counts
        seg += i * n
        seg <<= shift
        seg |= counts
        del counts
    return _Main(words, ids, perm, table, prefix, layout, table_base, shift)


@dataclass(frozen=True)
class _State:
    main: _Main | None
    tomb: np.ndarray  # sorted unique int64 rows of main that are removed
    delta_words: np.ndarray  # (D, 4) uint64
    delta_ids: np.ndarray  # (D,) int64


@dataclass(frozen=True)
class QueryResult:
    """Flat result arrays, sorted by query, then distance, then id."""

    query_index: np.ndarray  # int64
    ids: np.ndarray  # int64
    distances: np.ndarray  # int32

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def for_query(self, i: int) -> list[tuple[int, int]]:
        """[(id, distance), ...] of query ``i``."""
        lo, hi = np.searchsorted(self.query_index, [i, i + 1])
        return list(zip(self.ids[lo:hi].tolist(), self.distances[lo:hi].tolist()))

    def as_set(self) -> set[tuple[int, int, int]]:
        return set(zip(self.query_index.tolist(), self.ids.tolist(), self.distances.tolist()))


# ---------------------------------------------------------------------------------------------
# Search kernels


def _within(x: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """x: (C, 4) uint64 XOR differences. -> (indices with popcount <= threshold, distances).

    The four per-word popcounts (uint8) are summed with one uint32 multiply (byte sums land in
    the top byte without carries); only a distance of exactly 256 wraps to 0, so hits are
    re-checked with an exact sum."""
    bc = np.bitwise_count(x)
    s = bc.view(np.uint32).ravel() * np.uint32(0x01010101)
    s >>= np.uint32(24)
    hit = np.flatnonzero(s <= threshold)
    if hit.size == 0:
        return hit, np.zeros(0, dtype=np.int64)
    d = bc[hit].sum(axis=1, dtype=np.int64)
    ok = d <= threshold
    return hit[ok], d[ok]


def _scan(q: np.ndarray, words: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brute force: (query rows, stored rows, distances) within threshold."""
    nq, n = q.shape[0], words.shape[0]
    out_q, out_r, out_d = [], [], []
    if nq == 0 or n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    step_r = max(1, min(n, _SLICE_PAIRS))
    step_q = max(1, _SLICE_PAIRS // step_r)
    for r0 in range(0, n, step_r):
        w = words[r0 : r0 + step_r]
        nr = w.shape[0]
        for q0 in range(0, nq, step_q):
            qq = q[q0 : q0 + step_q]
            x = (qq[:, None, :] ^ w[None, :, :]).reshape(-1, WORDS)
            hit, d = _within(x, threshold)
            out_q.append(hit // nr + q0)
            out_r.append(hit % nr + r0)
            out_d.append(d)
    return np.concatenate(out_q), np.concatenate(out_r), np.concatenate(out_d)


def _probe(main: _Main, plan: _Plan, q: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-index hashing over the main part: (query rows, main rows, distances), unique."""
    nq = q.shape[0]
    n = main.n
    nprobe = plan.mask.shape[0]
    step = max(1, _SLICE_PROBES // max(nprobe, 1))
    table = main.table
    shift = np.int64(main.shift)
    cmask = np.int64((1 << main.shift) - 1)
    words = main.words
    perm = main.perm
    prefix = main.prefix
    out_q, out_r, out_d = [], [], []
    for q0 in range(0, nq, step):
        qq = q[q0 : q0 + step]
        k = qq.shape[0]
        qc = np.empty((k, len(main.layout)), dtype=np.int64)
        for i, (start, b) in enumerate(main.layout):
            qc[:, i] = _chunk_values(qq, start, b)
        keys = qc[:, plan.chunk]
        keys ^= plan.mask
        keys += plan.base
        entry = np.take(table, keys).ravel()
        del keys
        counts = entry & cmask
        per_query = counts.reshape(k, nprobe).sum(axis=1)
        total = int(per_query.sum())
        if total == 0:
            continue
        nz = np.flatnonzero(counts)
        counts = counts[nz]
        starts = entry[nz]
        starts >>= shift
        del entry, nz
        # Expand the non-empty buckets [start, start + count) into one position array.
        pos = np.ones(total, dtype=np.int64)
        first = np.cumsum(counts)
        first -= counts
        pos[0] = starts[0]
        pos[first[1:]] = starts[1:] - starts[:-1] - counts[:-1] + 1
        np.cumsum(pos, out=pos)
        del starts, counts, first
        # Filter on the first 128 bits, read in bucket order (no indirection); random
        # candidates essentially never pass (P(Bin(128, 1/2) <= 31) ~ 1e-9).
        x = np.take(prefix, pos, axis=0)
        x ^= np.repeat(qq[:, :2], per_query, axis=0)
        bc = np.bitwise_count(x)
        del x
        half = bc.view(np.uint16).ravel() * np.uint16(0x0101)
        half >>= np.uint16(8)
        surv = np.flatnonzero(half <= threshold)
        del bc, half
        if surv.size == 0:
            continue
        rows = np.take(perm, pos[surv])
        del pos
        sq = np.searchsorted(np.cumsum(per_query), surv, side="right")
        x = np.take(words, rows, axis=0)
        x ^= qq[sq]
        hit, hd = _within(x, threshold)
        del x
        if hit.size == 0:
            continue
        hq = sq[hit].astype(np.int64)
        hr = rows[hit].astype(np.int64)
        # Dedupe after verification: a near hash is often found through several chunks.
        key = hq * n + hr
        key, first = np.unique(key, return_index=True)
        out_q.append(hq[first] + q0)
        out_r.append(hr[first])
        out_d.append(hd[first])
    if not out_q:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    return np.concatenate(out_q), np.concatenate(out_r), np.concatenate(out_d)


def compiled_kernel() -> bool:
    """True when queries probe with the compiled kernel. ``BALISE_PDQ_KERNEL=numpy`` turns it off
    (to compare the two); without a C compiler at install time it is absent."""
    return _pdq_probe is not None and os.environ.get("BALISE_PDQ_KERNEL", "").strip().lower() != "numpy"


def _probe_compiled(main: _Main, plan: _Plan, q: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`_probe` returns, from the compiled kernel (which releases the GIL for a batch)."""
    args = main.cache.get("kernel_args")
    if args is None:
        starts = np.array([s for s, _ in main.layout], dtype=np.int64)
        bits = np.array([b for _, b in main.layout], dtype=np.int64)
        args = (main.table, main.perm, main.prefix, main.words, starts, bits)
        main.cache["kernel_args"] = args
    chunk = plan.chunk if plan.chunk.dtype == np.int64 else plan.chunk.astype(np.int64)
    raw = _pdq_probe.probe(q, *args, chunk, plan.mask, plan.base, main.shift, threshold)
    hits = np.frombuffer(raw, dtype=np.int64).reshape(-1, 3)
    return hits[:, 0], hits[:, 1], hits[:, 2]


def _finish(q_idx: np.ndarray, ids: np.ndarray, dist: np.ndarray) -> QueryResult:
    """Keep the smallest distance per (query, id); sort by query, distance, id."""
    if q_idx.size:
        order = np.lexsort((dist, ids, q_idx))
        q_idx, ids, dist = q_idx[order], ids[order], dist[order]
        keep = np.ones(q_idx.size, dtype=bool)
        keep[1:] = (q_idx[1:] != q_idx[:-1]) | (ids[1:] != ids[:-1])
        q_idx, ids, dist = q_idx[keep], ids[keep], dist[keep]
        order = np.lexsort((ids, dist, q_idx))
        q_idx, ids, dist = q_idx[order], ids[order], dist[order]
    return QueryResult(q_idx.astype(np.int64), ids.astype(np.int64), dist.astype(np.int32))


# ---------------------------------------------------------------------------------------------
# The index


class PdqIndex:
    """Exact PDQ range search. Build with :meth:`build`, open a snapshot with :meth:`load`."""

    def __init__(self, _state: _State | None = None) -> None:
        empty_w = np.zeros((0, WORDS), dtype=np.uint64)
        empty_i = np.zeros(0, dtype=np.int64)
        self._state = _state or _State(None, empty_i, empty_w, empty_i)
        self._write_lock = threading.Lock()

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def build(cls, words: np.ndarray, ids: np.ndarray, *, chunks: int | None = None) -> PdqIndex:
        """Bulk build. ``chunks`` overrides the number of chunks chosen from ``N``."""
        w = np.ascontiguousarray(_as_words(words))
        i = _as_ids(ids, w.shape[0])
        layout = None
        if chunks is not None:
            if not 1 <= int(chunks) <= HASH_BITS or -(-HASH_BITS // int(chunks)) > _MAX_CHUNK_BITS:
                raise ValueError(f"chunks must give chunks of at most {_MAX_CHUNK_BITS} bits, got {chunks}")
            layout = _split_bits(int(chunks))
        main = _build_main(w, i, layout) if w.shape[0] else None
        empty_w = np.zeros((0, WORDS), dtype=np.uint64)
        empty_i = np.zeros(0, dtype=np.int64)
        return cls(_State(main, empty_i, empty_w, empty_i))

    @classmethod
    def from_hex(cls, hexes: Sequence[str], ids: np.ndarray | None = None) -> PdqIndex:
        w = hex_to_words(hexes)
        return cls.build(w, np.arange(w.shape[0]) if ids is None else ids)

    # -- introspection ------------------------------------------------------------------------

    def __len__(self) -> int:
        st = self._state
        n = st.main.n if st.main is not None else 0
        return n - int(st.tomb.size) + int(st.delta_ids.size)

    @property
    def layout(self) -> tuple[tuple[int, int], ...]:
        st = self._state
        return st.main.layout if st.main is not None else ()

    @property
    def delta_size(self) -> int:
        return int(self._state.delta_ids.size)

    @property
    def tombstone_count(self) -> int:
        return int(self._state.tomb.size)

    def radii(self, threshold: int = DEFAULT_THRESHOLD) -> tuple[int, ...]:
        st = self._state
        return st.main.plan(_check_threshold(threshold)).radii if st.main is not None else ()

    def nbytes(self) -> dict[str, int]:
        st = self._state
        out = {"delta": int(st.delta_words.nbytes + st.delta_ids.nbytes), "tombstones": int(st.tomb.nbytes)}
        if st.main is not None:
            for name in ("words", "ids", "perm", "table", "prefix"):
                out[name] = int(getattr(st.main, name).nbytes)
        return out

    # -- queries ------------------------------------------------------------------------------

    def query(self, words: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> QueryResult:
        """Every stored hash within ``threshold`` bits of each query row (exact)."""
        threshold = _check_threshold(threshold)
        q = np.ascontiguousarray(_as_words(words))
        st = self._state  # one atomic read: a consistent snapshot for this whole query
        parts_q, parts_id, parts_d = [], [], []
        main = st.main
        if main is not None and q.shape[0]:
            plan = main.plan(threshold)
            if plan.brute:
                qi, rows, d = _scan(q, main.words, threshold)
            elif compiled_kernel():
                qi, rows, d = _probe_compiled(main, plan, q, threshold)
            else:
                qi, rows, d = _probe(main, plan, q, threshold)
            if st.tomb.size and rows.size:
                pos = np.searchsorted(st.tomb, rows)
                pos[pos == st.tomb.size] = 0
                live = st.tomb[pos] != rows
                qi, rows, d = qi[live], rows[live], d[live]
            parts_q.append(qi)
            parts_id.append(np.asarray(main.ids[rows], dtype=np.int64))
            parts_d.append(d)
        if st.delta_ids.size and q.shape[0]:
            qi, rows, d = _scan(q, st.delta_words, threshold)
            parts_q.append(qi)
            parts_id.append(st.delta_ids[rows])
            parts_d.append(d)
        if not parts_q:
            e = np.zeros(0, dtype=np.int64)
            return _finish(e, e, e)
        return _finish(np.concatenate(parts_q), np.concatenate(parts_id), np.concatenate(parts_d))

    def query_hex(self, hexes: Sequence[str], threshold: int = DEFAULT_THRESHOLD) -> QueryResult:
        return self.query(hex_to_words(hexes), threshold)

    # -- updates (one writer at a time; readers never block) -----------------------------------

    def add(self, words: np.ndarray, ids: np.ndarray) -> None:
        """Visible to queries as soon as this returns. Searched by brute force until compact()."""
        w = _as_words(words)
        i = _as_ids(ids, w.shape[0])
        with self._write_lock:
            st = self._state
            self._state = _State(
                st.main,
                st.tomb,
                np.concatenate([st.delta_words, w]),
                np.concatenate([st.delta_ids, i]),
            )

    def remove(self, ids: np.ndarray | Sequence[int]) -> int:
        """Tombstone every stored hash carrying one of ``ids``. Returns how many were removed."""
        gone = np.unique(np.asarray(ids, dtype=np.int64).ravel())
        with self._write_lock:
            st = self._state
            removed = 0
            tomb = st.tomb
            if st.main is not None and gone.size:
                order, sorted_ids = st.main.id_order()
                lo = np.searchsorted(sorted_ids, gone, side="left")
                hi = np.searchsorted(sorted_ids, gone, side="right")
                cnt = hi - lo
                if cnt.sum():
                    idx = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())
                    rows = order[idx].astype(np.int64)
                    new = np.union1d(tomb, rows)
                    removed += int(new.size - tomb.size)
                    tomb = new
            keep = ~np.isin(st.delta_ids, gone)
            removed += int((~keep).sum())
            self._state = _State(st.main, tomb, st.delta_words[keep], st.delta_ids[keep])
            return removed

    def compact(self) -> PdqIndex:
        """Rebuild: merge the delta, drop tombstones. Readers keep using the old state meanwhile."""
        with self._write_lock:
            st = self._state
            if st.delta_ids.size == 0 and st.tomb.size == 0:
                return self  # nothing to merge: a rebuild would make the same index again
            parts_w, parts_i = [], []
            if st.main is not None:
                live = np.ones(st.main.n, dtype=bool)
                live[st.tomb] = False
                parts_w.append(np.asarray(st.main.words)[live])
                parts_i.append(np.asarray(st.main.ids)[live])
            parts_w.append(st.delta_words)
            parts_i.append(st.delta_ids)
            w = np.ascontiguousarray(np.concatenate(parts_w))
            i = np.concatenate(parts_i)
            main = _build_main(w, i) if w.shape[0] else None
            e = np.zeros(0, dtype=np.int64)
            self._state = _State(main, e, np.zeros((0, WORDS), dtype=np.uint64), e)
        return self

    # -- persistence --------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> None:
        """Write a snapshot: one .npy per array, then manifest.json (written last, atomically)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        st = self._state
        arrays: dict[str, np.ndarray] = {
            "tombstones": st.tomb,
            "delta_words": st.delta_words,
            "delta_ids": st.delta_ids,
        }
        if st.main is not None:
            arrays.update(
                words=st.main.words, ids=st.main.ids, perm=st.main.perm, table=st.main.table, prefix=st.main.prefix
            )
        manifest = {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "count": st.main.n if st.main is not None else 0,
            "delta_count": int(st.delta_ids.size),
            "tombstone_count": int(st.tomb.size),
            "live_count": len(self),
            "chunks": [list(c) for c in st.main.layout] if st.main is not None else [],
            "table_shift": st.main.shift if st.main is not None else 0,
            "arrays": {k: {"shape": list(v.shape), "dtype": np.dtype(v.dtype).str} for k, v in arrays.items()},
        }
        for name, arr in arrays.items():
            tmp = d / f".{name}.npy.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, np.asarray(arr), allow_pickle=False)
            os.replace(tmp, d / f"{name}.npy")
        tmp = d / ".manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, d / "manifest.json")

    @classmethod
    def load(cls, directory: str | os.PathLike, mmap: bool = True) -> PdqIndex:
        """Open a snapshot. With ``mmap`` the arrays are mapped read-only, not copied."""
        d = Path(directory)
        try:
            manifest = json.loads((d / "manifest.json").read_text())
        except FileNotFoundError:
            raise SnapshotError(f"no PDQ index snapshot in {d} (manifest.json missing)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SnapshotError(f"corrupt PDQ index manifest in {d}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"{d}/manifest.json is not a {SNAPSHOT_FORMAT} manifest")
        if manifest.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"unsupported PDQ index snapshot version {manifest.get('version')!r} (expected {SNAPSHOT_VERSION})"
            )
        try:
            n = int(manifest["count"])
            nd = int(manifest["delta_count"])
            nt = int(manifest["tombstone_count"])
            layout = tuple((int(s), int(b)) for s, b in manifest["chunks"])
            specs = manifest["arrays"]
            shift = int(manifest["table_shift"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"corrupt PDQ index manifest in {d}: {exc!r}") from None
        if n < 0 or nd < 0 or nt < 0 or (n > 0) != bool(layout):
            raise SnapshotError(f"corrupt PDQ index manifest in {d}: inconsistent counts")
        if layout:
            starts = [s for s, _ in layout]
            if starts[0] != 0 or any(s2 != s + b for (s, b), s2 in zip(layout, starts[1:])) or sum(
                b for _, b in layout
            ) != HASH_BITS or max(b for _, b in layout) > _MAX_CHUNK_BITS:
                raise SnapshotError(f"corrupt PDQ index manifest in {d}: bad chunk layout {layout}")
        m = len(layout)
        expected = {
            "tombstones": ((nt,), None),
            "delta_words": ((nd, WORDS), "<u8"),
            "delta_ids": ((nd,), "<i8"),
        }
        if n:
            expected.update(
                words=((n, WORDS), "<u8"),
                ids=((n,), "<i8"),
                perm=((m * n,), None),
                table=((sum(1 << b for _, b in layout),), "<i8"),
                prefix=((m * n, 2), "<u8"),
            )
        loaded = {}
        for name, (shape, dtype) in expected.items():
            path = d / f"{name}.npy"
            try:
                arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            except FileNotFoundError:
                raise SnapshotError(f"PDQ index snapshot {d} lacks {name}.npy") from None
            except ValueError as exc:
                raise SnapshotError(f"PDQ index snapshot {d}: {name}.npy unreadable: {exc}") from None
            spec = specs.get(name) if isinstance(specs, dict) else None
            if arr.shape != shape or spec is None or list(arr.shape) != spec.get("shape"):
                raise SnapshotError(
                    f"PDQ index snapshot {d}: {name}.npy has shape {arr.shape}, manifest expects {shape}"
                )
            if np.dtype(spec.get("dtype")) != arr.dtype or (dtype is not None and arr.dtype != np.dtype(dtype)):
                raise SnapshotError(f"PDQ index snapshot {d}: {name}.npy has dtype {arr.dtype}")
            if dtype is None and not np.issubdtype(arr.dtype, np.integer):
                raise SnapshotError(f"PDQ index snapshot {d}: {name}.npy has dtype {arr.dtype}")
            loaded[name] = arr.view(np.ndarray) if isinstance(arr, np.memmap) else arr
        main = None
        if n:
            table = loaded["table"]
            if shift != _table_shift(n, m):
                raise SnapshotError(f"PDQ index snapshot {d}: table_shift {shift} does not match the counts")
            last = int(table[-1])
            if int(table[0]) >> shift != 0 or (last >> shift) + (last & ((1 << shift) - 1)) != m * n:
                raise SnapshotError(f"PDQ index snapshot {d}: bucket table does not match the counts")
            main = _Main(
                loaded["words"], loaded["ids"], loaded["perm"], table, loaded["prefix"], layout, _table_base(layout), shift
            )
        tomb = np.asarray(loaded["tombstones"], dtype=np.int64)
        if tomb.size and (tomb.min() < 0 or tomb.max() >= n):
            raise SnapshotError(f"PDQ index snapshot {d}: tombstones out of range")
        return cls(_State(main, tomb, np.asarray(loaded["delta_words"]), np.asarray(loaded["delta_ids"])))


def _check_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"threshold must be an int, got {threshold!r}")
    t = int(threshold)
    if not 0 <= t <= MAX_THRESHOLD:
        raise ValueError(f"threshold must be between 0 and {MAX_THRESHOLD}, got {t}")
    return t


__all__ = [
    "DEFAULT_THRESHOLD",
    "PdqIndex",
    "QueryResult",
    "SnapshotError",
    "hamming",
    "hex_to_words",
    "words_to_hex",
]
