"""Where the shared conformance vectors are: BALISE_VECTORS, else ../shared/vectors beside the
repository. Missing vectors fail the tests that need them (never a skip)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def vectors_dir() -> Path:
    env = os.environ.get("BALISE_VECTORS")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
    if not (path / "README.md").is_file():
        pytest.fail(f"conformance vectors are required and missing at {path} (set BALISE_VECTORS)")
    return path
