"""A provider item that is HTML, SVG, a script, a polyglot or not decodable is shown on the
report page as a labelled placeholder with its type and hashes; the page never points a
picture, video, frame or object at it, and none of its content is in the page."""

from __future__ import annotations

import hashlib
import re

from balise.demo import demo_image
from tests.exposure_support import (
    HTML,
    SCRIPT,
    SVG,
    analyst,
    claim,
    file_report,
    polyglot,
    report_items,
    truncated_jpeg,
    workbench,
)


def test_hostile_items_are_placeholders_with_type_and_hashes(tmp_path, db_url):
    picture = demo_image(91, (640, 480))
    hostile = [("page.html", HTML, "text/html"), ("drawing.svg", SVG, "image/svg+xml"),
               ("app.js", SCRIPT, "application/javascript"), ("both.jpg", polyglot(), "image/jpeg")]
    cut = truncated_jpeg()
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, ids = file_report(balise, key, [("p.jpg", picture, "image/jpeg"), *hostile,
                                                    ("cut.jpg", cut, "image/jpeg")])
        items = {i.id: i for i in report_items(balise, report_id)}
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            page = ana.get(f"/ui/reports/{report_id}").text
            # A cut JPEG is a picture as far as it decodes: hashed, matched and shown blurred.
            shown = ana.get(f"/ui/items/{ids[-1]}/media")
            assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
            assert hashlib.sha256(shown.content).hexdigest() != hashlib.sha256(cut).hexdigest()

        articles = re.findall(r'<article class="item".*?</article>', page, re.S)
        assert len(articles) == 6
        good, *bad, cut_article = articles
        assert f'<img class="derivative" src="/ui/items/{ids[-1]}/media"' in cut_article
        assert f'<img class="derivative" src="/ui/items/{ids[0]}/media"' in good and "class=\"placeholder" not in good
        for article, item_id, (name, data, declared) in zip(bad, ids[1:], hostile):
            item = items[item_id]
            assert 'class="placeholder unsafe"' in article, name
            assert "Not shown: this" in article and "never rendered" in article
            # Its type (as sniffed, or as declared when not recognised) and all its hashes.
            assert f"<code>{item.content_type}</code>" in article and item.content_type == declared
            for digest in (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(),
                           hashlib.sha256(data).hexdigest()):
                assert digest in article
            # Never rendered: nothing on the page loads it.
            assert not re.search(r"<(img|video|audio|iframe|object|embed|source)\b", article), name
            assert f"/ui/items/{item_id}/media" not in page
        # Why the polyglot is not shown, even though it is hashed as the picture it also is.
        assert "also another format (a polyglot)" in bad[3] and items[ids[4]].polyglot
        # None of the hostile content is in the page, not even escaped.
        for marker in ("document.title", "onload", "<svg", "&lt;svg", "&lt;script"):
            assert marker not in page, marker
