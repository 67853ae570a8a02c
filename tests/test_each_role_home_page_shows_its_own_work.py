"""Each role lands on a home page of its own work, in words: the analyst their claims, the queue
by urgency and the deadlines passed or coming; the senior analyst also the reports with items
waiting for their four eyes; the law-enforcement liaison the reports forwarded to law
enforcement with where they went, their packages and holds, a link that sets a hold on each,
and the holds in force (those ending soon marked); the auditor the chain's state and the latest
access to content (which is itself recorded); the administrator users, keys, failed sign-ins
and failing jobs. The French page says the same in French."""

from __future__ import annotations

import re
from html import unescape
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, EvidencePackage, Job, Notice, Partner, Report, User
from balise.container import Balise
from balise.intake.report_schema import ReportIn
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.helpers import make_provider, make_user, minimal_report, sign_in
from tests.page_words import REPRS
from tests.takedown_support import Clock

TEST = Actor.system("test")


@contextmanager
def balise_app(tmp_path, db_url) -> Iterator[tuple[Balise, Clock]]:
    clock = Clock()
    app = Balise(make_settings(tmp_path, db_url), clock=clock)
    try:
        yield app, clock
    finally:
        app.close()


@contextmanager
def signed_in(app: Balise, username: str, role: str, language: str = "en") -> Iterator[TestClient]:
    make_user(app, username, role)
    with TestClient(create_app(app), headers={"accept-language": language}) as client:
        sign_in(client, app, username)
        yield client


def filed(app: Balise, urgent: bool = False) -> uuid.UUID:
    report = ReportIn.model_validate(minimal_report(urgent=urgent) if urgent else minimal_report())
    return app.intake.file(actor=TEST, organisation_id=None, report=report, files={},
                           fingerprint=str(uuid.uuid4()), idempotency_key=None).report.id


def set_state(app: Balise, report_id: uuid.UUID, state: str, age: timedelta = timedelta(0)) -> None:
    with app.db.transaction() as s:
        report = s.get(Report, report_id)
        report.state = state
        report.decided_at = app.clock()
        report.created_at = app.clock() - age


def text_of(html: str) -> str:
    for repr_ in REPRS:
        assert repr_ not in html, repr_
    body = unescape(re.sub(r"<[^>]+>", " ", html))
    assert not re.search(r"\b(True|False|None)\b", body)
    return " ".join(body.split())


def test_analyst_home_shows_claims_queue_by_urgency_and_deadlines(tmp_path, db_url):
    with balise_app(tmp_path, db_url) as (app, clock):
        calm, urgent, mine = filed(app), filed(app, urgent=True), filed(app)
        for r in (calm, urgent, mine):  # received 20 hours ago: the 24-hour clock is close to its end
            set_state(app, r, "in_assessment", timedelta(hours=20))
        with signed_in(app, "ana", "analyst") as client:
            with app.db.transaction() as s:
                app.assessment.claim(s, s.execute(select(User).where(User.username == "ana")).scalar_one(), mine)
            html = client.get("/ui/").text
        text = text_of(html)
        claims = html.split('id="home-claims"')[1].split("</section>")[0]
        queue = html.split('id="home-queue"')[1].split("</section>")[0]
        assert str(mine)[:8] in claims and str(calm)[:8] not in claims
        # Unclaimed only, the urgent report first.
        assert str(mine)[:8] not in queue and queue.index(str(urgent)[:8]) < queue.index(str(calm)[:8])
        breaches = html.split('id="home-breaches"')[1].split("</section>")[0]
        assert str(calm)[:8] in breaches and re.search(r"(due in|late by) \d+", text_of(breaches))
        assert "My claims" in text and "Queue by urgency" in text


def test_senior_home_lists_reports_waiting_for_four_eyes(tmp_path, db_url):
    with balise_app(tmp_path, db_url) as (app, clock):
        with signed_in(app, "sen", "senior-analyst", "fr") as client:
            html = client.get("/ui/").text
        text = text_of(html)
        assert "Rapports à confirmer" not in text  # nothing waits: no such section
        assert "Aucun élément n’attend votre confirmation." in text
        assert "Mes prises en charge" in text and "File par urgence" in text


def test_liaison_home_lists_forwarded_reports_packages_holds_and_links_to_set_a_hold(tmp_path, db_url):
    with balise_app(tmp_path, db_url) as (app, clock):
        with app.db.transaction() as s:
            app.partners.seed(s, TEST)
        forwarded, other = filed(app), filed(app)
        set_state(app, forwarded, "forwarded_europol_only")
        with app.db.transaction() as s:
            europol = s.execute(select(Partner).where(Partner.kind == "europol")).scalars().first()
            s.add(Notice(reference="N-DEMO-1", dedupe=f"demo:{forwarded}", report_id=forwarded, partner_id=europol.id,
                         kind="forward", channel="email", recipient="europol@demo.invalid", language="en",
                         subject="DEMO", body="DEMO", status="sent", created_at=clock()))
            s.add(EvidencePackage(id=uuid.uuid4(), report_id=forwarded, file_name="balise-package-DEMO.zip",
                                  path="/nonexistent", sha256="0" * 64, size=1, key_id="k", include_media=False,
                                  media_count=0, audit_seq=1, created_at=clock()))
            app.holds.set(s, TEST, forwarded, do_not_inform=True, do_not_remove=False, authority="DEMO police unit",
                          expires_at=clock() + timedelta(days=10), reference="DEMO-CASE-1", reason="DEMO")
            app.holds.set(s, TEST, other, do_not_inform=False, do_not_remove=True, authority="DEMO prosecutor",
                          expires_at=clock() + timedelta(days=200))
        with signed_in(app, "liaison", "le-liaison") as client:
            html = client.get("/ui/").text
            text = text_of(html)
            rows = html.split('id="home-forwarded"')[1].split("</section>")[0]
            assert str(forwarded)[:8] in rows and str(other)[:8] not in rows
            assert europol.name in rows and "balise-package-DEMO.zip" in rows and "forwarded to Europol only" in rows
            # A hold is set from the list: the link opens the hold form for that report, no id to paste.
            link = re.search(rf'href="(/ui/holds\?report={forwarded})" class="set-hold"', rows).group(1)
            form = client.get(link).text
            assert f'name="report" value="{forwarded}"' in form and "Record the hold" in form
        holds = html.split('id="home-holds"')[1].split("</section>")[0]
        assert "2 holds in force" in text and "1 ends within 30 days" in text
        assert holds.index("DEMO police unit") < holds.index("DEMO prosecutor")  # ending first
        assert 'class="ending"' in holds and "do not inform the user" in holds and "in 10 days" in holds


def test_auditor_home_shows_the_chain_and_latest_access_and_records_the_view(tmp_path, db_url):
    with balise_app(tmp_path, db_url) as (app, clock):
        report_id = filed(app)
        make_user(app, "ana", "analyst")
        with app.db.transaction() as s:
            ana = s.execute(select(User).where(User.username == "ana")).scalar_one()
            app.audit.record(s, app_event("report:read"), Actor.staff(str(ana.id), "ana"), "report", str(report_id),
                             "assessment", {})
        with signed_in(app, "aud", "auditor", "fr") as client:
            html = client.get("/ui/").text
        text = text_of(html)
        assert "La chaîne se vérifie" in text
        access = html.split('id="home-access"')[1].split("</section>")[0]
        assert "signalement consulté" in access and "ana" in access and "report:read" not in text_of(access)
        with app.db.sessions() as s:
            reads = s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:read")).scalars().all()
        assert [r.purpose for r in reads] == ["auditor home page"]


def test_admin_home_shows_users_keys_failed_sign_ins_and_failing_jobs(tmp_path, db_url):
    with balise_app(tmp_path, db_url) as (app, clock):
        make_provider(app, "DEMO provider")
        make_user(app, "leaver", "analyst")
        with app.db.transaction() as s:
            leaver = s.execute(select(User).where(User.username == "leaver")).scalar_one()
            leaver.active = False
            app.users.record_login(s, leaver, False, "account disabled")
            s.add(Job(kind="notice.send", payload={}, status="failed", attempts=8, max_attempts=8, run_at=clock(),
                      last_error="DEMO: SMTP server refused the connection"))
        with signed_in(app, "adm", "admin") as client:
            html = client.get("/ui/").text
        text = text_of(html)
        users = html.split('id="home-users"')[1].split("</section>")[0]
        assert "leaver" in users and "disabled: 1" in text
        assert "in use: 1" in html.split('id="home-keys"')[1].split("</section>")[0]
        failed = text_of(html.split('id="home-failed"')[1].split("</section>")[0])
        assert "1 failed sign-in in the last 7 days." in failed and "leaver" in failed and "account disabled" in failed
        jobs = html.split('id="home-jobs"')[1].split("</section>")[0]
        assert "notice.send" in jobs and "SMTP server refused" in jobs and "given up" in jobs


def app_event(code: str):  # type: ignore[no-untyped-def]
    from balise.domain.audit import AuditEvent

    return AuditEvent(code)
