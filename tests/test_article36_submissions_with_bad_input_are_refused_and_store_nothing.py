"""POST /api/v1/submissions refuses, and stores nothing (no submission, no indicator, no
history): a key that is not a coordinating authority's (403), a submission without the
authority's decision reference, and bad hashes (422 naming the field)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import AuditRecord, Indicator, IndicatorHistory, IndicatorSubmission
from tests.authority_support import make_authority
from tests.helpers import auth, make_provider

MD5 = "0123456789abcdef0123456789abcdef"


def good(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {"reference": "CA-2026-9", "hashes": [{"algorithm": "md5", "value": MD5}]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


CASES = {
    "no reference": (good(reference=...), "reference", "authority's decision reference"),
    "blank reference": (good(reference="   "), "reference", "is required"),
    "null reference": (good(reference=None), "reference", "is required"),
    "reference too long": (good(reference="R" * 201), "reference", "at most 200 characters"),
    "no hashes": (good(hashes=[]), "hashes", "at least one hash"),
    "hash too short": (good(hashes=[{"algorithm": "md5", "value": "abc"}]), "hashes.0.value",
                       "md5 must be 32 hex characters, got 3"),
    "hash not hexadecimal": (good(hashes=[{"algorithm": "sha256", "value": "z" * 64}]), "hashes.0.value",
                             "not hexadecimal"),
    "second hash bad": (good(hashes=[{"algorithm": "md5", "value": MD5}, {"algorithm": "pdq", "value": "0" * 63}]),
                        "hashes.1.value", "pdq must be 64 hex characters"),
    "unknown algorithm": (good(hashes=[{"algorithm": "crc32", "value": "deadbeef"}]), "hashes.0.algorithm",
                          "unknown algorithm"),
    "URL outside a url submission": (good(hashes=[{"algorithm": "url", "value": "https://x.example/a"}]),
                                     "hashes.0.algorithm", "kind url"),
    "hash as a number": (good(hashes=[{"algorithm": "md5", "value": 12}]), "hashes.0.value", "string"),
    "unknown process": (good(process="hearsay"), "process", "authority_confirmation"),
    "unknown kind": (good(kind="everything"), "kind", "known_csam"),
    "bad classification": (good(classification={"ncmec_category": "Z9"}), "classification", "ncmec_category"),
    "unknown field": (good(indicator_ids=[1]), "indicator_ids", "Extra inputs are not permitted"),
}


def _nothing_stored(balise) -> None:
    with balise.db.sessions() as s:
        for model in (IndicatorSubmission, Indicator, IndicatorHistory):
            assert s.execute(select(func.count()).select_from(model)).scalar_one() == 0, model
        assert s.execute(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.event_type == "submission:create")).scalar_one() == 0


@pytest.mark.parametrize("case", CASES)
def test_a_bad_submission_is_refused_naming_the_field_and_stores_nothing(client, balise, case):
    body, field, words = CASES[case]
    _, key = make_authority(balise)
    r = client.post("/api/v1/submissions", json=body, headers=auth(key))
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["error"] == "invalid_submission"
    assert [f["field"] for f in answer["fields"]] == [field]
    assert words in answer["fields"][0]["message"], answer
    _nothing_stored(balise)


def test_a_key_that_is_not_a_coordinating_authoritys_is_refused_and_stores_nothing(client, balise):
    _, key = make_provider(balise)
    r = client.post("/api/v1/submissions", json=good(), headers=auth(key))
    assert r.status_code == 403 and r.json()["error"] == "not_a_coordinating_authority", r.text
    assert client.get("/api/v1/submissions", headers=auth(key)).status_code == 403
    _nothing_stored(balise)
    with balise.db.sessions() as s:  # the attempt itself is on the record
        refused = s.execute(select(AuditRecord).where(AuditRecord.event_type == "submission:refuse")).scalars().all()
        assert len(refused) == 2 and refused[0].details["field"] == "api_key"
    assert client.post("/api/v1/submissions", json=good()).status_code == 401
