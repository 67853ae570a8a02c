"""What a match query and its outcome look like (shared by intake, the API and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HashQuery:
    """One hash to look up. ``dihedral`` holds the other 7 PDQ hashes of the same image
    (rotations and flips), when the caller wants rotated copies to match too."""

    type: str
    value: str | None = None
    quality: int | None = None
    dihedral: list[str] | None = None
    frames: list[dict[str, Any]] | None = None


@dataclass
class MatchOutcome:
    status: str  # ok | low_quality | invalid
    matches: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
