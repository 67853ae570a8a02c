"""The home page's counts per state link to the queue filtered on that state, and following
each link lists exactly that many reports; staff who have no queue see the counts unlinked."""

from __future__ import annotations

import re

from sqlalchemy import update

from balise.adapters.db.models import Report
from balise.demo import demo_image
from tests.exposure_support import analyst, file_report, workbench


def test_each_count_links_to_its_filtered_queue(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        reports = [file_report(balise, key, [(f"{n}.jpg", demo_image(90 + n, (640, 480)), "image/jpeg")])[0]
                   for n in range(3)]
        with balise.db.transaction() as s:
            s.execute(update(Report).where(Report.id == reports[0]).values(state="information_requested"))
            s.execute(update(Report).where(Report.id == reports[1]).values(state="forwarded_europol_only"))
        with analyst(balise, "ana") as ana, analyst(balise, "aud", "auditor") as aud:
            home = ana.get("/ui/").text
            links = dict(re.findall(r'<a href="(/ui/queue\?state=[a-z_]+)"[^>]*>(\d+)</a>', home))
            assert links == {"/ui/queue?state=in_assessment": "1", "/ui/queue?state=information_requested": "1",
                             "/ui/queue?state=forwarded_europol_only": "1"}
            for href, count in links.items():
                page = ana.get(href).text
                assert len(set(re.findall(r'href="/ui/reports/([0-9a-f-]{36})"', page))) == int(count), href
                state = href.rsplit("=", 1)[1]
                assert f'<option value="{state}" selected>' in page
            assert "forwarded to Europol only" in home  # the state in words beside its count
            # An auditor has no queue: the counts are there, without links.
            audited = aud.get("/ui/").text
            assert "/ui/queue" not in audited and "forwarded to Europol only" in audited
