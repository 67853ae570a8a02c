"""The URL list is exported only for a blocking order of the registry that is issued, received or
executed and within its period: a removal order, a revoked or paused order, one not yet or no
longer in force, an unknown id and an addressee not registered are refused with the field named,
and nothing is recorded; the provider's feed stops when the order is revoked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, UrlListExport
from balise.container import Balise
from balise.domain.model import OrgKind, Scope
from balise.domain.orders import AUTHORITY, PROVIDER
from balise.domain.submissions import InvalidSubmission
from balise.orders.registry import Sender
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import auth
from tests.orders_support import make_authority, order_body

STAFF = Actor.staff("u-1", "demo-senior")
ISP = "DEMO Access Provider"


def _order(app: Balise, authority, kind: str = "blocking", addressee: str = ISP, **overrides) -> str:
    body = authority.sign(order_body(kind, addressee={"name": addressee}, **overrides))
    with app.db.transaction() as s:
        return str(app.orders.submit(s, Actor.system("test"), authority.org_id, "test", body).id)


def _move(app: Balise, order: str, target: str, part: str = AUTHORITY) -> None:
    with app.db.transaction() as s:
        app.orders.transition(s, order, target, Sender(Actor.system("test"), part, {"method": "test"}), note="test")


def _refused(app: Balise, order: str) -> str:
    with pytest.raises(InvalidSubmission) as refused, app.db.transaction() as s:
        app.url_list.export(s, STAFF, order)
    assert refused.value.field == "order"
    return refused.value.message


def test_only_a_blocking_order_in_force_gets_the_list(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url))
    with TestClient(create_app(app)) as client:
        with app.db.transaction() as s:
            org = app.organisations.create(s, Actor.system("test"), name=ISP, kind=OrgKind.PROVIDER, country="FR")
            key = app.organisations.issue_key(s, Actor.system("test"), org, (Scope.REPORTS_READ,)).plaintext
        authority = make_authority(app)
        now = datetime.now().astimezone()

        assert "not a blocking order" in _refused(app, _order(app, authority, "removal"))
        revoked = _order(app, authority)
        _move(app, revoked, "revoked")
        assert "revoked" in _refused(app, revoked)
        paused = _order(app, authority)
        _move(app, paused, "received", PROVIDER)
        _move(app, paused, "clarification_requested", PROVIDER)
        assert "clarification requested" in _refused(app, paused)
        later = _order(app, authority, period={"start": (now + timedelta(days=2)).isoformat(),
                                               "end": (now + timedelta(days=30)).isoformat()})
        assert "not in force before" in _refused(app, later)
        assert "not an order id" in _refused(app, "BO-2026-3")
        assert "no blocking order" in _refused(app, "00000000-0000-4000-8000-000000000000")
        assert "not an organisation registered" in _refused(app, _order(app, authority, addressee="Unknown ISP"))
        with app.db.sessions() as s:
            assert s.execute(select(func.count()).select_from(UrlListExport)).scalar_one() == 0
            assert s.execute(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.event_type == "urllist:export")).scalar_one() == 0
        # None of those is in force: the provider has no feed.
        r = client.get("/api/v1/url-list/feed", headers=auth(key))
        assert r.status_code == 403 and r.json()["error"] == "no_order"

        # A received order in force: served; revoked: no longer.
        live = _order(app, authority)
        _move(app, live, "received", PROVIDER)
        assert client.get("/api/v1/url-list/feed", headers=auth(key)).status_code == 200
        second = _order(app, authority)
        r = client.get("/api/v1/url-list/feed", headers=auth(key))
        assert r.status_code == 409 and r.json()["error"] == "several_orders" and live in r.text
        _move(app, second, "revoked")
        _move(app, live, "revoked")
        r = client.get(f"/api/v1/url-list/feed?order={live}", headers=auth(key))
        assert r.status_code == 403 and r.json()["error"] == "order_not_in_force"
        assert "revoked" in r.json()["fields"][0]["message"]
        assert client.get("/api/v1/url-list/feed", headers=auth(key)).status_code == 403
    app.close()


def test_an_order_past_its_period_is_refused(tmp_path, db_url):
    start = datetime.now().astimezone()
    app = Balise(make_settings(tmp_path, db_url))
    with app.db.transaction() as s:
        app.organisations.create(s, Actor.system("test"), name=ISP, kind=OrgKind.PROVIDER, country="FR")
    order = _order(app, make_authority(app), period={"start": (start - timedelta(days=1)).isoformat(),
                                                     "end": (start + timedelta(days=1)).isoformat()})
    app.clock = lambda: start + timedelta(days=2)  # two days later
    app.url_list._clock = app.clock
    assert "ended on" in _refused(app, order)
    app.close()
