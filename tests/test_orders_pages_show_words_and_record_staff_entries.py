"""The orders pages: the registry and an order's page speak words in English and French (kinds,
states, clocks, whose act), never codes; staff enter an order received by letter (nothing stored
when a mandatory field is missing) and record the authority's and provider's acts; the report an
order concerns shows it with its clock."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from balise.adapters.db.models import Order
from balise.web.app import create_app
from tests.helpers import auth, csrf_token, make_user, minimal_report, sign_in
from tests.orders_support import make_addressee, make_authority, order_body
from tests.page_words import check_words

CODES = ("removal", "blocking", "detection", "clarification_requested", "order_removal", "received", "issued",
         "known_indicators", "api_key", "staff_entry")
WORDS = {"en": ("removal order", "received by the provider", "removal order (24 h)", "due in", "the provider",
                "Sender's authentication", "clarification requested"),
         "fr": ("injonction de retrait", "reçue par le fournisseur", "injonction de retrait (24 h)", "dans",
                "le fournisseur", "Authentification de l'expéditeur", "clarification demandée")}


def _locale(client, locale):
    client.post("/ui/settings", data={"csrftoken": csrf_token(client.get("/ui/settings").text), "blur": "24",
                                      "greyscale": "1", "locale": locale, "break_minutes": "50",
                                      "reveal_seconds": "10"})


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_orders_pages_speak_words_and_staff_record_acts(balise, locale):
    authority = make_authority(balise)
    _, provider_key = make_addressee(balise)
    make_user(balise, "sena", "senior-analyst")
    with TestClient(create_app(balise)) as client:
        report = client.post("/api/v1/reports", headers=auth(provider_key), json=minimal_report()).json()["id"]
        oid = client.post("/api/v1/orders", json=authority.sign(order_body(report_ids=[report])),
                          headers=auth(authority.key)).json()["id"]
        client.post("/api/v1/orders", json=authority.sign(order_body("detection")), headers=auth(authority.key))
        sign_in(client, balise, "sena")
        _locale(client, locale)
        page = client.get(f"/ui/orders/{oid}").text
        token = csrf_token(page)
        # The provider's receipt, received by e-mail and recorded by staff: the clock starts.
        r = client.post(f"/ui/orders/{oid}/transition", data={"csrftoken": token, "state": "received",
                                                              "part": "provider"}, follow_redirects=True)
        assert r.status_code == 200
        r = client.post(f"/ui/orders/{oid}/transition", data={"csrftoken": token, "state": "clarification_requested",
                                                              "part": "provider", "note": ""}, follow_redirects=True)
        assert "reasons" in r.text  # refused without its reasons
        client.post(f"/ui/orders/{oid}/transition", data={"csrftoken": token, "state": "clarification_requested",
                                                          "part": "provider", "note": "which URL?"})
        client.post(f"/ui/orders/{oid}/transition", data={"csrftoken": token, "state": "received",
                                                          "part": "authority", "note": "both URLs"})
        # English words that are also codes ("removal", "received") are checked in French only.
        codes = [c for c in CODES if "_" in c] if locale == "en" else CODES
        text = check_words(client.get(f"/ui/orders/{oid}").text, f"order ({locale})", codes)
        for word in WORDS[locale]:
            assert word in text, word
        listing = check_words(client.get("/ui/orders").text, f"orders ({locale})", codes)
        assert ("injonction de détection" if locale == "fr" else "detection order") in listing
        clocks = client.get("/ui/clocks").text
        assert f"/ui/orders/{oid}" in clocks

        # An order received by letter, entered by staff: refused without the reasons, then stored.
        with balise.db.sessions() as session:
            before = session.scalar(select(func.count()).select_from(Order))
        form = {"csrftoken": token, "kind": "removal", "reference": "LETTER-1", "authority_name": "Autorité FR",
                "member_state": "fr", "legal_basis": "CSAR Art. 14", "addressee": "Some host", "reasons": "",
                "redress": "Tribunal de Paris, 2 mois", "sent_at": "2026-01-05T10:00",
                "urls": "https://host.example/a\nhttps://host.example/b", "signature_verification": "paper, stamp"}
        r = client.post("/ui/orders", data=form, follow_redirects=True)
        assert "reasons" in r.text
        with balise.db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Order)) == before
        r = client.post("/ui/orders", data={**form, "reasons": "confirmed CSAM"}, follow_redirects=True)
        assert r.status_code == 200 and "LETTER-1" in r.text and "paper, stamp" in r.text
        with balise.db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Order)) == before + 1
    with balise.db.transaction() as session:
        assert balise.orders.for_report(session, uuid.UUID(report))[0].state == "received"
    make_user(balise, "ana", "analyst")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "ana")
        assert client.get("/ui/orders").status_code == 403
