"""Stored content never reaches the staff origin as something a browser would run or render: a
picture is shown only re-encoded by Balise (inline PNG or WebP); anything else — HTML, SVG,
script, polyglot, undecodable, video — only after a reveal, as an attachment of a type that
runs nothing, with nosniff and a sandboxing CSP. Before a reveal such items are not served at
all, whatever type the provider declared."""

from __future__ import annotations

from balise.demo import demo_image
from tests.exposure_support import (
    HTML,
    SCRIPT,
    SVG,
    analyst,
    claim,
    events,
    file_report,
    polyglot,
    reveal_url,
    sample_video,
    truncated_jpeg,
    workbench,
)

SCRIPTABLE = {"text/html", "image/svg+xml", "application/javascript", "text/javascript", "application/xhtml+xml",
              "text/xml", "application/xml"}


def sandboxed(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.headers["cache-control"].startswith("no-store")
    assert response.headers["content-type"].split(";")[0] not in SCRIPTABLE


def test_hostile_items_are_attachments_and_pictures_are_reencoded_rasters(tmp_path, db_url):
    picture, video = demo_image(81, (640, 480)), sample_video()
    hostile = {"page.html": (HTML, "text/html"), "drawing.svg": (SVG, "image/svg+xml"),
               "app.js": (SCRIPT, "application/javascript"), "both.jpg": (polyglot(), "image/jpeg")}
    # A cut JPEG is a picture as far as it decodes (it is hashed and matched as one): shown as
    # a raster Balise encoded, like any picture, never as its stored bytes.
    cut = truncated_jpeg()
    files = [("p.jpg", picture, "image/jpeg"), ("v.mp4", video, "video/mp4")] + [
        (name, data, declared) for name, (data, declared) in hostile.items()] + [("cut.jpg", cut, "image/jpeg")]
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, ids = file_report(balise, key, files)
        picture_id, video_id, *hostile_ids, cut_id = ids
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            # The default view of a hostile item: nothing, whatever the provider declared.
            for item_id, (name, (data, declared)) in zip(hostile_ids, hostile.items()):
                r = ana.get(f"/ui/items/{item_id}/media")
                assert r.status_code == 415, name
                assert data[:32] not in r.content
                sandboxed(r)
            # After a reveal: the stored bytes, but only as an attachment that runs nothing.
            for item_id, (name, (data, declared)) in zip(hostile_ids, hostile.items()):
                r = ana.get(reveal_url(ana, item_id, "check_file"))
                assert r.status_code == 200 and r.content == data, name
                assert r.headers["content-type"] == "application/octet-stream"
                assert r.headers["content-disposition"] == f'attachment; filename="item-{item_id}.bin"'
                sandboxed(r)
            # A video plays from an attachment of its own (non-scriptable) type.
            r = ana.get(reveal_url(ana, video_id))
            assert r.status_code == 200 and r.content == video and r.headers["content-type"] == "video/mp4"
            assert r.headers["content-disposition"].startswith("attachment;")
            sandboxed(r)
            # Pictures are always rasters Balise encoded, inline.
            for item_id, stored in ((picture_id, picture), (cut_id, cut)):
                for url in (f"/ui/items/{item_id}/media", reveal_url(ana, item_id)):
                    r = ana.get(url)
                    assert r.headers["content-type"] in ("image/png", "image/webp")
                    assert r.headers["content-disposition"] == "inline" and r.content != stored
                    sandboxed(r)
        # Nothing of a hostile item was decrypted for the default view.
        previewed = {e.details["item"] for e in events(balise, "media:preview")}
        assert previewed == {str(picture_id), str(cut_id)}
