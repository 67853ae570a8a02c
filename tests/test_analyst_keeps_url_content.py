"""What an unmatched URL serves is not kept, unless the analyst working the report asks: then
it is fetched again and stored encrypted, with the purpose in the audit trail."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, UrlHosting, VaultObject
from balise.demo import demo_image
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in
from tests.takedown_support import Clock, demo_site, mailbox
from tests.takedown_support import file_url_report, routing_app


def test_the_claiming_analyst_can_keep_what_an_unmatched_url_serves(tmp_path, db_url) -> None:
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, Clock(), box.port)
        picture = demo_image(33, (640, 480))
        url = site.serve("/new/33.jpg", picture)
        report_id = file_url_report(app, url)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            assert not item.matched and item.vault_object is None and not s.get(UrlHosting, item.id).stored
            assert s.execute(select(VaultObject)).first() is None
        make_user(app, "ana", "analyst")
        make_user(app, "bob", "analyst")
        with TestClient(create_app(app), base_url="https://testserver") as client:
            sign_in(client, app, "bob")
            page = client.get(f"/ui/reports/{report_id}").text
            assert "Keep what this URL serves" not in page  # not Bob's report to work
            r = client.post(f"/ui/items/{item.id}/capture", data={"csrftoken": csrf_token(page)},
                            follow_redirects=False)
            assert "Claim" in r.headers["location"]
        with TestClient(create_app(app), base_url="https://testserver") as client:
            sign_in(client, app, "ana")
            page = client.get(f"/ui/reports/{report_id}").text
            client.post(f"/ui/reports/{report_id}/claim", data={"csrftoken": csrf_token(page)})
            page = client.get(f"/ui/reports/{report_id}").text
            assert "Keep what this URL serves" in page
            r = client.post(f"/ui/items/{item.id}/capture", data={"csrftoken": csrf_token(page)},
                            follow_redirects=False)
            assert r.status_code == 303 and "kept" in r.headers["location"]
            media = client.get(f"/ui/items/{item.id}/media")
        # What the browser gets is the blurred derivative made from it (never the stored bytes).
        assert media.status_code == 200 and media.content != picture and media.content[:4] == b"\x89PNG"
        with app.db.sessions() as s:
            item = s.get(Item, item.id)
            assert item.vault_object is not None and s.get(UrlHosting, item.id).stored
            kept = s.execute(select(AuditRecord).where(AuditRecord.event_type == "url:fetch")
                             .order_by(AuditRecord.seq.desc())).scalars().first()
            assert kept.actor_type == "staff" and "analyst kept" in kept.purpose and kept.details["kept"] is True
        assert site.hits == ["/new/33.jpg", "/new/33.jpg"]
