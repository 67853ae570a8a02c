"""Removal verification does not take other bytes for a removal: a host that re-encodes or
resizes the same picture still serves it (PDQ within the match threshold); another picture in
its place is a removal. The same holds for the pictures found on a reported page, and for a
video (re-encoded, it still matches the vPDQ indicator it matched)."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Takedown
from balise.demo import demo_image
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)


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


def demo_video(seed: int, size: tuple[int, int] = (192, 144), bitrate: int | None = None) -> bytes:
    """A 4-second DEMO video of sliding coloured blocks (generated, benign)."""
    import av
    import numpy as np

    blocks = np.random.default_rng(seed).integers(0, 255, (18, 24, 3), dtype=np.uint8)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        if bitrate:
            stream.bit_rate = bitrate
        for i in range(40):
            frame = Image.fromarray(np.kron(np.roll(blocks, i // 4, axis=1), np.ones((8, 8, 1), dtype=np.uint8)))
            for packet in stream.encode(av.VideoFrame.from_image(frame.resize(size))):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def test_a_re_encoded_video_is_still_served_and_another_video_is_a_removal(tmp_path, db_url) -> None:
    from balise.accounts.actors import Actor
    from balise.domain.indicators import IndicatorKind

    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        original = demo_video(1)
        (tmp_path / "v.mp4").write_bytes(original)
        frames = app.media_hasher(str(tmp_path / "v.mp4"))["vpdq"]
        with app.db.transaction() as s:
            app.indicators.add_vpdq(s, Actor.system("test"), kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO"},
                                    frames=[(f["frame_number"], f["quality"], f["pdq"], f["timestamp"]) for f in frames])
        url = site.serve("/v/1.mp4", original, "video/mp4")
        report_id = file_url_report(app, url)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
        assert item.media_type == "video" and item.matched and item.outcome == "illegal"
        forward(app, report_id)
        app.run_jobs()

        # Smaller and at a lower bit rate: other bytes, the same video.
        site.serve("/v/1.mp4", demo_video(1, size=(128, 96), bitrate=60_000), "video/mp4")
        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        takedown = _takedown(app, report_id)
        with app.db.sessions() as s:
            first = app.takedowns.checks(s, item.id)[0]
        assert (takedown.status, takedown.last_outcome) == ("watching", "served")
        assert first.sha256 != takedown.original_sha256 and "same video" in first.detail

        site.serve("/v/1.mp4", demo_video(2), "video/mp4")
        clock.advance(hours=5)
        app.run_jobs()
        assert (_takedown(app, report_id).status, _takedown(app, report_id).last_outcome) == ("removed", "changed")
