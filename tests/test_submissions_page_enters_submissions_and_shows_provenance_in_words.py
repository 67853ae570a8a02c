"""The staff page of Article 36: a senior analyst enters a coordinating authority's submission
(a bad one is refused naming the field, and stores nothing), extends the authority's clock of a
candidate, reads an indicator's submission and history; the URL list shows its evidence. Codes
are words, in English and in French."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator, IndicatorSubmission
from balise.domain.clocks import add_months
from balise.domain.submissions import check_url_entry
from balise.web.app import create_app
from tests.authority_support import make_authority
from tests.helpers import csrf_token, make_user, sign_in
from tests.page_words import check_words

CODES = ("authority_confirmation", "court_decision", "candidate_awaiting_authority", "known_csam", "four_eyes",
         "authority_confirmed", "url_list")
MD5 = "0123456789abcdef0123456789abcdef"


def test_a_senior_enters_a_submission_extends_a_clock_and_reads_the_history(balise):
    org_id, _ = make_authority(balise, "DEMO Autorité de coordination")
    make_user(balise, "sam", "senior-analyst")
    now = balise.clock()
    with balise.db.transaction() as s:
        waiting = Indicator(kind="new_csam", media_type="image", algorithm="sha256", value="e" * 64,
                            status="candidate_awaiting_authority", provenance={}, awaiting_since=now,
                            authority_due_at=add_months(now, 1), version=balise.indicators.reserve_versions(s, 1),
                            created_at=now, updated_at=now)
        s.add(waiting)
        s.flush()
        waiting_id = waiting.id
        balise.url_list.add(s, Actor.system("test"), check_url_entry(
            url="https://offshore.example/g/1", host_country="US", refusal="DEMO: notices unanswered",
            authority_non_cooperation="DEMO: no answer from the authorities"))
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "sam")
        page = client.get("/ui/submissions").text
        token = csrf_token(page)
        text = check_words(page, "submissions (en)", CODES)
        assert "DEMO: notices unanswered" in text and "waiting since" in text

        clocks = client.get("/ui/clocks").text
        assert "authority&#39;s confirmation" in clocks and f'href="/ui/indicators/{waiting_id}"' in clocks
        with balise.db.transaction() as s:
            balise.submissions.extend_clock(s, Actor.system("test"), waiting_id, "complex case")
        assert "extended to 2 months" in check_words(client.get("/ui/clocks").text, "clocks (en)", CODES)

        # No reference: refused, naming the field; nothing stored.
        r = client.post("/ui/submissions", data={"csrftoken": token, "authority": str(org_id), "reference": " ",
                                                 "hashes": f"md5 {MD5}"}, follow_redirects=True)
        assert "Nothing was stored: reference: is required" in r.text
        r = client.post("/ui/submissions", data={"csrftoken": token, "authority": str(org_id), "reference": "CA-9",
                                                 "hashes": "md5 0123"}, follow_redirects=True)
        assert "Nothing was stored: hashes.0.value: md5 must be 32 hex characters" in r.text
        with balise.db.sessions() as s:
            assert s.execute(select(func.count()).select_from(IndicatorSubmission)).scalar_one() == 0

        r = client.post("/ui/submissions", data={"csrftoken": token, "authority": str(org_id),
                                                 "reference": "CA-FR-2026-12", "kind": "known_csam",
                                                 "hashes": f"md5 {MD5}\nsha256:{'e' * 64}\n"}, follow_redirects=True)
        assert "Submission recorded: 1 indicator(s) created, 1 candidate(s) confirmed, 0 named again." in r.text
        assert "CA-FR-2026-12" in r.text and "staff pages" in r.text
        with balise.db.sessions() as s:
            assert s.get(Indicator, waiting_id).status == "active"
            created = s.execute(select(Indicator).where(Indicator.value == MD5)).scalar_one()

        page = client.get(f"/ui/indicators/{created.id}").text
        text = check_words(page, "indicator (en)", CODES)
        assert "DEMO Autorité de coordination" in text and "confirmed by a competent authority" in text
        assert "generated from a submission" in text and "active" in text

        client.post("/ui/settings", data={"csrftoken": csrf_token(client.get("/ui/settings").text), "blur": "24",
                                          "greyscale": "1", "locale": "fr", "break_minutes": "50",
                                          "reveal_seconds": "10"})
        page = client.get(f"/ui/indicators/{waiting_id}").text
        text = check_words(page, "indicator (fr)", CODES)
        assert "confirmé par la soumission de l’autorité" in text and "Historique" in text
        text = check_words(client.get("/ui/submissions").text, "submissions (fr)", CODES)
        assert "confirmé par une autorité compétente" in text and "La liste d’URL" in text
