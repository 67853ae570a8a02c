"""Shared by the series and victim request tests: generated benign pictures (DEMO), variants
of one picture that stay within the PDQ threshold, and reports filed through the real API."""

from __future__ import annotations

import io
import json

from PIL import Image
from sqlalchemy import select

from balise.adapters.db.models import Report, SeriesHash
from balise.container import Balise
from balise.demo import demo_image
from tests.helpers import auth, minimal_report


def variant(seed: int, kind: int) -> bytes:
    """Another file of the same DEMO picture: resized, cropped slightly, re-encoded."""
    img = Image.open(io.BytesIO(demo_image(seed, (800, 600))))
    if kind == 1:
        img = img.resize((640, 480))
    elif kind == 2:
        img = img.crop((8, 6, 792, 594)).resize((700, 525))
    elif kind == 3:
        img = img.resize((400, 300))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80 - kind * 5)
    return out.getvalue()


def file_report(client, key: str, files: dict[str, bytes], **report) -> str:  # type: ignore[no-untyped-def]
    document = minimal_report(type="new_csam", items=[{"kind": "media", "file": name} for name in files], **report)
    r = client.post("/api/v1/reports", data={"report": json.dumps(document)},
                    files=[(name, (f"{name}.jpg", data, "image/jpeg")) for name, data in files.items()],
                    headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def series_of_report(app: Balise, report_id: str) -> set[int | None]:
    import uuid

    with app.db.sessions() as s:
        return {r[0] for r in s.execute(select(SeriesHash.series_id)
                                        .where(SeriesHash.report_id == uuid.UUID(report_id))).all()}


def report_row(app: Balise, report_id: str) -> Report:
    import uuid

    with app.db.sessions() as s:
        report = s.get(Report, uuid.UUID(report_id))
        assert report is not None
        s.expunge(report)
        return report


PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def flipped(pdq: str, bits: int, offset: int = 0) -> str:
    """``pdq`` with ``bits`` bits flipped from bit ``offset``."""
    return f"{int(pdq, 16) ^ (((1 << bits) - 1) << offset):064x}"


def indexed_items(app: Balise, client, key: str, pdqs: list[str]) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """One hash-only report per PDQ, its item given the picture's PDQ and assigned to a series
    as the media.hash job does (the series service is real; only the decoding is skipped)."""
    import uuid

    from balise.adapters.db.models import Item

    out = []
    for n, pdq in enumerate(pdqs):
        doc = minimal_report(items=[{"kind": "hash_only", "hashes": {"md5": f"{n:032x}"}}])
        r = client.post("/api/v1/reports", headers=auth(key), json=doc)
        assert r.status_code == 201, r.text
        with app.db.transaction() as s:
            item = s.execute(select(Item).where(Item.report_id == uuid.UUID(r.json()["id"]))).scalar_one()
            item.hashes, item.media_type = {"pdq": pdq, "pdq_quality": 100}, "image"
            app.series_assignment.assign(s, item)
            out.append((r.json()["id"], item.id))
    return out
