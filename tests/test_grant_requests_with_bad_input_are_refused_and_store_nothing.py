"""POST /api/v1/grants: each kind of bad request gets 422 `invalid_grant` naming the field and
the problem, and nothing is stored (no grant, no grant:request event). The command line gives
the same messages (`balise grant request`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import AccessGrant, AuditRecord
from tests.helpers import auth, make_provider

NOW = datetime.now(timezone.utc)


def good(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "databases": ["known_indicators"], "operations": ["match"], "purpose": "scan uploads under order 7",
        "legal_basis": "detection order, CSAR Art. 7", "order_reference": "DO-2026-7",
        "valid_until": (NOW + timedelta(days=180)).isoformat(),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


CASES = {
    "no purpose": (good(purpose=...), "purpose", "Field required"),
    "blank purpose": (good(purpose="   "), "purpose", "state the purpose"),
    "no legal basis": (good(legal_basis=""), "legal_basis", "state the legal basis"),
    "unknown database": (good(databases=["everything"]), "databases.0", "known_indicators"),
    "unknown operation": (good(operations=["delete"]), "operations.0", "download"),
    "no database": (good(databases=[]), "databases", "at least 1"),
    "operation on no database it applies to": (good(databases=["reports"]), "operations",
                                                "'match' (match hashes) applies to none of the requested databases"),
    "database no operation applies to": (good(databases=["known_indicators", "reports"]), "databases",
                                         "no requested operation applies to the database 'reports'"),
    "over the maximum validity": (good(valid_until=(NOW + timedelta(days=800)).isoformat()), "valid_until",
                                  "a grant lasts at most 24 months"),
    "ending before it starts": (good(valid_from=(NOW + timedelta(days=10)).isoformat(),
                                     valid_until=(NOW + timedelta(days=5)).isoformat()), "valid_until",
                                "before it starts"),
    "ended already": (good(valid_from=(NOW - timedelta(days=10)).isoformat(),
                           valid_until=(NOW - timedelta(days=5)).isoformat()), "valid_until", "before now"),
    "no time zone": (good(valid_until=(NOW + timedelta(days=5)).replace(tzinfo=None).isoformat()), "valid_until",
                     "timezone"),
    "unknown field": (good(scope="all"), "scope", "Extra inputs are not permitted"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_grant_request_is_refused_naming_the_problem_and_stores_nothing(client, balise, case):
    body, field, words = CASES[case]
    _, key = make_provider(balise)
    r = client.post("/api/v1/grants", json=body, headers=auth(key))
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["error"] == "invalid_grant"
    assert [f["field"] for f in answer["fields"]] == [field]
    assert words in answer["fields"][0]["message"] and words in answer["message"]
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(AccessGrant)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type == "grant:request")).scalar_one() == 0


def test_the_same_request_done_right_is_stored(client, balise):
    # The cases above fail for their one fault, not for something the good body lacks.
    _, key = make_provider(balise)
    r = client.post("/api/v1/grants", json=good(), headers=auth(key))
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "requested" and r.json()["live"] is False
