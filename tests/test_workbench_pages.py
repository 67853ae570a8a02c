"""The analyst workbench in the browser's terms: pages, forms, media, roles, CSRF, XSS, French."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Report, User
from balise.demo import demo_image
from balise.web.app import create_app
from tests.helpers import auth, csrf_token, make_user, minimal_report, sign_in

COMPLETE = {"signature": "SIG", "provider": {"contact_point": {"email": "ts@example.test"}},
            "user_decision": "block", "reported_elsewhere": {"reported": False}}


@pytest.fixture
def report_id(client, provider, balise):
    _, key = provider
    report = minimal_report(items=[{"kind": "media", "file": "a"}], additional_info="<script>alert('x')</script> & co",
                            **COMPLETE)
    r = client.post("/api/v1/reports", data={"report": json.dumps(report)},
                    files=[("a", ("a.jpg", demo_image(41, (640, 480)), "image/jpeg"))], headers=auth(key))
    balise.run_jobs()
    return uuid.UUID(r.json()["id"])


@pytest.fixture
def analyst(balise):
    make_user(balise, "ana", "analyst")
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "ana")
        yield c


def _token(client, path="/ui/queue"):
    return csrf_token(client.get(path).text)


def test_queue_claim_view_classify_and_decide(analyst, balise, report_id):
    queue = analyst.get("/ui/queue")
    assert queue.status_code == 200 and str(report_id)[:12] in queue.text
    token = csrf_token(queue.text)
    r = analyst.post(f"/ui/reports/{report_id}/claim", data={"csrftoken": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/reports/{report_id}"
    page = analyst.get(f"/ui/reports/{report_id}")
    assert "Claimed by ana" in page.text and 'class="media"' in page.text
    with balise.db.sessions() as s:
        item = s.get(Report, report_id).items[0]
    media = analyst.get(f"/ui/items/{item.id}/media")
    assert media.status_code == 200 and media.headers["cache-control"].startswith("no-store")
    assert media.content[:8] == b"\x89PNG\r\n\x1a\n"  # the blurred derivative, not the stored JPEG
    token = csrf_token(page.text)
    revealed = analyst.post(f"/ui/items/{item.id}/reveal", data={"purpose": "age"}, headers={"x-csrftoken": token})
    assert revealed.status_code == 200 and revealed.json()["url"].startswith(f"/ui/items/{item.id}/reveal/")
    r = analyst.post(f"/ui/items/{item.id}/assess", data={"csrftoken": token, "revision": str(item.revision),
                                                          "outcome": "illegal", "ncmec_category": "A1",
                                                          "flags": ["generative_ai"], "national": "FR=illegal"},
                     follow_redirects=False)
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    with balise.db.sessions() as s:
        stored = s.get(Item, item.id)
        assert stored.outcome == "illegal"
        assert stored.classification == {"ncmec_category": "A1", "flags": ["generative_ai"], "national": {"FR": "illegal"}}
        revision = s.get(Report, report_id).revision
        events = set(s.execute(select(AuditRecord.event_type)).scalars())
    assert {"media:preview", "media:reveal", "item:assess", "report:claim", "report:read"} <= events
    page = analyst.get(f"/ui/reports/{report_id}")
    r = analyst.post(f"/ui/reports/{report_id}/decide", data={"csrftoken": csrf_token(page.text), "revision": str(revision),
                                                              "decision": "forward"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/queue")
    with balise.db.sessions() as s:
        assert s.get(Report, report_id).state == "forwarded_europol_only"


def test_a_stale_form_shows_a_conflict_and_changes_nothing(analyst, balise, report_id):
    token = _token(analyst)
    analyst.post(f"/ui/reports/{report_id}/claim", data={"csrftoken": token})
    with balise.db.sessions() as s:
        item = s.get(Report, report_id).items[0]
    form = {"csrftoken": token, "revision": str(item.revision), "outcome": "cannot_assess"}
    analyst.post(f"/ui/items/{item.id}/assess", data=form)
    r = analyst.post(f"/ui/items/{item.id}/assess", data={**form, "outcome": "not_illegal"})
    assert "reload" in r.text
    with balise.db.sessions() as s:
        assert s.get(Item, item.id).outcome == "cannot_assess"


def test_report_text_is_shown_as_text_not_html(analyst, report_id):
    page = analyst.get(f"/ui/reports/{report_id}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in page


def test_posts_without_csrf_are_refused(analyst, balise, report_id):
    with balise.db.sessions() as s:
        item = s.get(Report, report_id).items[0]
    assert analyst.post(f"/ui/reports/{report_id}/claim").status_code == 403
    assert analyst.post(f"/ui/items/{item.id}/reveal").status_code == 403
    assert analyst.post(f"/ui/items/{item.id}/assess", data={"outcome": "illegal", "revision": "0"}).status_code == 403


@pytest.mark.parametrize("role", ["admin", "auditor", "le-liaison"])
def test_roles_without_access_get_403_on_every_workbench_page_and_media(balise, report_id, role):
    make_user(balise, "someone", role)
    with balise.db.sessions() as s:
        item = s.get(Report, report_id).items[0]
    with TestClient(create_app(balise)) as c:
        sign_in(c, balise, "someone")
        token = _token(c, "/ui/settings")
        for path in ("/ui/queue", f"/ui/reports/{report_id}", f"/ui/items/{item.id}/media", "/ui/candidates"):
            assert c.get(path, follow_redirects=False).status_code == 403, path
        for path in (f"/ui/reports/{report_id}/claim", f"/ui/items/{item.id}/reveal", "/ui/candidates/1/confirm"):
            assert c.post(path, data={"csrftoken": token}, follow_redirects=False).status_code == 403, path
        r = c.get(f"/ui/items/{item.id}/media")
        assert r.status_code == 403 and b"\xff\xd8\xff" not in r.content


def test_anonymous_visitors_never_get_media(client, balise, report_id):
    with balise.db.sessions() as s:
        item = s.get(Report, report_id).items[0]
    r = client.get(f"/ui/items/{item.id}/media", follow_redirects=False)
    assert r.status_code == 303 and not r.content.startswith(b"\xff\xd8")


def test_wellness_settings_change_blur_and_language(analyst, balise):
    token = _token(analyst, "/ui/settings")
    r = analyst.post("/ui/settings", data={"csrftoken": token, "blur": "20", "greyscale": "", "locale": "fr",
                                           "break_minutes": "30", "reveal_seconds": "5"}, follow_redirects=True)
    assert "Réglages enregistrés" in r.text
    page = analyst.get("/ui/queue").text
    assert re.search(r"File d(&#39;|')attente", page) and 'lang="fr"' in page
    with balise.db.sessions() as s:
        prefs = s.execute(select(User.preferences).where(User.username == "ana")).scalar_one()
    assert prefs["blur"] == 20 and prefs["greyscale"] is False
    for blur in ("400", "4"):  # the server's floor: a blur too weak to hide anything is refused
        bad = analyst.post("/ui/settings", data={"csrftoken": token, "blur": blur, "locale": "fr", "break_minutes": "30",
                                                 "reveal_seconds": "5"})
        assert bad.status_code == 422


def test_sign_in_page_follows_the_browser_language(client):
    assert "Se connecter" in client.get("/ui/login", headers={"accept-language": "fr-FR,fr;q=0.9"}).text
    assert "Sign in" in client.get("/ui/login", headers={"accept-language": "de"}).text


def test_every_french_message_is_translated():
    from pathlib import Path

    from babel.messages.pofile import read_po

    po = Path(__file__).resolve().parents[1] / "src/balise/web/ui/locale/fr/LC_MESSAGES/messages.po"
    with open(po, "rb") as fh:
        catalog = read_po(fh)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    templates = (Path(__file__).resolve().parents[1] / "src/balise/web/ui/templates")
    used = set()
    for html in templates.glob("*.html"):
        used |= set(re.findall(r'_\("([^"]+)"', html.read_text()))
    assert used <= {m.id for m in catalog}, used - {m.id for m in catalog}
