"""The access grants page with the DEMO grants (every state): states, databases and operations as
words in the reader's language, never codes, reprs or booleans."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from balise import demo
from balise.web.app import create_app
from tests.helpers import csrf_token, make_user, sign_in
from tests.page_words import check_words

CODES = ("known_indicators", "new_indicators", "solicitation_indicators", "url_list", "read_reports",
         "awaiting_second_approval", "requested", "approved", "revoked")
WORDS = {"en": ("approved once, awaiting a second administrator", "indicators of known material", "match hashes",
                "Unused for 90 days or more"),
         "fr": ("approuvée une fois, en attente d’un second administrateur", "indicateurs de contenus connus",
                "comparer des empreintes", "Inutilisées depuis 90 jours ou plus")}


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_grants_page_speaks_words(balise, locale):
    demo.seed(balise, reports=0)
    make_user(balise, "anne", "admin")
    with TestClient(create_app(balise)) as client:
        sign_in(client, balise, "anne")
        client.post("/ui/settings", data={"csrftoken": csrf_token(client.get("/ui/settings").text), "blur": "24",
                                          "greyscale": "1", "locale": locale, "break_minutes": "50",
                                          "reveal_seconds": "10"})
        # English words that are also codes ("requested", "approved") are checked in French only.
        codes = CODES[:6] if locale == "en" else CODES
        text = check_words(client.get("/ui/grants").text, f"grants ({locale})", codes)
    for word in WORDS[locale]:
        assert word in text, word
