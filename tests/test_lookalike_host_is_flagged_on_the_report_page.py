"""A reported URL whose host imitates another name (a Cyrillic letter among Latin ones) is
flagged when it is fetched: the flags and the host as a person reads it are kept with where it
is hosted, audited with the fetch, and shown with a warning on the report's routing panel."""

from __future__ import annotations

import html

import idna
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, UrlHosting
from balise.web.app import create_app
from tests.helpers import make_user, sign_in
from tests.takedown_support import Clock, demo_site, file_url_report, known_picture, mailbox, reencoded
from tests.takedown_support import routing_app

LOOKALIKE = "p\u0430ypal-demo.example"  # the second letter is CYRILLIC SMALL LETTER A
ASCII = idna.encode(LOOKALIKE, uts46=True).decode("ascii")


def test_a_confusable_host_is_flagged_through_the_fetch_job_and_warned_about_on_the_staff_page(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        # The look-alike name resolves to the loopback DEMO site, from a fixed table.
        app = routing_app(tmp_path, db_url, clock, box.port, fetch_static_hosts=f"{ASCII}=127.0.0.1")
        site.serve("/l/1.jpg", reencoded(known_picture(app)))
        url = site.base.replace("127.0.0.1", LOOKALIKE) + "/l/1.jpg"
        report_id = file_url_report(app, url)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            hosting = s.get(UrlHosting, item.id)
            fetch = s.execute(select(AuditRecord).where(AuditRecord.event_type == "url:fetch")).scalar_one()
        assert hosting.fetch_status == "served" and site.hits == ["/l/1.jpg"]
        assert (hosting.host, hosting.host_unicode) == (ASCII, LOOKALIKE)
        assert {"idn", "mixed_script"} <= set(hosting.host_flags)
        assert set(fetch.details["host_flags"]) == set(hosting.host_flags)
        assert fetch.details["host_unicode"] == LOOKALIKE

        make_user(app, "ana", "analyst")
        with TestClient(create_app(app)) as client:
            sign_in(client, app, "ana")
            page = html.unescape(client.get(f"/ui/reports/{report_id}").text)
        assert "Warning: the host name may imitate another one." in page
        assert "It mixes letters of several scripts" in page
        assert f"{LOOKALIKE} ({ASCII})" in page


def test_a_plain_host_has_no_flag_and_no_warning(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        url = site.serve("/l/2.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        with app.db.sessions() as s:
            hosting = s.execute(select(UrlHosting).where(UrlHosting.report_id == report_id)).scalar_one()
            fetch = s.execute(select(AuditRecord).where(AuditRecord.event_type == "url:fetch")).scalar_one()
        assert (hosting.host, hosting.host_unicode, hosting.host_flags) == ("127.0.0.1", "127.0.0.1", None)
        assert fetch.details["host_flags"] == [] and "host_unicode" not in fetch.details
        make_user(app, "ana", "analyst")
        with TestClient(create_app(app)) as client:
            sign_in(client, app, "ana")
            page = client.get(f"/ui/reports/{report_id}").text
        assert "may imitate another one" not in page and "Host as displayed" not in page
