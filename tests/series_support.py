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
