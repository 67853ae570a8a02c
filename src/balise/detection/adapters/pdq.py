"""PDQ perceptual hashing in numpy (Balise's own implementation).

Follows the algorithm published by Meta (ThreatExchange ``hashing.pdf``, ``pdqhashing.cpp``):

1. luma ``0.299 R + 0.587 G + 0.114 B`` as float;
2. the Jarosz filter: two passes of a 1-D box filter along rows then along columns, window
   ``(dim + 2*64 - 1) // (2*64)``, with the reference's clipped-window means at the borders;
3. decimation to 64x64 by sampling positions ``int((i + 0.5) * dim / 64)``;
4. quality from the 64x64 buffer's neighbour gradients;
5. 16x16 low-frequency DCT coefficients, one bit per coefficient: above the median or not.

The box filters are linear and act on separate axes, so the whole filter followed by the
decimation is ``R @ luma @ C.T`` where ``R`` (64 x rows) and ``C`` (64 x cols) are the rows of
the doubled box operator at the sample positions. The matrices are built once per dimension from
the same clipped windows as the reference's ``box1D`` (phase 1-4 loop); the result is the same
linear map, evaluated with two matrix products instead of four full-image passes. Rounding
differs from the reference's float32 running sums only in the last bits.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import math
import os
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

__all__ = [
    "DIHEDRAL_NAMES",
    "LUMA_WEIGHTS",
    "box1d_reference",
    "hamming",
    "jarosz_window",
    "luma_from_rgb",
    "pdq_dihedral_from_luma",
    "pdq_from_luma",
]

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
PDQ_DIM = 64
DCT_DIM = 16
JAROSZ_PASSES = 2

# Order of the reference's pdqHash256esFromFloatLuma / pdqhash.compute_dihedral.
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """float32 luma of an (H, W, 3+) uint8/float array; extra channels (alpha) are ignored."""
    r, g, b = LUMA_WEIGHTS
    arr = rgb[..., :3].astype(np.float32, copy=False)
    return arr[..., 0] * np.float32(r) + arr[..., 1] * np.float32(g) + arr[..., 2] * np.float32(b)


def jarosz_window(dim: int) -> int:
    """Box-filter window along a dimension of ``dim`` pixels (reference formula)."""
    return (dim + 2 * PDQ_DIM - 1) // (2 * PDQ_DIM)


def _windows(n: int, full: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive [lo, hi] input range of every output of the reference box1D.

    The reference accumulates ``half = (full + 2) // 2`` inputs before its first output, so
    output ``o`` averages inputs ``o - (full - half) .. o + half - 1`` clipped to the vector.
    """
    half = (full + 2) // 2
    o = np.arange(n)
    lo = np.maximum(o - (full - half), 0)
    hi = np.minimum(o + half - 1, n - 1)
    return lo, hi


def box1d_reference(vec: np.ndarray, full: int) -> np.ndarray:
    """Literal port of the reference box1D phases (slow; used to check the operator form)."""
    n = len(vec)
    half = (full + 2) // 2
    out = np.zeros(n, dtype=np.float64)
    li = ri = oi = 0
    total = 0.0
    size = 0
    for _ in range(half - 1):
        total += vec[ri]
        size += 1
        ri += 1
    for _ in range(full - half + 1):
        total += vec[ri]
        size += 1
        out[oi] = total / size
        ri += 1
        oi += 1
    for _ in range(n - full):
        total += vec[ri] - vec[li]
        out[oi] = total / size
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        total -= vec[li]
        size -= 1
        out[oi] = total / size
        li += 1
        oi += 1
    return out


@lru_cache(maxsize=64)
def _filter_decimate_matrix(n: int) -> np.ndarray:
    """64 x n matrix: JAROSZ_PASSES box filters along one axis, then the decimation samples."""
    full = jarosz_window(n)
    lo, hi = _windows(n, full)
    inv = 1.0 / (hi - lo + 1)
    samples = np.array([int((i + 0.5) * n / PDQ_DIM) for i in range(PDQ_DIM)])
    # Start with one-hot rows at the sample positions and apply the transpose of the box
    # operator JAROSZ_PASSES times: row @ B, where B[o, k] = inv[o] for lo[o] <= k <= hi[o].
    rows = np.zeros((PDQ_DIM, n), dtype=np.float64)
    rows[np.arange(PDQ_DIM), samples] = 1.0
    for _ in range(JAROSZ_PASSES):
        # (rows @ B)[:, k] = sum_o rows[:, o] * inv[o] * [lo[o] <= k <= hi[o]]
        weighted = rows * inv  # (64, n) indexed by o
        diff = np.zeros((PDQ_DIM, n + 1), dtype=np.float64)
        np.add.at(diff.T, lo, weighted.T)
        np.add.at(diff.T, hi + 1, -weighted.T)
        rows = np.cumsum(diff[:, :n], axis=1)
    return rows.astype(np.float32)


def _find_openblas_threads() -> tuple[object, object] | None:
    """numpy wheels bundle scipy-openblas; its thread setter, if present."""
    libs_dir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                getter = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    getter.restype = ctypes.c_int
                    setter.argtypes = [ctypes.c_int]
                    return getter, setter
    return None


_BLAS_THREADS = _find_openblas_threads()


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the small PDQ matrix products on one BLAS thread.

    They are 64 x N products: threading gains nothing there, and OpenBLAS's spinning worker
    threads slow them down ~10x on a loaded machine (measured: a 614-frame video took 7.3 s
    instead of 0.75 s with the machine's 2 cores busy). Parallelism belongs one level up (a
    process per core hashing files). The previous setting is restored; a no-op when numpy's
    BLAS is not the bundled OpenBLAS.
    """
    if _BLAS_THREADS is None:
        yield
        return
    getter, setter = _BLAS_THREADS
    previous = getter()  # type: ignore[operator]
    if previous != 1:
        setter(1)  # type: ignore[operator]
    try:
        yield
    finally:
        if previous != 1:
            setter(previous)  # type: ignore[operator]


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    u = np.arange(1, DCT_DIM + 1, dtype=np.float64)[:, None]
    j = np.arange(PDQ_DIM, dtype=np.float64)[None, :]
    return (math.sqrt(2.0 / PDQ_DIM) * np.cos(math.pi / 128.0 * u * (2 * j + 1))).astype(np.float64)


def _buffer64(luma: np.ndarray) -> np.ndarray:
    if luma.ndim != 2 or luma.shape[0] < 1 or luma.shape[1] < 1:
        raise ValueError(f"luma must be a non-empty 2-D array, got shape {luma.shape}")
    rows, cols = luma.shape
    r = _filter_decimate_matrix(rows)
    c = _filter_decimate_matrix(cols)
    x = np.ascontiguousarray(luma, dtype=np.float32)
    with single_threaded_blas():
        # Contract the longer axis first (cheaper: both orders give 64x64).
        if cols >= rows:
            out = r @ (x @ c.T)
        else:
            out = (r @ x) @ c.T
    return out.astype(np.float64)


def _quality(buf: np.ndarray) -> int:
    dv = np.trunc((buf[:-1, :] - buf[1:, :]) * 100.0 / 255.0)
    dh = np.trunc((buf[:, :-1] - buf[:, 1:]) * 100.0 / 255.0)
    gradient_sum = int(np.abs(dv).sum() + np.abs(dh).sum())
    return min(gradient_sum // 90, 100)


def _dct16(buf: np.ndarray) -> np.ndarray:
    d = _dct_matrix()
    return d @ buf @ d.T


def _bits_to_hex(coeffs: np.ndarray) -> str:
    flat = coeffs.reshape(-1)
    # Reference median (Torben): the (n+1)//2-th smallest value, i.e. the lower median.
    median = np.partition(flat, 127)[127]
    bits = (coeffs > median).astype(np.uint32)  # [i][j] -> bit j of word i
    words = (bits << np.arange(DCT_DIM, dtype=np.uint32)[None, :]).sum(axis=1)
    return "".join(f"{int(words[i]):04x}" for i in range(DCT_DIM - 1, -1, -1))


def pdq_from_luma(luma: np.ndarray) -> tuple[str, int]:
    """(64-hex PDQ hash, quality 0..100) of a 2-D luma array (any size, values 0..255)."""
    buf = _buffer64(luma)
    return _bits_to_hex(_dct16(buf)), _quality(buf)


def _dihedral_coeffs(b: np.ndarray) -> list[np.ndarray]:
    # Mirroring an axis multiplies the coefficient of frequency u = index + 1 by (-1)**u, i.e.
    # negates the even indices; a diagonal flip transposes the coefficient matrix. ``b[i][j]``
    # has i along the image rows (vertical frequency) and j along the columns. The reference
    # names the top-bottom mirror "flip x" (checked against pdq_dihedral_pdqhash and the
    # dih/bridge-k images, which match these within 8 bits).
    sign = np.where(np.arange(DCT_DIM) % 2 == 0, -1.0, 1.0)
    neg_rows = b * sign[:, None]
    neg_cols = b * sign[None, :]
    neg_both = neg_rows * sign[None, :]
    return [
        b,  # original
        neg_cols.T,  # rotate 90
        neg_both,  # rotate 180
        neg_rows.T,  # rotate 270
        neg_rows,  # flip x (reference naming)
        neg_cols,  # flip y (reference naming)
        b.T,  # flip plus-1 diagonal
        neg_both.T,  # flip minus-1 diagonal
    ]


def pdq_dihedral_from_luma(luma: np.ndarray) -> list[tuple[str, int]]:
    """The 8 dihedral PDQ hashes in the reference order (see DIHEDRAL_NAMES), with quality."""
    buf = _buffer64(luma)
    quality = _quality(buf)
    return [(_bits_to_hex(c), quality) for c in _dihedral_coeffs(_dct16(buf))]


def hamming(a: str, b: str) -> int:
    """Hamming distance between two equal-length hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
