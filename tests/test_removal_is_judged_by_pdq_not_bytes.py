"""Removal verification does not take other bytes for a removal: a host that re-encodes or
resizes the same picture still serves it (PDQ within the match threshold); another picture in
its place is a removal. The same holds for the pictures found on a reported page."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Takedown
from balise.demo import demo_image
from tests.takedown_support import Clock, demo_site, file_url_report, forward, known_picture, mailbox, reencoded
from tests.takedown_support import routing_app


def resized(data: bytes, size: tuple[int, int], quality: int) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.LANCZOS).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _takedown(app, report_id) -> Takedown:  # type: ignore[no-untyped-def]
    with app.db.sessions() as s:
        return s.execute(select(Takedown).where(Takedown.report_id == report_id)).scalar_one()


def test_a_re_encoded_or_resized_copy_is_still_served_and_another_picture_is_a_removal(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        original = known_picture(app)
        url = site.serve("/pdq/1.jpg", reencoded(original, quality=90))
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        item_id = _takedown(app, report_id).item_id

        # The host re-encodes at another quality: other bytes, the same picture.
        site.serve("/pdq/1.jpg", reencoded(original, quality=35))
        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        # Then serves it resized: still the same picture.
        site.serve("/pdq/1.jpg", resized(original, (400, 300), quality=60))
        clock.advance(hours=5)
        app.run_jobs()
        takedown = _takedown(app, report_id)
        assert (takedown.status, takedown.step, takedown.removed_at) == ("watching", 2, None)
        with app.db.sessions() as s:
            checks = app.takedowns.checks(s, item_id)
        assert [c.outcome for c in checks] == ["served", "served"]
        assert all(c.sha256 != takedown.original_sha256 for c in checks)
        assert all(c.pdq_distance is not None and c.pdq_distance <= 31 for c in checks)
        assert "same picture" in checks[0].detail

        # Another picture in its place: removed.
        site.serve("/pdq/1.jpg", demo_image(777, (800, 600)))
        clock.advance(hours=18)
        app.run_jobs()
        takedown = _takedown(app, report_id)
        with app.db.sessions() as s:
            last = app.takedowns.checks(s, item_id)[-1]
            audited = s.execute(select(AuditRecord.details).where(AuditRecord.event_type == "takedown:check")
                                .order_by(AuditRecord.seq)).scalars().all()
        assert (takedown.status, takedown.last_outcome) == ("removed", "changed")
        assert last.pdq_distance > 31 and "another picture" in last.detail
        assert [d["outcome"] for d in audited] == ["served", "served", "changed"]
        assert all("pdq_distance" in d for d in audited)


def test_a_page_whose_picture_is_re_encoded_is_not_removed(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        original = known_picture(app)
        site.serve("/pg/known.jpg", reencoded(original, quality=90))
        page = site.serve("/pg/index.html", b'<html><body><img src="known.jpg"></body></html>', "text/html")
        report_id = file_url_report(app, page)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            picture = s.execute(select(Item).where(Item.report_id == report_id, Item.url.like("%known.jpg"))).scalar_one()
        assert picture.outcome == "illegal"

        # The host re-compresses its pictures; the page is unchanged: still served.
        site.serve("/pg/known.jpg", resized(original, (640, 480), quality=40))
        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        assert (_takedown(app, report_id).status, _takedown(app, report_id).last_outcome) == ("watching", "served")

        # It replaces the picture with another one: the page's illegal picture is gone.
        site.serve("/pg/known.jpg", demo_image(778, (640, 480)))
        clock.advance(hours=5)
        app.run_jobs()
        assert (_takedown(app, report_id).status, _takedown(app, report_id).last_outcome) == ("removed", "media_gone")
