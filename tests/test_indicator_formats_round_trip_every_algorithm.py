"""Every format (CSV, ThreatExchange lines, VICS 1.3 and 2.0, NCMEC XML, STIX 2.1) exports MD5,
SHA-1, SHA-256, PDQ and vPDQ indicators and imports them back: into an emptied database the same
indicators come back with what the format carries; into the same database all are unchanged
(an exported vPDQ indicator used to be rejected on import)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import delete, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus

ACTOR = Actor.system("test")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ2 = "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"


def _seed(balise, frame_numbers: tuple[int, int]) -> None:
    with balise.db.transaction() as s:
        ind = balise.indicators
        ind.add(s, ACTOR, algorithm=Algorithm.MD5, value="d35c785545392755e7e4164457657269",
                kind=IndicatorKind.KNOWN_CSAM, provenance={}, classification={"ncmec_category": "A1"})
        ind.add(s, ACTOR, algorithm=Algorithm.SHA1, value="a" * 40, kind=IndicatorKind.KNOWN_CSAM, provenance={},
                classification={"ncmec_category": "B1"})
        ind.add(s, ACTOR, algorithm=Algorithm.SHA256, value="b" * 64, kind=IndicatorKind.KNOWN_CSAM, provenance={})
        ind.add(s, ACTOR, algorithm=Algorithm.PDQ, value=PDQ, kind=IndicatorKind.KNOWN_CSAM, provenance={},
                quality=90, classification={"ncmec_category": "A2"})
        ind.add_vpdq(s, ACTOR, frames=[(frame_numbers[0], 80, PDQ, 0.0), (frame_numbers[1], 100, PDQ2, 1.5)],
                     kind=IndicatorKind.KNOWN_CSAM, provenance={})


def _state(balise, carried: tuple[str, ...]) -> dict[tuple[str, str], tuple]:
    with balise.db.sessions() as s:
        return {(i.algorithm, i.value): tuple(getattr(i, name) for name in carried)
                for i in s.execute(select(Indicator)).scalars()}


def _export(balise, fmt: str, **kw) -> bytes:
    with balise.db.transaction() as s:
        return "".join(balise.indicators.export(s, ACTOR, fmt=fmt, **kw)).encode()


def _import(balise, data: bytes, fmt: str):
    with balise.db.transaction() as s:
        return balise.indicators.import_stream(s, ACTOR, io.BytesIO(data), fmt=fmt, source=f"round-trip.{fmt}")


# What each format carries besides the algorithm and the value (the key).
CARRIED = {
    "csv": ("kind", "status", "media_type", "quality", "classification", "frames"),
    "stix": ("kind", "status", "media_type", "quality", "classification", "frames"),
    "vics-2.0": ("kind", "status", "media_type", "quality", "classification", "frames"),
    "vics-1.3": ("kind", "status", "media_type", "quality", "classification", "frames"),
    # No frame numbers in these two (python-threatexchange's vPDQ text): frames are numbered by
    # position, so indicators whose frames are numbered 0, 1, ... come back the same.
    "te": ("kind", "status", "media_type", "frames"),
    "ncmec": ("kind", "status", "media_type", "classification", "frames"),
}


@pytest.mark.parametrize("case", sorted(CARRIED))
def test_every_algorithm_round_trips(balise, case: str) -> None:
    fmt, _, vics_version = case.partition("-")
    positional = fmt in ("te", "ncmec")
    _seed(balise, (0, 1) if positional else (30, 75))
    before = _state(balise, CARRIED[case])
    assert {a for a, _ in before} == {"md5", "sha1", "sha256", "pdq", "vpdq"}
    data = _export(balise, fmt, **({"vics_version": vics_version} if vics_version else {}))

    again = _import(balise, data, fmt)  # the same database: nothing new, nothing changed
    assert (again.imported, again.updated, again.rejected, again.unchanged) == (0, 0, 0, 5), again.errors

    with balise.db.transaction() as s:
        s.execute(delete(Indicator))
    fresh = _import(balise, data, fmt)
    assert (fresh.imported, fresh.rejected) == (5, 0), fresh.errors
    after = _state(balise, CARRIED[case])
    assert after == before


def test_ncmec_keeps_its_classification_and_deletions(balise) -> None:
    _seed(balise, (0, 1))
    with balise.db.transaction() as s:
        sha256 = s.execute(select(Indicator).where(Indicator.algorithm == "sha256")).scalar_one()
        balise.indicators.set_status(s, ACTOR, sha256.id, IndicatorStatus.DELETED, "withdrawn by its source")
    data = _export(balise, "ncmec", include_inactive=True)
    assert b"<deletedImage>" in data and b"<classification>A1</classification>" in data
    with balise.db.transaction() as s:
        s.execute(delete(Indicator))
    report = _import(balise, data, "ncmec")
    assert report.rejected == 0, report.errors
    got = _state(balise, ("status", "classification"))
    assert got[("sha256", "b" * 64)][0] == "deleted"
    assert got[("md5", "d35c785545392755e7e4164457657269")] == ("active", {"ncmec_category": "A1"})
    assert got[("pdq", PDQ)] == ("active", {"ncmec_category": "A2"})


def test_threatexchange_vpdq_line_is_python_threatexchanges_compact_list(balise) -> None:
    """python-threatexchange writes a vPDQ signal as a JSON list of "pdq,quality,timestamp"
    strings (extensions/vpdq/vpdq_util.py, VpdqCompactFeature); its vpdq extension needs the
    native vpdq package, so the shape is checked here rather than through its parser."""
    _seed(balise, (0, 1))
    line = next(ln for ln in _export(balise, "te").decode().splitlines() if ln.startswith("vpdq "))
    features = [s.split(",") for s in json.loads(line.split(" ", 1)[1])]
    assert features == [[PDQ, "80", "0.000"], [PDQ2, "100", "1.500"]]
