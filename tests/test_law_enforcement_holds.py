"""Police holds (CSAR Art. 48(6)): do-not-remove keeps the host notice back and pauses removal
checks until the hold is lifted or expires; do-not-inform reaches the provider as an
instruction without the authority's details, and the host notice says nothing of the user;
a hold is never longer than 18 months."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Hold, Item, Notice, Takedown
from balise.takedown.holds import HoldError, eighteen_months_after
from balise.web.app import create_app
from tests.helpers import auth, make_provider
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
)

POLICE = Actor.system("test-police-liaison")


def test_a_do_not_remove_hold_keeps_the_host_notice_back_until_it_is_lifted(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        with app.db.transaction() as s:
            app.partners.seed(s, POLICE)
        _, key = make_provider(app)
        url = site.serve("/h/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url, key=key)
        app.run_jobs()
        with app.db.transaction() as s:
            hold = app.holds.set(s, POLICE, report_id, do_not_inform=True, do_not_remove=True,
                                 authority="DEMO police unit", reference="DEMO-CASE-1", reason="DEMO investigation",
                                 expires_at=clock.now + timedelta(days=90))
            hold_id = hold.id
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            item = s.execute(select(Item).where(Item.report_id == report_id)).scalar_one()
            kinds = sorted(n.kind for n in s.execute(select(Notice).where(Notice.report_id == report_id)).scalars())
            assert kinds == ["police_forward", "police_forward"]  # police are told; the host is not
            assert s.get(Takedown, item.id).status == "on_hold"
        assert box.messages == []

        # The provider sees what to do, not who asked.
        with TestClient(create_app(app)) as client:
            body = client.get(f"/api/v1/reports/{report_id}", headers=auth(key)).json()
        until = (clock.now + timedelta(days=90)).isoformat()
        assert body["instructions"] == {"do_not_inform_user_until": until, "do_not_remove_until": until}
        assert "DEMO police unit" not in str(body) and "DEMO-CASE-1" not in str(body)

        clock.advance(days=10)
        with app.db.transaction() as s:
            app.holds.lift(s, POLICE, hold_id, "DEMO: investigation step done")
        app.run_jobs()
        with app.db.sessions() as s:
            assert s.get(Takedown, item.id).status == "watching"
            host = s.execute(select(Notice).where(Notice.kind == "host_notice")).scalar_one()
            assert host.status == "sent"
        assert len(box.messages) == 1
        with pytest.raises(HoldError, match="no longer applies"), app.db.transaction() as s:
            app.holds.lift(s, POLICE, hold_id)


def _host_notice_text(tmp_path, db_url, *, do_not_inform: bool) -> str:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        url = site.serve("/h/2.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        if do_not_inform:
            with app.db.transaction() as s:
                app.holds.set(s, POLICE, report_id, do_not_inform=True, do_not_remove=False, authority="DEMO unit",
                              expires_at=clock.now + timedelta(days=30))
        forward(app, report_id)
        app.run_jobs()
        app.close()
        assert len(box.messages) == 1
        return box.messages[0].get_payload(decode=True).decode()


def test_a_do_not_inform_hold_keeps_the_user_out_of_the_host_notice(tmp_path, db_url) -> None:
    ordinary = _host_notice_text(tmp_path / "a", db_url, do_not_inform=False)
    confidential = _host_notice_text(tmp_path / "b", db_url, do_not_inform=True)
    assert "inform the user" in ordinary
    assert "user" not in confidential.lower() and "confidential" in confidential


def test_a_hold_expires_by_itself_and_routing_resumes(tmp_path, db_url) -> None:
    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        url = site.serve("/h/3.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url)
        app.run_jobs()
        with app.db.transaction() as s:
            app.holds.set(s, POLICE, report_id, do_not_inform=False, do_not_remove=True, authority="DEMO unit",
                          expires_at=clock.now + timedelta(days=2))
        app.periodic.ensure()
        forward(app, report_id)
        app.run_jobs()
        assert box.messages == []
        clock.advance(days=2, minutes=10)
        app.run_jobs()  # the periodic job sees the expiry, routing runs again
        assert len(box.messages) == 1
        with app.db.sessions() as s:
            hold = s.execute(select(Hold)).scalar_one()
            assert hold.lifted_by == "system:expiry"
            events = s.execute(select(AuditRecord.event_type)).scalars().all()
        assert events.count("hold:expire") == 1
        clock.advance(days=1)
        app.run_jobs()
        with app.db.sessions() as s:
            assert s.execute(select(AuditRecord.event_type)).scalars().all().count("hold:expire") == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"do_not_inform": False, "do_not_remove": False}, "must ask for"),
    ({"expires_at": "past"}, "in the future"),
    ({"expires_at": "too_long"}, "18 months"),
    ({"expires_at": "naive"}, "time zone"),
    ({"authority": " "}, "requesting authority"),
    ({"report_id": "unknown"}, "no such report"),
])
def test_a_bad_hold_is_refused_with_the_reason_and_nothing_is_recorded(balise, client, provider, change, message) -> None:
    from tests.helpers import minimal_report

    _, key = provider
    rid = uuid.UUID(client.post("/api/v1/reports", json=minimal_report(), headers=auth(key)).json()["id"])
    now = datetime.now(timezone.utc)
    values = {"do_not_inform": True, "do_not_remove": True, "authority": "DEMO unit",
              "expires_at": now + timedelta(days=30), "report_id": rid, **change}
    values["expires_at"] = {"past": now - timedelta(minutes=1),
                            "too_long": eighteen_months_after(now) + timedelta(minutes=1),
                            "naive": (now + timedelta(days=1)).replace(tzinfo=None)}.get(values["expires_at"],
                                                                                          values["expires_at"])
    if values["report_id"] == "unknown":
        values["report_id"] = uuid.uuid4()
    report_id = values.pop("report_id")
    with pytest.raises(HoldError, match=message), balise.db.transaction() as s:
        balise.holds.set(s, POLICE, report_id, **values)
    with balise.db.sessions() as s:
        assert s.execute(select(Hold)).first() is None


def test_eighteen_months_is_counted_on_the_calendar() -> None:
    assert eighteen_months_after(datetime(2026, 8, 31, tzinfo=timezone.utc)) == datetime(2028, 2, 29, tzinfo=timezone.utc)
    assert eighteen_months_after(datetime(2026, 1, 15, 9, tzinfo=timezone.utc)) == datetime(2027, 7, 15, 9, tzinfo=timezone.utc)
