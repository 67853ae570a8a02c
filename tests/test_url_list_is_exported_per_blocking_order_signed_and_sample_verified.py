"""The URL list (CSAR Art. 44(1)(b)): a URL is listed only on a host outside the Union, with the
evidence of the host's refusal and the authorities' non-cooperation; it is exported for a blocking
order of the orders registry to the internet access provider it is addressed to, as CSV or as a
JSON feed signed with the centre's key (whole, or the changes since a version); the provider reads
its feed while that order is in force; a coordinating authority has a representative sample
fetched again."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, UrlListExport
from balise.container import Balise
from balise.detection.url_list import UrlListConflict, check_feed
from balise.domain.model import OrgKind, Scope
from balise.domain.submissions import InvalidSubmission, check_url_entry
from balise.web.app import create_app
from tests.authority_support import make_authority
from tests.orders_support import make_authority as make_order_authority
from tests.orders_support import order_body
from tests.conftest import make_settings
from tests.helpers import auth
from tests.takedown_support import demo_site

STAFF = Actor.staff("u-1", "demo-senior")
EVIDENCE = {"refusal": "DEMO: notices of 2026-10-01 and 2026-10-15 unanswered; abuse desk refused on 2026-10-20",
            "authority_non_cooperation": "DEMO: request through the liaison of 2026-10-22 unanswered"}


def _iap(app: Balise, name: str):
    with app.db.transaction() as s:
        org = app.organisations.create(s, Actor.system("test"), name=name, kind=OrgKind.PROVIDER, country="FR")
        key = app.organisations.issue_key(s, Actor.system("test"), org, (Scope.REPORTS_READ,))
        return org.id, key.plaintext


def _order(app: Balise, authority, addressee: str, kind: str = "blocking", **overrides) -> str:
    body = authority.sign(order_body(kind, addressee={"name": addressee}, legal_basis="CSAR Art. 16", **overrides))
    with app.db.transaction() as s:
        return str(app.orders.submit(s, Actor.system("test"), authority.org_id, "test", body).id)


def test_listing_needs_a_host_outside_the_union_and_both_refusals():
    with pytest.raises(InvalidSubmission) as eu:
        check_url_entry(url="https://host.example/a", host_country="DE", **EVIDENCE)
    assert eu.value.field == "host_country" and "removal order" in eu.value.message
    with pytest.raises(InvalidSubmission) as no_refusal:
        check_url_entry(url="https://host.example/a", host_country="US", refusal=" ",
                        authority_non_cooperation="none")
    assert no_refusal.value.field == "refusal"
    with pytest.raises(InvalidSubmission) as bad_url:
        check_url_entry(url="ftp://host.example/a", host_country="US", **EVIDENCE)
    assert bad_url.value.field == "url"


def test_the_list_is_exported_per_order_signed_with_deltas_and_sample_verified(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, fetch_allow_networks="127.0.0.1/32"))
    with demo_site() as site, TestClient(create_app(app)) as client:
        urls = [site.serve(f"/p{n}.html", b"<p>DEMO</p>", "text/html") for n in range(3)]
        with app.db.transaction() as s:
            entries = [app.url_list.add(s, STAFF, check_url_entry(url=u, host_country="US", **EVIDENCE)) for u in urls]
            ids = [e.id for e in entries]
        with pytest.raises(UrlListConflict), app.db.transaction() as s:
            app.url_list.add(s, STAFF, check_url_entry(url=urls[0], host_country="US", **EVIDENCE))
        iap1, key1 = _iap(app, "DEMO Access Provider 1")
        _, key_none = _iap(app, "DEMO Access Provider 3")
        issuer = make_order_authority(app)
        order = _order(app, issuer, "DEMO Access Provider 1", reference="DEMO-BO-2026-1")

        # Exported for the blocking order: its addressee is the provider, its reference the feed's.
        with app.db.transaction() as s:
            whole = app.url_list.export(s, STAFF, order)
        document = json.loads(whole.body)
        feed = document["feed"]
        assert feed["order_reference"] == "DEMO-BO-2026-1" and feed["order"] == order and feed["complete"] is True
        assert [p["name"] for p in feed["providers"]] == ["DEMO Access Provider 1"]
        assert sorted(a["url"] for a in feed["added"]) == sorted(urls) and feed["removed"] == []
        assert check_feed(document, [app.signer.public_key])
        assert document["signature"]["key_id"] == app.signer.key_id  # the key of packages and checkpoints
        tampered = json.loads(whole.body)
        tampered["feed"]["removed"].append({"id": 99, "url": "https://x.example/", "version": 1})
        assert not check_feed(tampered, [app.signer.public_key])

        with app.db.transaction() as s:
            app.url_list.remove(s, STAFF, ids[1], "DEMO: the host removed it at last")
        with app.db.transaction() as s:
            delta = app.url_list.export(s, STAFF, order, since_version=whole.version)
            table = app.url_list.export(s, STAFF, uuid.UUID(order), fmt="csv")
        changes = json.loads(delta.body)["feed"]
        assert changes["added"] == [] and [r["id"] for r in changes["removed"]] == [ids[1]]
        assert changes["complete"] is False and changes["since_version"] == whole.version
        rows = list(csv.DictReader(io.StringIO(table.body.decode())))
        assert sorted(r["url"] for r in rows) == sorted([urls[0], urls[2]]) and {r["change"] for r in rows} == {"add"}
        for bad, field in (({"fmt": "xml"}, "format"), ({"since_version": -1}, "since")):
            with pytest.raises(InvalidSubmission) as refused, app.db.transaction() as s:
                app.url_list.export(s, STAFF, order, **bad)
            assert refused.value.field == field
        with app.db.sessions() as s:
            exports = s.execute(select(UrlListExport)).scalars().all()
            assert len(exports) == 3 and {str(e.order_id) for e in exports} == {order}
            audited = s.execute(select(AuditRecord).where(AuditRecord.event_type == "urllist:export")).scalars().all()
            assert len(audited) == 3 and {(a.subject_type, a.subject_id) for a in audited} == {("order", order)}

        # The provider reads the feed of its order in force; another provider has none.
        r = client.get("/api/v1/url-list/feed", headers=auth(key1))
        assert r.status_code == 200, r.text
        assert check_feed(r.json(), [app.signer.public_key]) and r.json()["feed"]["order_reference"] == "DEMO-BO-2026-1"
        r = client.get(f"/api/v1/url-list/feed?since={whole.version}&format=csv&order={order}", headers=auth(key1))
        assert r.status_code == 200 and r.text.splitlines()[1].startswith("remove,")
        r = client.get("/api/v1/url-list/feed", headers=auth(key_none))
        assert r.status_code == 403 and r.json()["error"] == "no_order"
        r = client.get(f"/api/v1/url-list/feed?order={order}", headers=auth(key_none))
        assert r.status_code == 403 and r.json()["error"] == "order_not_in_force"
        assert r.json()["fields"][0]["field"] == "order" and "addressed to you" in r.json()["fields"][0]["message"]
        r = client.get("/api/v1/url-list/feed?order=BO-1", headers=auth(key1))
        assert r.status_code == 422 and "order" in r.json()["fields"][0]["field"]

        # A coordinating authority verifies a sample before the order; one URL is gone now.
        site.take_down("/p0.html")
        _, authority = make_authority(app)
        assert client.post("/api/v1/url-list/verifications", json={}, headers=auth(key1)).status_code == 403
        r = client.post("/api/v1/url-list/verifications", headers=auth(authority),
                        json={"sample_size": 5, "order_reference": "DEMO-BO-2026-1"})
        assert r.status_code == 201, r.text
        result = r.json()
        assert (result["population"], result["sample_size"], result["live"], result["gone"]) == (2, 2, 1, 1)
        assert {x["url"]: x["outcome"] for x in result["results"]} == {urls[0]: "gone", urls[2]: "served"}
        bad = client.post("/api/v1/url-list/verifications", headers=auth(authority), json={"sample_size": 0})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "sample_size"
    app.close()
