"""The other ways a file comes in take the same decision as the provider API: a known picture
with a ZIP archive appended, uploaded through the NCMEC-compatible /ispws API, or served at a
reported URL (as the public form's reports are fetched) under a misleading content type, is
hashed, matched and flagged as a polyglot; the analyst's report page shows the flag and notes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import Item, Report
from balise.web.app import create_app
from tests.bypass_support import app_for, known_picture, zip_archive
from tests.helpers import make_user, sign_in
from tests.ispws_support import basic, finish, make_ispws_provider, open_report, upload_ok
from tests.takedown_support import Clock, demo_site, file_url_report, mailbox, routing_app


def test_through_ispws_and_shown_to_the_analyst(tmp_path, db_url):
    app = app_for(tmp_path, db_url)
    try:
        picture, _ = known_picture(app, 630)
        _, user, password = make_ispws_provider(app)
        auth = basic(user, password)
        make_user(app, "ana", "analyst")
        with TestClient(create_app(app)) as c:
            report_id = open_report(c, auth)
            upload_ok(c, auth, report_id, picture + zip_archive(), "holiday.jpg")
            assert finish(c, auth, report_id).status_code == 200
            app.run_jobs()
            with app.db.sessions() as s:
                item = s.execute(select(Item).join(Report).where(Item.kind == "media")).scalar_one()
                assert item.hash_status == "ok" and item.matched and item.polyglot, item.hash_notes
                assert any("Zip archive data follow the picture's end" in n for n in item.hash_notes)
                report = item.report_id
            sign_in(c, app, "ana")
            page = c.get(f"/ui/reports/{report}")
            assert page.status_code == 200
            assert "POLYGLOT" in page.text and "Zip archive data follow the picture&#39;s end" in page.text
    finally:
        app.close()


def test_served_at_a_reported_url(tmp_path, db_url):
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, Clock(), box.port)
        try:
            picture, _ = known_picture(app, 631)
            url = site.serve("/download", picture + zip_archive(), "application/octet-stream")
            report_id = file_url_report(app, url)
            app.run_jobs()
            with app.db.sessions() as s:
                item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
                assert item.media_type == "image" and item.hash_status == "ok", (item.hash_status, item.hash_error)
                assert item.matched and item.polyglot and item.hash_notes
        finally:
            app.close()
