"""The series pages: an analyst sees a series spanning reports, splits an item off with a reason
and merges it back; a law-enforcement liaison marks the series identified with a case reference;
the report page says "New item of series S-…, victim identified: yes/no"; every page speaks
words in English and French (no codes, booleans or reprs). Opening a series is audited."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, Item, Series
from balise.web.app import create_app
from tests.helpers import auth, csrf_token, make_provider, make_user, minimal_report, sign_in
from tests.page_words import check_words

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def near(bits: int) -> str:
    return f"{int(PDQ, 16) ^ ((1 << bits) - 1):064x}"


def seeded_series(balise, client) -> tuple[int, list[str], list[uuid.UUID]]:  # type: ignore[no-untyped-def]
    """Three reports with one picture each, near one another (as the hashing job leaves them)."""
    _, key = make_provider(balise)
    reports, items = [], []
    for n, bits in enumerate((0, 5, 9)):
        doc = minimal_report(items=[{"kind": "hash_only", "hashes": {"md5": f"{n:032x}"}}])
        r = client.post("/api/v1/reports", headers=auth(key), json=doc)
        assert r.status_code == 201, r.text
        reports.append(r.json()["id"])
        with balise.db.transaction() as s:
            item = s.execute(select(Item).where(Item.report_id == uuid.UUID(r.json()["id"]))).scalar_one()
            item.hashes, item.media_type = {"pdq": near(bits), "pdq_quality": 100}, "image"
            balise.series_assignment.assign(s, item)
            items.append(item.id)
    with balise.db.sessions() as s:
        (sid,) = s.execute(select(Series.id)).scalars().all()
    return sid, reports, items


def set_locale(client, locale: str) -> None:  # type: ignore[no-untyped-def]
    client.post("/ui/settings", data={"csrftoken": csrf_token(client.get("/ui/settings").text), "blur": "24",
                                      "greyscale": "1", "locale": locale, "break_minutes": "50",
                                      "reveal_seconds": "10"})


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_series_pages(balise, locale):
    with TestClient(create_app(balise)) as client:
        sid, reports, items = seeded_series(balise, client)
        ref = f"S-{sid:06d}"
        make_user(balise, "ana", "analyst")
        make_user(balise, "leo", "le-liaison")
        sign_in(client, balise, "ana")
        set_locale(client, locale)
        # English words that are also codes ("proposed by Balise") are checked in French only.
        codes = ("system:series", "le-liaison") if locale == "en" else ("proposed", "confirmed", "system:series")
        text = check_words(client.get("/ui/series").text, "series list", codes)
        assert ref in text
        page = client.get(f"/ui/series/{ref}").text
        text = check_words(page, "series", codes)
        assert ("proposed by Balise" if locale == "en" else "proposée par Balise") in text
        assert ("3 report(s)" if locale == "en" else "3 signalement(s)") in text
        report_page = check_words(client.get(f"/ui/reports/{reports[2]}").text, "report", codes)
        if locale == "en":
            assert f"New item of series {ref} (also in 2 other report(s)), victim identified : no" in " ".join(
                report_page.split()).replace(" ,", ",").replace("identified:", "identified :")
        else:
            flat = " ".join(report_page.split())
            assert f"Nouvel élément de la série {ref}" in flat and "victime identifiée" in flat, flat[flat.find("S-0"):][:300]

        # Split the last item off, with a reason; then merge it back.
        token = csrf_token(page)
        r = client.post(f"/ui/series/{ref}/split", data={"csrftoken": token, "items": [str(items[2])],
                                                         "reason": "a different scene on a closer look"},
                        follow_redirects=False)
        assert r.status_code == 303
        with balise.db.sessions() as s:
            new = s.execute(select(Series).where(Series.id != sid)).scalar_one()
            assert s.get(Series, sid).item_count == 2 and new.item_count == 1 and new.status == "confirmed"
        # A split that would empty the series is refused, naming why; nothing changes.
        r = client.post(f"/ui/series/{ref}/split", data={"csrftoken": token, "items": [str(i) for i in items[:2]],
                                                         "reason": "everything out"}, follow_redirects=True)
        assert "at least one item" in r.text
        r = client.post(f"/ui/series/{ref}/merge", data={"csrftoken": token, "source": f"S-{new.id:06d}",
                                                         "reason": "same scene after all"}, follow_redirects=False)
        assert r.status_code == 303
        with balise.db.sessions() as s:
            assert s.get(Series, sid).item_count == 3 and s.get(Series, new.id).status == "merged"
        # An analyst cannot mark identification; a liaison can, with a case reference only.
        assert client.post(f"/ui/series/{ref}/identify", data={"csrftoken": token, "case_reference": "X-1",
                                                               "reason": "identified"}, follow_redirects=False).status_code == 403
        client.post("/ui/logout", data={"csrftoken": token})
        sign_in(client, balise, "leo")
        set_locale(client, locale)
        token = csrf_token(client.get(f"/ui/series/{ref}").text)
        r = client.post(f"/ui/series/{ref}/identify", data={"csrftoken": token, "case_reference": "Jane Doe, 12 Main Street",
                                                            "reason": "identified by the unit"}, follow_redirects=True)
        with balise.db.sessions() as s:
            assert s.get(Series, sid).identified is False  # a name is refused
        r = client.post(f"/ui/series/{ref}/identify", data={"csrftoken": token, "case_reference": "FR-OCRVP-2026-0142",
                                                            "reason": "identified by the unit"}, follow_redirects=True)
        text = check_words(r.text, "series identified", codes)
        assert "FR-OCRVP-2026-0142" in text
    with balise.db.sessions() as s:
        types = [t for (t,) in s.execute(select(AuditRecord.event_type).where(AuditRecord.event_type.like("series:%"))
                                         .order_by(AuditRecord.seq)).all()]
    assert types.count("series:read") >= 3 and "series:split" in types and "series:identify" in types
    assert types.count("series:merge") == 1
