"""Series of near-duplicate material across reports, and identified victims (issue 17).

A *series* groups items of every report whose perceptual hashes are near one another (PDQ for
pictures, the frames of vPDQ for videos). Balise proposes series as the connected components
of the near-duplicate graph (an item joins the series of any neighbour within the threshold;
an item that links two proposed series merges them); analysts confirm, split and merge them.
A law-enforcement partner may mark a series as depicting an identified victim, holding only a
case reference, never the victim's identity.

The rules here are pure: ``balise/series/`` stores, assigns and audits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

#: Two pictures within this many PDQ bits are near-duplicates (the matching threshold).
SERIES_PDQ_THRESHOLD = 31
#: Pictures below this PDQ quality (nearly uniform) are never clustered: they would join anything.
SERIES_MIN_QUALITY = 50
#: A video keeps at most this many distinct good frames in the series index (evenly spread).
MAX_VIDEO_FRAMES = 64
#: A video is near another item when at least this share of its kept frames has a neighbour there.
VIDEO_FRAME_SHARE = 0.5
MAX_CASE_REFERENCE = 200
MAX_REASON = 2000

_REFERENCE_RE = re.compile(r"^S-(\d{1,12})$")


class SeriesStatus(StrEnum):
    PROPOSED = "proposed"  # by the near-duplicate graph, not yet looked at
    CONFIRMED = "confirmed"  # an analyst confirmed it: automatic merges leave it alone
    MERGED = "merged"  # merged into another series (merged_into)
    EMPTY = "empty"  # every item was split off


class SeriesError(ValueError):
    """An analyst's or a partner's action that cannot be taken; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def reference(series_id: int) -> str:
    """``S-000042``: how people name a series."""
    return f"S-{series_id:06d}"


def parse_reference(text: str) -> int:
    """The id of ``S-000042`` (or of ``42``); SeriesError when it is neither."""
    value = (text or "").strip().upper()
    found = _REFERENCE_RE.match(value)
    if found:
        return int(found.group(1))
    if value.isdigit() and len(value) <= 12:
        return int(value)
    raise SeriesError("series", f"not a series reference (S-000042): {text!r}"[:200])


def check_reason(text: str | None, what: str) -> str:
    clean = " ".join((text or "").split())
    if len(clean) < 5:
        raise SeriesError("reason", f"give the reason for the {what} (at least 5 characters)")
    if len(clean) > MAX_REASON or "\x00" in clean:
        raise SeriesError("reason", f"the reason must be at most {MAX_REASON} characters of text")
    return clean


def check_case_reference(text: str | None) -> str:
    """A police case reference: a short code, never a name. Refused when empty, too long, or
    when it looks like it carries more than a reference (several words, an e-mail address)."""
    clean = " ".join((text or "").split())
    if not clean:
        raise SeriesError("case_reference", "give the case reference of the identification")
    if len(clean) > MAX_CASE_REFERENCE or "\x00" in clean:
        raise SeriesError("case_reference", f"the case reference must be at most {MAX_CASE_REFERENCE} characters")
    if "@" in clean or len(clean.split()) > 3:
        raise SeriesError("case_reference", "a case reference only (e.g. FR-OCRVP-2026-0142): never the victim's "
                                            "name or contact details")
    return clean


@dataclass(frozen=True)
class Neighbour:
    """An item near the new one: which, how near, and the series it is in (if any)."""

    item_key: str
    distance: int
    series_id: int | None
    series_status: str | None


@dataclass(frozen=True)
class Assignment:
    """What to do with a new item: join ``series_id`` (None: open a new series with ``adopt``),
    and merge ``merge`` (proposed series the item links) into it."""

    series_id: int | None
    distance: int
    merge: tuple[int, ...] = ()
    adopt: tuple[str, ...] = ()  # neighbours without a series, to put in the new one


def decide(neighbours: Iterable[Neighbour], sizes: Mapping[int, int] | None = None) -> Assignment | None:
    """The assignment of a new item from its neighbours (None: no neighbour, no series).

    * No neighbour in a series: a new series of the item and its neighbours.
    * Neighbours in series: the item joins the largest one (confirmed first, then the
      nearest, then the oldest); the other *proposed* series it links merge into it. Confirmed
      series are never merged automatically: an analyst decided what they are.
    """
    near = list(neighbours)
    if not near:
        return None
    sizes = sizes or {}
    in_series = [n for n in near if n.series_id is not None]
    if not in_series:
        return Assignment(None, min(n.distance for n in near), (), tuple(sorted({n.item_key for n in near})))
    best: dict[int, Neighbour] = {}
    for n in in_series:
        assert n.series_id is not None
        if n.series_id not in best or n.distance < best[n.series_id].distance:
            best[n.series_id] = n

    def rank(n: Neighbour) -> tuple[int, int, int, int]:
        assert n.series_id is not None
        return (0 if n.series_status == SeriesStatus.CONFIRMED.value else 1, -sizes.get(n.series_id, 0),
                n.distance, n.series_id)

    target = min(best.values(), key=rank)
    merge = tuple(sorted(sid for sid, n in best.items()
                         if sid != target.series_id and n.series_status == SeriesStatus.PROPOSED.value))
    adopt = tuple(sorted({n.item_key for n in near if n.series_id is None}))
    return Assignment(target.series_id, target.distance, merge, adopt)


# -- triage ------------------------------------------------------------------------------------

#: Points of a report whose items land in a known series whose victim is not identified
#: (possible ongoing abuse), per series, capped.
UNIDENTIFIED_SERIES = 2_500
UNIDENTIFIED_SERIES_CAP = 5_000


@dataclass(frozen=True)
class SeriesLink:
    """An item of the report being triaged that landed in a series already known from other
    reports."""

    series_id: int
    identified: bool


def triage_reasons(links: Iterable[SeriesLink]) -> list[tuple[str, int, str]]:
    """(code, points, detail) for the priority: items of known series whose victim is not
    identified rank higher; identified ones are said, with no points."""
    links = list(links)
    unidentified = sorted({link.series_id for link in links if not link.identified})
    identified = sorted({link.series_id for link in links if link.identified} - set(unidentified))
    reasons = []
    if unidentified:
        n = sum(1 for link in links if not link.identified)
        reasons.append(("known_series_unidentified", min(UNIDENTIFIED_SERIES_CAP, UNIDENTIFIED_SERIES * len(unidentified)),
                        f"{n} item(s) of a known series whose victim is not identified (possible ongoing abuse): "
                        + ", ".join(reference(s) for s in unidentified)))
    if identified:
        n = sum(1 for link in links if link.identified)
        reasons.append(("known_series_identified", 0,
                        f"{n} item(s) of a known series whose victim is identified: "
                        + ", ".join(reference(s) for s in identified)))
    return reasons
