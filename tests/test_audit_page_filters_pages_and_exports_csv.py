"""The audit page filters the trail by who (a user name), what (event types), on what (subject
type and id) and when (dates), fifty events a page with links to the next; the view is a link,
and its CSV export the same events. Events, subjects and actors are shown in words, in English
and French. A malformed filter is refused with the field named and changes nothing; every view
and every export is itself recorded (audit:read with its filters)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, User
from balise.container import Balise
from balise.domain.audit import AuditEvent
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import make_user, sign_in
from tests.takedown_support import Clock


@contextmanager
def trail(tmp_path, db_url) -> Iterator[tuple[Balise, Clock, str]]:
    """A trail with 60 report views by "ana" two days ago, 3 media reveals by "bob" today,
    and a formula-like purpose; the auditor signed in."""
    clock = Clock()
    app = Balise(make_settings(tmp_path, db_url), clock=clock)
    try:
        make_user(app, "ana", "analyst")
        make_user(app, "bob", "analyst")
        with app.db.transaction() as s:
            users = {u.username: u for u in s.execute(select(User)).scalars()}
            ana, bob = (Actor.staff(str(users[n].id), n) for n in ("ana", "bob"))
            clock.advance(days=-2)
            for i in range(60):
                app.audit.record(s, AuditEvent.REPORT_READ, ana, "report", str(uuid.UUID(int=i)), "assessment")
            clock.advance(days=2)
            for i in range(3):
                app.audit.record(s, AuditEvent.MEDIA_REVEAL, bob, "item", str(uuid.UUID(int=1000 + i)),
                                 "=HYPERLINK(\"http://demo.invalid\")")
        make_user(app, "aud", "auditor")
        yield app, clock, str(users["ana"].id)
    finally:
        app.close()


@contextmanager
def auditor(app: Balise, language: str = "en") -> Iterator[TestClient]:
    with TestClient(create_app(app), headers={"accept-language": language}) as client:
        sign_in(client, app, "aud")
        yield client


def rows(html: str) -> list[str]:
    table = html.split('<table class="audit">')[1].split("</table>")[0]
    return [unescape(re.sub(r"<[^>]+>", " ", r)) for r in table.split("<tr>")[2:]]


def audit_reads(app: Balise) -> list[AuditRecord]:
    with app.db.sessions() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:read")
                              .order_by(AuditRecord.seq)).scalars())


def test_filters_by_who_what_and_when_fifty_a_page_in_words(tmp_path, db_url):
    with trail(tmp_path, db_url) as (app, clock, ana_id), auditor(app) as client:
        page = client.get("/ui/audit?actor=ana&type=report:read")
        assert page.status_code == 200
        shown = rows(page.text)
        assert len(shown) == 50 and all("report viewed" in r and "ana" in r for r in shown)
        assert "60 events match. Page 1 of 2." in unescape(page.text)
        older = re.search(r'href="(/ui/audit\?[^"]+)" rel="next"', page.text).group(1)
        assert "actor=ana" in older and "page=2" in older
        assert len(rows(client.get(unescape(older)).text)) == 10
        # When: today only leaves bob's reveals; by subject type and id, one event.
        today = clock().date().isoformat()
        assert len(rows(client.get(f"/ui/audit?from={today}&to={today}&type=media:reveal").text)) == 3
        one = client.get(f"/ui/audit?subject_type=item&subject={uuid.UUID(int=1001)}").text
        assert len(rows(one)) == 1 and "media revealed" in rows(one)[0] and "bob" in rows(one)[0]
        # In French, words too.
        fr = client.get("/ui/audit?type=media:reveal", headers={"accept-language": "fr"}).text
        assert "média dévoilé" in rows(fr)[0] and "élément" in rows(fr)[0]
        reads = audit_reads(app)
        assert reads[0].details["actor"] == "ana" and reads[0].details["types"] == ["report:read"]
        assert reads[0].details["shown"] == 50


def test_csv_export_gives_the_filtered_events_and_is_recorded(tmp_path, db_url):
    with trail(tmp_path, db_url) as (app, clock, ana_id), auditor(app) as client:
        page = client.get("/ui/audit?type=media:reveal").text
        link = unescape(re.search(r'href="(/ui/audit\.csv[^"]*)" id="audit-csv"', page).group(1))
        exported = client.get(link)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert exported.headers["content-disposition"].startswith("attachment;")
        table = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(table) == 3 and {r["event"] for r in table} == {"media revealed"}
        assert {r["actor_name"] for r in table} == {"bob"}
        # A cell that starts like a spreadsheet formula is neutralised.
        assert all(r["purpose"].startswith("'=HYPERLINK") for r in table)
        everything = list(csv.DictReader(io.StringIO(client.get("/ui/audit.csv").text)))
        assert len(everything) > 63  # every page, not just the first fifty
        export = [r for r in audit_reads(app) if r.details.get("export") == "csv"]
        assert [e.details["rows"] for e in export] == [3, len(everything)]
        assert export[0].details["types"] == ["media:reveal"]


def test_a_malformed_filter_is_refused_with_the_field_named(tmp_path, db_url):
    with trail(tmp_path, db_url) as (app, clock, ana_id), auditor(app) as client:
        for query, field in (("type=media:nonsense", "type"), ("from=2026-13-40", "from"),
                             ("from=2026-12-02&to=2026-12-01", "to"), ("page=0", "page"), ("page=abc", "page"),
                             ("subject_type=Report%20Type", "subject_type"), ("actor=" + "x" * 65, "actor"),
                             ("subject=a%01b", "subject")):
            answer = client.get(f"/ui/audit?{query}")
            assert answer.status_code == 400, query
            problem = unescape(re.search(r'id="audit-problem">([^<]+)<', answer.text).group(1))
            assert f"The field {field} " in problem, (query, problem)
            assert '<table class="audit">' not in answer.text
            refused = client.get(f"/ui/audit.csv?{query}")
            assert refused.status_code == 400 and f"The field {field} " in refused.text
        fr = client.get("/ui/audit?from=demain", headers={"accept-language": "fr"}).text
        assert "Le champ from n'est pas une date" in unescape(fr)
        assert all(r.details.get("refused") for r in audit_reads(app))
        assert not [r for r in audit_reads(app) if r.details.get("export")]
