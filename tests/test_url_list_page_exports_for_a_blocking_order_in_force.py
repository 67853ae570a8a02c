"""The Article 36 page offers the URL list's export only for the blocking orders in force (named by
reference, addressee and state in words); a senior analyst downloads the signed feed; an order
that is not in force is refused with the field named and nothing is recorded."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import UrlListExport
from balise.domain.model import OrgKind
from balise.domain.orders import AUTHORITY
from balise.domain.submissions import check_url_entry
from balise.orders.registry import Sender
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in
from tests.orders_support import make_authority, order_body
from tests.page_words import check_words


def test_a_senior_exports_the_list_for_a_blocking_order_in_force(balise):
    with balise.db.transaction() as s:
        balise.organisations.create(s, Actor.system("test"), name="DEMO ISP", kind=OrgKind.PROVIDER, country="FR")
        balise.url_list.add(s, Actor.system("test"), check_url_entry(
            url="https://offshore.example/g/1", host_country="US", refusal="DEMO: notices unanswered",
            authority_non_cooperation="DEMO: no answer from the authorities"))
    authority = make_authority(balise)
    orders = []
    for ref in ("DEMO-BO-1", "DEMO-BO-2"):
        body = authority.sign(order_body("blocking", reference=ref, addressee={"name": "DEMO ISP"}))
        with balise.db.transaction() as s:
            orders.append(str(balise.orders.submit(s, Actor.system("test"), authority.org_id, "test", body).id))
    make_user(balise, "sam", "senior-analyst")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "sam")
        page = client.get("/ui/submissions").text
        token = csrf_token(page)
        text = check_words(page[page.index('<section id="url-list">'):], "URL list (en)", ("json", "url_list"))
        assert "DEMO-BO-1 · DEMO ISP · issued · until" in text and "signed JSON feed" in text
        r = client.post("/ui/url-list/export", data={"csrftoken": token, "order": orders[0], "format": "json",
                                                     "since": "0"}, follow_redirects=False)
        assert r.status_code == 200, r.text
        feed = json.loads(r.content)["feed"]
        assert feed["order_reference"] == "DEMO-BO-1" and feed["added"][0]["url"] == "https://offshore.example/g/1"

        with balise.db.transaction() as s:
            balise.orders.transition(s, orders[1], "revoked", Sender(Actor.system("test"), AUTHORITY, {}),
                                     note="annulled")
        assert "DEMO-BO-2" not in client.get("/ui/submissions").text
        for data, words in (({"order": orders[1]}, "order: blocking order DEMO-BO-2 is revoked"),
                            ({"order": orders[0], "since": "x"}, "since: must be a whole number"),
                            ({"order": orders[0], "format": "xml"}, "format: must be csv or json")):
            r = client.post("/ui/url-list/export", data={"csrftoken": token, "format": "json", **data})
            assert r.status_code == 200 and words in r.text, r.text[-2000:]
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(UrlListExport)).scalar_one() == 1
