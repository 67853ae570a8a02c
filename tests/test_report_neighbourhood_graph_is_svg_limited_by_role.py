"""A report's neighbourhood: the report page says how many reports share an entity (a count,
no values); with a purpose, a server-rendered SVG graph of its entities and the linked reports,
audited as entity:graph. A law-enforcement liaison sees only forwarded reports: the others are
counted, not drawn."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from lxml import etree, html
from sqlalchemy import select, update

from balise.adapters.db.models import AuditRecord, Report
from balise.web.app import create_app
from tests.entities_support import BAD_BTC, WALLET, file_report, identifiers
from tests.helpers import csrf_token, make_user, sign_in


def _svg(page: str) -> etree._Element:
    (svg,) = html.fromstring(page).xpath("//*[local-name()='svg'][@id='entity-graph']")
    return svg


def test_graph_shows_linked_reports_by_role_and_is_audited(balise, client, provider):
    _, key = provider
    centre = file_report(client, key, identifiers(("crypto_wallet", WALLET), ("crypto_wallet", BAD_BTC)))
    linked = file_report(client, key, identifiers(("crypto_wallet", WALLET)))
    forwarded = file_report(client, key, identifiers(("crypto_wallet", WALLET)))
    balise.run_jobs()
    with balise.db.transaction() as s:
        s.execute(update(Report).where(Report.id.in_([centre, forwarded])).values(state="forwarded_europol_only"))
    make_user(balise, "ana", "analyst")
    make_user(balise, "lea", "le-liaison")
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "ana")
        report_page = c.get(f"/ui/reports/{centre}").text
        assert "2 other reports share an account, address, wallet or other entity with this one." in report_page
        assert WALLET not in report_page
        token = csrf_token(report_page)
        assert c.post(f"/ui/reports/{centre}/entities", data={"purpose": "", "csrftoken": token}).status_code == 422
        page = c.post(f"/ui/reports/{centre}/entities", data={"purpose": "follow the wallet", "csrftoken": token})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store, private"
        # The page's title is words only (a template once carried a whole section in it).
        assert re.search(r"<title>([^<]*)</title>", page.text).group(1).startswith("Linked reports")
        svg = _svg(page.text)
        links = {a.get("href") for a in svg.iter("{*}a", "a")}
        assert links == {f"/ui/reports/{linked}", f"/ui/reports/{forwarded}"}
        assert "Monero address" in page.text and BAD_BTC in page.text  # listed as unvalidated, not drawn
        assert "the checksum does not match" in page.text and BAD_BTC not in etree.tostring(svg, encoding=str)
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "lea")
        token = csrf_token(c.get("/ui/intelligence").text)
        page = c.post(f"/ui/reports/{centre}/entities", data={"purpose": "police liaison check", "csrftoken": token})
        links = {a.get("href") for a in _svg(page.text).iter("{*}a", "a")}
        assert links == {f"/ui/reports/{forwarded}"}
        assert "1 further report shares one; your role does not see it." in page.text
        hidden = c.post(f"/ui/reports/{linked}/entities", data={"purpose": "police liaison check", "csrftoken": token})
        assert hidden.status_code == 404  # not forwarded: the liaison does not see it at all
    with balise.db.sessions() as s:
        events = s.execute(select(AuditRecord).where(AuditRecord.event_type == "entity:graph")
                           .order_by(AuditRecord.seq)).scalars().all()
    assert [(e.purpose, e.details["neighbours"], e.details["hidden"]) for e in events] == [
        ("follow the wallet", 2, 0), ("police liaison check", 1, 1)]
