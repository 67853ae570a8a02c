"""POST /api/v1/reports checks a JSON report's key, its Idempotency-Key and its document in
one trip to the thread pool (issue 19), a multipart one's key before reading its parts. Either
way a request with several faults is refused for the first in this order: the API key (401,
403), the Idempotency-Key header, then the body (its media type, its JSON, the report). Nothing
is stored by any refusal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import Report
from balise.domain.model import Scope
from tests.helpers import auth, make_provider, minimal_report

# What is proved here happens in the HTTP layer, before and around the filing, whose storage is
# tested on both databases elsewhere: SQLite alone keeps the suite within its time budget.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

UNKNOWN = "bk_unknownprefix_" + "x" * 40
BAD_JSON = {"content": b'{"type": ', "headers": {"content-type": "application/json"}}
BAD_REPORT = {"json": {"type": "known_csam"}}
NOT_JSON = {"content": b"type=known_csam", "headers": {"content-type": "application/x-www-form-urlencoded"}}
BAD_PARTS = {"content": b"--x\r\nnot a part", "headers": {"content-type": "multipart/form-data; boundary=x"}}


@pytest.fixture
def keys(balise):
    _, writer = make_provider(balise, "DEMO Writer")
    _, reader = make_provider(balise, "DEMO Reader", scopes=(Scope.REPORTS_READ,))
    return {"writer": writer, "reader": reader, "unknown": UNKNOWN}


CASES = {
    "no key, a malformed body": (None, None, BAD_JSON, 401, "unauthenticated"),
    "an unknown key, a malformed body": ("unknown", None, BAD_JSON, 401, "unauthenticated"),
    "an unknown key, multipart parts that do not parse": ("unknown", None, BAD_PARTS, 401, "unauthenticated"),
    "an unknown key, a body that is not JSON": ("unknown", None, NOT_JSON, 401, "unauthenticated"),
    "a key without reports:write, an invalid report": ("reader", None, BAD_REPORT, 403, "forbidden"),
    "a key without reports:write, multipart": ("reader", None, BAD_PARTS, 403, "forbidden"),
    "a bad Idempotency-Key, a malformed body": ("writer", "a key with spaces", BAD_JSON, 422, "invalid_idempotency_key"),
    "a bad Idempotency-Key, multipart": ("writer", "a key with spaces", BAD_PARTS, 422, "invalid_idempotency_key"),
    "a body that is not JSON": ("writer", None, NOT_JSON, 415, "unsupported_media_type"),
    "malformed JSON": ("writer", "k-1", BAD_JSON, 422, "malformed_json"),
    "multipart parts that do not parse": ("writer", None, BAD_PARTS, 422, "malformed_multipart"),
    "a report missing its fields": ("writer", "k-2", BAD_REPORT, 422, "invalid_report"),
    "a JSON array": ("writer", None, {"json": [minimal_report()]}, 422, "invalid_report"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_first_fault_in_order_is_the_one_answered(client, balise, keys, case):
    who, idempotency, body, status, code = CASES[case]
    headers = dict(body.get("headers", {}))
    if who is not None:
        headers.update(auth(keys[who]))
    if idempotency is not None:
        headers["Idempotency-Key"] = idempotency
    kwargs = {k: v for k, v in body.items() if k != "headers"}
    answer = client.post("/api/v1/reports", headers=headers, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 0


def test_a_report_passing_every_check_is_filed_by_either_body(client, balise, keys):
    json_answer = client.post("/api/v1/reports", json=minimal_report(), headers=auth(keys["writer"]))
    multipart = client.post("/api/v1/reports", data={"report": json.dumps(minimal_report())},
                            files={"unused": ("demo.txt", b"DEMO", "text/plain")}, headers=auth(keys["writer"]))
    assert json_answer.status_code == 201, json_answer.text
    # A file part no item names is refused, after the key and the document passed.
    assert multipart.status_code == 422 and multipart.json()["error"] != "unauthenticated"
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1
