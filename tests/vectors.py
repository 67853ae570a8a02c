"""Where the hash conformance vectors are: BALISE_VECTORS if set, else the subset the tests use,
shipped in tests/data/vectors (see its README for where each file came from). A missing file
fails the tests that need it, never skips them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BUNDLED = Path(__file__).resolve().parent / "data" / "vectors"


def vectors_dir() -> Path:
    env = os.environ.get("BALISE_VECTORS")
    path = Path(env) if env else BUNDLED
    if not (path / "LICENSE").is_file():
        pytest.fail(f"conformance vectors are required and missing at {path} (unset BALISE_VECTORS to use {BUNDLED})")
    return path
