"""Generated PDQ data for the index's tests: near-duplicates of stored hashes."""

from __future__ import annotations

import numpy as np


def flip(words: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copy of words with k[i] distinct random bits of row i flipped."""
    out = words.copy()
    for i in range(out.shape[0]):
        for bit in rng.choice(256, size=int(k[i]), replace=False):
            out[i, bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return out
