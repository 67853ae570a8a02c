"""A reported HTML page is crawled one level: each picture or video it shows or links to
becomes an item of its own, fetched, hashed and matched separately (INHOPE ICCAM), so known
material is classified by re-use; the host notice for the page names the illegal pictures too."""

from __future__ import annotations

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Notice, Takedown, UrlHosting
from balise.demo import demo_image
from balise.takedown.url_inspection import page_media_urls
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


def test_page_media_are_found_resolved_deduplicated_and_capped() -> None:
    html = b"""<html><body>
      <img src="/a.jpg"><img src="/a.jpg#x"><img srcset="b.png 1x, c.png 2x">
      <video src="v.mp4" poster="p.webp"><source src="https://cdn.example/v2.webm"></video>
      <a href="/gallery/next.html">next</a><a href="d.JPG">full size</a>
      <img src="javascript:alert(1)"><img src="data:image/png;base64,AAAA"><img src="ftp://x.example/y.jpg">
      <!-- <img src="/commented.jpg"> --></body></html>"""
    base = "http://site.example/gallery/index.html"
    assert page_media_urls(html, base, 50) == [
        "http://site.example/a.jpg", "http://site.example/gallery/b.png", "http://site.example/gallery/c.png",
        "http://site.example/gallery/v.mp4", "http://site.example/gallery/p.webp", "https://cdn.example/v2.webm",
        "http://site.example/gallery/d.JPG"]
    assert len(page_media_urls(html, base, 3)) == 3
    assert page_media_urls(b"\x00\xff not html at all", base, 10) == []


def test_a_reported_gallery_page_has_each_picture_assessed_and_named_in_the_notice(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        known = site.serve("/g/known.jpg", reencoded(known_picture(app)))
        unknown = site.serve("/g/new.jpg", demo_image(919, (640, 480)))
        page = site.serve("/g/index.html", b"""<html><body><h1>DEMO gallery</h1>
            <img src="known.jpg"><img src="/g/new.jpg"><img src="http://10.0.0.1/private.jpg">
            <a href="index.html">again</a></body></html>""", "text/html; charset=utf-8")
        report_id = file_url_report(app, page)
        app.run_jobs()
        with app.db.sessions() as s:
            items = {i.url: i for i in s.execute(select(Item).where(Item.report_id == report_id)).scalars()}
            hosting = {url: s.get(UrlHosting, i.id) for url, i in items.items()}
        assert set(items) == {page, known, unknown, "http://10.0.0.1/private.jpg"}
        assert items[known].matched and items[known].outcome == "illegal"
        assert not items[unknown].matched and items[unknown].outcome is None
        assert hosting["http://10.0.0.1/private.jpg"].fetch_status == "refused"
        assert all(items[u].media_metadata["found_on"] == page for u in (known, unknown))
        assert items[page].hash_status == "not_applicable"  # the page itself is not a picture
        app.run_jobs()  # nothing more: pictures found on a page are not crawled in turn
        assert sorted(site.hits) == sorted(["/g/index.html", "/g/known.jpg", "/g/new.jpg"])

        forward(app, report_id, text="DEMO: gallery with one known picture")
        app.run_jobs()
        with app.db.sessions() as s:
            takedowns = s.execute(select(Takedown).where(Takedown.report_id == report_id)).scalars().all()
            host = s.execute(select(Notice).where(Notice.kind == "host_notice")).scalar_one()
            created = s.execute(select(AuditRecord).where(AuditRecord.event_type == "item:create",
                                                          AuditRecord.actor_id == "fetcher")).scalars().all()
        assert [t.url for t in takedowns] == [page]
        assert known in host.body and page in host.body and unknown not in host.body
        assert len(created) == 3 and len(box.messages) == 1


def test_a_page_is_removed_when_its_illegal_pictures_are_gone_not_when_it_merely_changes(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        site.serve("/g/known.jpg", reencoded(known_picture(app)))
        page = site.serve("/g/index.html", b'<html><body><img src="known.jpg"> visits: 1</body></html>', "text/html")
        report_id = file_url_report(app, page)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()

        # The page changes (a counter) but still shows the picture: not removed.
        site.serve("/g/index.html", b'<html><body><img src="known.jpg"> visits: 2</body></html>', "text/html")
        clock.advance(hours=1, minutes=1)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.execute(select(Takedown).where(Takedown.report_id == report_id)).scalar_one()
        assert (takedown.status, takedown.last_outcome) == ("watching", "served")

        # The host deletes the picture; the page stays online: removed.
        site.take_down("/g/known.jpg")
        clock.advance(hours=5)
        app.run_jobs()
        with app.db.sessions() as s:
            takedown = s.execute(select(Takedown).where(Takedown.report_id == report_id)).scalar_one()
        assert (takedown.status, takedown.last_outcome) == ("removed", "media_gone")
