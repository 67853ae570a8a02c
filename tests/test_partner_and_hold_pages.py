"""The partner directory and law-enforcement hold pages, and the routing panel of a report, as
staff use them through the web app with a real sign-in: who may see and change what, errors
shown without changing anything, CSRF, and hostile text shown as text."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Hold, Partner
from balise.container import Balise
from balise.domain.partners import EUROPOL_NAME
from balise.intake.report_schema import ReportIn
from balise.takedown.holds import eighteen_months_after
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, minimal_report, sign_in
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
    routing_overrides,
)


@contextmanager
def signed_in(app: Balise, role: str) -> Iterator[TestClient]:
    username = f"demo-{role}"
    make_user(app, username, role)
    with TestClient(create_app(app)) as client:
        sign_in(client, app, username)
        yield client


def token(client: TestClient, path: str = "/ui/settings") -> str:
    return csrf_token(client.get(path).text)


def seeded(app: Balise) -> None:
    with app.db.transaction() as s:
        app.partners.seed(s, Actor.system("test"))


def partner(app: Balise, kind: str, country: str | None) -> Partner:
    with app.db.sessions() as s:
        return s.execute(select(Partner).where(Partner.kind == kind, Partner.country == country)).scalars().first()


def filed_report(app: Balise) -> uuid.UUID:
    report = ReportIn.model_validate(minimal_report())
    return app.intake.file(actor=Actor.system("test"), organisation_id=None, report=report, files={},
                           fingerprint="pages", idempotency_key=None).report.id


def flash(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The redirect after a form, and the message it carries for the next page."""
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def count(app: Balise, model: type) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def audit_count(app: Balise, event: str) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type == event)).scalar_one()


def edit_form(client: TestClient, partner_id: int) -> dict[str, str]:
    """The partner's edit form as the page renders it (what a browser would submit untouched)."""
    page = client.get("/ui/partners").text
    form = re.search(rf'<form method="post" action="/ui/partners/{partner_id}".*?</form>', page, re.S).group(0)
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                fields[name] = value.group(1)
        else:
            fields[name] = value.group(1) if value else ""
    fields["channel"] = re.search(r'<option value="([^"]+)" selected>', form).group(1)
    return fields


# -- partners ------------------------------------------------------------------------------

def test_an_admin_seeds_and_edits_a_partner_and_a_bad_endpoint_changes_nothing(balise) -> None:
    with signed_in(balise, "admin") as admin:
        page = admin.get("/ui/partners")
        assert page.status_code == 200 and "The directory is empty." in page.text
        done = flash(admin.post("/ui/partners/seed", data={"csrftoken": csrf_token(page.text)}, follow_redirects=False))
        assert re.fullmatch(r"\d+ partners added\.", done["msg"])
        page = admin.get("/ui/partners").text
        assert EUROPOL_NAME in page and "Seed the EU Member States and Europol" in page
        hotline = partner(balise, "hotline", "FR")

        form = edit_form(admin, hotline.id)
        form.update(channel="email", endpoint="reports@hotline-fr.example", languages="fr, EN", verified="1")
        assert flash(admin.post(f"/ui/partners/{hotline.id}", data=form, follow_redirects=False)) == \
            {"msg": "Partner updated."}
        edited = partner(balise, "hotline", "FR")
        assert (edited.channel, edited.endpoint, edited.languages, edited.verified, edited.active) == \
            ("email", "reports@hotline-fr.example", ["fr", "en"], True, True)
        assert 'value="reports@hotline-fr.example"' in admin.get("/ui/partners").text

        form = edit_form(admin, hotline.id)
        form.update(endpoint="not-an-address")
        error = flash(admin.post(f"/ui/partners/{hotline.id}", data=form, follow_redirects=False))
        assert error == {"err": "endpoint: an email channel needs an email address like abuse@example.org"}
        shown = admin.get("/ui/partners", params=error).text
        assert '<p class="error" role="alert">endpoint: an email channel needs an email address' in shown
        unchanged = partner(balise, "hotline", "FR")
        assert (unchanged.endpoint, unchanged.verified) == ("reports@hotline-fr.example", True)

        # A new endpoint submitted with the form's checkbox left as it was is not verified:
        # nobody has confirmed it with the partner yet.
        form = edit_form(admin, hotline.id)
        assert form["verified"] == "1"
        form.update(endpoint="intake@hotline-fr.example")
        flash(admin.post(f"/ui/partners/{hotline.id}", data=form, follow_redirects=False))
        moved = partner(balise, "hotline", "FR")
        assert (moved.endpoint, moved.verified) == ("intake@hotline-fr.example", False)
        # Ticking the box once it is confirmed verifies it.
        form = edit_form(admin, hotline.id)
        form.update(verified="1")
        flash(admin.post(f"/ui/partners/{hotline.id}", data=form, follow_redirects=False))
        assert partner(balise, "hotline", "FR").verified is True
    assert audit_count(balise, "partner:update") == 3


def test_an_analyst_gets_403_on_partners_and_holds(balise) -> None:
    seeded(balise)
    report_id = filed_report(balise)
    with signed_in(balise, "analyst") as analyst:
        csrf = token(analyst)
        for path in ("/ui/partners", "/ui/holds", f"/ui/holds?report={report_id}"):
            assert analyst.get(path, follow_redirects=False).status_code == 403, path
        for path, data in (("/ui/partners/seed", {}), ("/ui/partners/1", {"channel": "none", "languages": "en"}),
                           ("/ui/holds", {"report": str(report_id), "authority": "x", "until": "2099-01-01",
                                          "do_not_remove": "1"}),
                           ("/ui/holds/1/lift", {"report": str(report_id)})):
            assert analyst.post(path, data={"csrftoken": csrf, **data}, follow_redirects=False).status_code == 403, path
    assert count(balise, Hold) == 0 and audit_count(balise, "partner:update") == 0


def test_a_liaison_officer_sees_partners_read_only_and_sets_and_lifts_a_hold(balise) -> None:
    seeded(balise)
    report_id = filed_report(balise)
    with signed_in(balise, "le-liaison") as officer:
        page = officer.get("/ui/partners")
        assert page.status_code == 200 and EUROPOL_NAME in page.text
        assert not re.search(r'<form method="post" action="/ui/partners', page.text)
        assert "Add a partner" not in page.text and "Seed the EU" not in page.text
        csrf = csrf_token(page.text)
        europol = partner(balise, "europol", None)
        assert officer.post("/ui/partners/seed", data={"csrftoken": csrf}).status_code == 403
        assert officer.post(f"/ui/partners/{europol.id}", data={"csrftoken": csrf, "channel": "none",
                                                                "languages": "en"}).status_code == 403
        assert partner(balise, "europol", None).channel == "export"

        page = officer.get("/ui/holds", params={"report": str(report_id)}).text
        assert "No hold on this report." in page and 'action="/ui/holds"' in page
        until = (datetime.now(timezone.utc) + timedelta(days=90)).date()
        done = flash(officer.post("/ui/holds", data={
            "csrftoken": csrf_token(page), "report": str(report_id), "authority": "<b>DEMO</b> Police Unit",
            "reference": "DEMO-REF-7", "until": until.isoformat(), "do_not_remove": "1"}, follow_redirects=False))
        assert done == {"report": str(report_id), "msg": "Hold recorded."}
        with balise.db.sessions() as s:
            [hold] = balise.holds.for_report(s, report_id)
            assert (hold.do_not_remove, hold.do_not_inform, hold.authority, hold.reference) == \
                (True, False, "<b>DEMO</b> Police Unit", "DEMO-REF-7")
            assert hold.expires_at == datetime.combine(until, datetime.min.time(), timezone.utc)
            assert balise.holds.active(s, report_id).do_not_remove_until == hold.expires_at

        page = officer.get("/ui/holds", params=done).text
        assert '<p class="ok" role="status">Hold recorded.</p>' in page
        assert "&lt;b&gt;DEMO&lt;/b&gt; Police Unit (DEMO-REF-7)" in page and "<b>DEMO</b>" not in page
        assert f'action="/ui/holds/{hold.id}/lift"' in page

        lifted = flash(officer.post(f"/ui/holds/{hold.id}/lift", data={
            "csrftoken": csrf_token(page), "report": str(report_id)}, follow_redirects=False))
        assert lifted == {"report": str(report_id), "msg": "Hold lifted."}
        page = officer.get("/ui/holds", params=lifted).text
        assert " · ended " in page and f'action="/ui/holds/{hold.id}/lift"' not in page
        with balise.db.sessions() as s:
            assert not balise.holds.active(s, report_id).any
        again = flash(officer.post(f"/ui/holds/{hold.id}/lift", data={
            "csrftoken": csrf_token(page), "report": str(report_id)}, follow_redirects=False))
        assert again == {"report": str(report_id), "err": "this hold no longer applies"}
    assert (audit_count(balise, "hold:set"), audit_count(balise, "hold:lift")) == (1, 1)


def test_a_bad_hold_shows_its_error_and_records_nothing(balise) -> None:
    report_id = filed_report(balise)
    now = datetime.now(timezone.utc)
    with signed_in(balise, "le-liaison") as officer:
        csrf = token(officer, f"/ui/holds?report={report_id}")
        good = {"csrftoken": csrf, "report": str(report_id), "authority": "DEMO Police Unit",
                "until": (now + timedelta(days=30)).date().isoformat(), "do_not_inform": "1"}
        too_late = (eighteen_months_after(now) + timedelta(days=2)).date().isoformat()
        unknown = str(uuid.uuid4())
        cases = [
            ({"until": too_late}, str(report_id), "a hold lasts at most 18 months (CSAR Art. 48(6))"),
            ({"until": (now - timedelta(days=1)).date().isoformat()}, str(report_id),
             "the expiry must be in the future"),
            ({"do_not_inform": ""}, str(report_id), "a hold must ask for do-not-inform, do-not-remove or both"),
            ({"until": "soon"}, str(report_id), "Give a report id and an expiry date."),
            ({"report": unknown}, unknown, f"no such report: {unknown}"),
        ]
        for change, report, message in cases:
            answer = flash(officer.post("/ui/holds", data={**good, **change}, follow_redirects=False))
            assert answer == {"report": report, "err": message}, change
        page = officer.get("/ui/holds", params={"report": str(report_id), "err": cases[0][2]}).text
        assert '<p class="error" role="alert">a hold lasts at most 18 months (CSAR Art. 48(6))</p>' in page
        assert "No hold on this report." in page
        # A report id that is not one, typed in the search box, is an error too.
        for query, message in (("not-a-uuid", "That is not a report id."), (unknown, "There is no such report.")):
            assert f'<p class="error" role="alert">{message}</p>' in officer.get("/ui/holds", params={"report": query}).text
        # A crafted report value cannot smuggle another message into the page it returns to.
        answer = flash(officer.post("/ui/holds", data={**good, "report": "x&msg=Hold recorded."},
                                    follow_redirects=False))
        assert answer == {"report": "x&msg=Hold recorded.", "err": "Give a report id and an expiry date."}
    assert count(balise, Hold) == 0 and audit_count(balise, "hold:set") == 0


def test_posts_without_a_csrf_token_are_refused(balise) -> None:
    seeded(balise)
    report_id = filed_report(balise)
    europol = partner(balise, "europol", None)
    with signed_in(balise, "admin") as admin:
        assert admin.post("/ui/partners/seed").status_code == 403
        assert admin.post(f"/ui/partners/{europol.id}", data={"channel": "none", "languages": "en"}).status_code == 403
        assert admin.post("/ui/partners", data={"kind": "police", "country": "DE", "name": "DEMO", "channel": "none",
                                                "languages": "de"}).status_code == 403
    with signed_in(balise, "le-liaison") as officer:
        until = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
        assert officer.post("/ui/holds", data={"report": str(report_id), "authority": "DEMO", "until": until,
                                               "do_not_remove": "1"}).status_code == 403
        assert officer.post("/ui/holds", data={"csrftoken": "forged", "report": str(report_id), "authority": "DEMO",
                                               "until": until, "do_not_remove": "1"}).status_code == 403
    assert partner(balise, "europol", None).channel == "export"
    assert count(balise, Hold) == 0 and audit_count(balise, "partner:update") == audit_count(balise, "partner:create") == 0


# -- the routing panel of a report ---------------------------------------------------------

HOSTILE_PATH = "/gallery/<script>alert(1)</script>.jpg"


@pytest.fixture
def forwarded(tmp_path: Path, db_url: str) -> Iterator[tuple[Balise, uuid.UUID, str]]:
    clock = Clock()
    overrides = routing_overrides(tmp_path, organisation='DEMO <img src=x onerror="alert(2)"> hosting')
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port, geo_overrides_file=overrides)
        seeded(app)
        # The fetcher sends the path percent-encoded, as browsers do.
        site.serve("/gallery/%3Cscript%3Ealert(1)%3C/script%3E.jpg", reencoded(known_picture(app)))
        url = site.base + HOSTILE_PATH
        report_id = file_url_report(app, url)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        # Europol collects its exported package and says so: police are notified from then on.
        clock.advance(minutes=20)
        with app.db.transaction() as s:
            police = [n for n in app.notices.for_report(s, report_id) if n.kind == "police_forward"]
            app.notices.acknowledge(s, police[0].reference, Actor.system("test"), {"note": "DEMO: collected"})
        yield app, report_id, url
        app.close()


def test_the_report_page_of_a_forwarded_report_shows_routing_and_escapes_hostile_text(forwarded) -> None:
    app, report_id, url = forwarded
    with TestClient(create_app(app)) as analyst:
        sign_in(analyst, app, "demo-ana")
        page = analyst.get(f"/ui/reports/{report_id}")
    assert page.status_code == 200
    panel = page.text.split('<section id="routing">', 1)[1].split("</section>", 1)[0]
    # Jurisdiction: hosted in NL (the DEMO host), uploaded from DE, so DE with high confidence.
    assert "<dt>Countries where hosted</dt><dd>NL</dd>" in panel
    assert "<dt>Countries uploaded from</dt><dd>DE</dd>" in panel
    assert "DE (confidence: high)" in panel
    # Hosting: the fetch, the address, the country and the abuse contact.
    assert "served (200)" in panel and "<td>127.0.0.1</td><td>NL</td>" in panel
    assert "abuse@demo-hosting.example" in panel
    # Notices: Europol's and the State's police forwards and the host notice, all delivered.
    assert panel.count("forward to the police") == 2 and panel.count("notice to the host") == 1
    assert EUROPOL_NAME in panel and "abuse@demo-hosting.example (email)" in panel
    with app.db.sessions() as s:
        notices = app.notices.for_report(s, report_id)
        [takedown] = app.takedowns.for_report(s, report_id)
    assert all(n.status in ("sent", "acknowledged") and f"<code>{n.reference}</code>" in panel for n in notices)
    # The takedown legs: received, assessed, police notified, host notified; next check due.
    legs = [takedown.received_at, takedown.assessed_at, takedown.police_notified_at, takedown.host_notified_at]
    assert all(leg is not None and leg.strftime("%Y-%m-%d %H:%M") in panel for leg in legs)
    assert "<td>notified, checking removal</td>" in panel and takedown.next_check_at.strftime("%Y-%m-%d %H:%M") in panel
    # Hostile text from the reporter and from the network data is shown as text.
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    escaped_url = url.replace("<", "&lt;").replace(">", "&gt;")
    assert panel.count(f'<td class="text">{escaped_url}</td>') == 2
    assert "DEMO &lt;img src=x onerror=&#34;alert(2)&#34;&gt; hosting" in panel
