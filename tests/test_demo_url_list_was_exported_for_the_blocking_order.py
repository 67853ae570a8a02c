"""The DEMO data (`make run`) exported the URL list for the DEMO blocking order to the DEMO
internet access provider it is addressed to, so the Article 36 page shows an export in words:
when, the order, the provider, the format and what the file held."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import AuditRecord, Organisation, UrlListExport
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in
from tests.page_words import check_words


def test_demo_exported_the_url_list_for_its_blocking_order(balise):
    demo.seed(balise, reports=1, error_history=False)
    with balise.db.sessions() as s:
        (export,) = s.execute(select(UrlListExport)).scalars()
        blocking = {o.reference: o for o in balise.orders.list(s, kind="blocking")}["DEMO-CA-FR-BO-001"]
        isp = s.execute(select(Organisation).where(Organisation.name == "DEMO Internet access provider")
                        ).scalar_one()
        assert isp.is_demo and blocking.addressee_organisation_id == isp.id
        assert (export.order_id, export.order_reference, export.format, export.since_version) == (
            blocking.id, "DEMO-CA-FR-BO-001", "json", 0)
        assert export.providers == [{"id": str(isp.id), "name": "DEMO Internet access provider"}]
        assert export.entries == 2  # the two DEMO URLs still listed; the third was taken off
        audited = s.execute(select(AuditRecord).where(AuditRecord.event_type == "urllist:export")).scalar_one()
        assert audited.subject_id == str(blocking.id) and json.dumps(audited.details)
    make_user(balise, "sam", "senior-analyst")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "sam")
        page = client.get("/ui/submissions").text
        section = page[page.index('id="url-list-exports"'):]
        section = section[:section.index("</table>")]
        text = " ".join(check_words(section, "URL list exports (en)", ("json", "url_list")).split())
        assert "DEMO-CA-FR-BO-001 DEMO Internet access provider signed JSON feed" in text, text
        assert f"the whole list at version {export.version} · 2 entries" in text, text
        assert export.sha256[:12] in text and "never exported" not in text
        client.post("/ui/settings", data={"csrftoken": csrf_token(client.get("/ui/settings").text), "blur": "24",
                                          "greyscale": "1", "locale": "fr", "break_minutes": "50",
                                          "reveal_seconds": "10"})
        page = client.get("/ui/submissions").text
        section = page[page.index('id="url-list-exports"'):]
        text = " ".join(check_words(section[:section.index("</table>")], "URL list exports (fr)", ()).split())
        assert "flux JSON signé" in text and f"la liste entière à la version {export.version} · 2 entrées" in text, text
