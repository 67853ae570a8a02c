"""A multipart body the parser refuses (parts that do not parse, a document part over its
limit) is answered in the API's error shape — 422 `malformed_multipart`, 413
`payload_too_large` naming the part — on both endpoints that take multipart bodies. Starlette
itself turns such a refusal into a bare 400 `{"detail": ...}`, which clients of the API never
see. Nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import IndicatorSubmission, Report
from tests.authority_support import make_authority
from tests.helpers import auth, make_provider

# What is proved here happens in the HTTP layer, before and around the filing, whose storage is
# tested on both databases elsewhere: SQLite alone keeps the suite within its time budget.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

BROKEN = {"content": b"--x\r\nnot a part", "headers": {"content-type": "multipart/form-data; boundary=x"}}


def _post(client, path: str, key: str, body: dict) -> object:  # type: ignore[type-arg]
    return client.post(path, content=body["content"], headers={**body["headers"], **auth(key)})


def _oversized(part: str, limit: int) -> dict:  # type: ignore[type-arg]
    text = b'{"note": "' + b"D" * limit + b'"}'
    content = (f'--x\r\nContent-Disposition: form-data; name="{part}"\r\n\r\n'.encode() + text + b"\r\n--x--\r\n")
    return {"content": content, "headers": {"content-type": "multipart/form-data; boundary=x"}}


def _stored(balise) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with balise.db.sessions() as s:
        return (s.scalar(select(func.count()).select_from(Report)),
                s.scalar(select(func.count()).select_from(IndicatorSubmission)))


def test_parts_that_do_not_parse_are_422_malformed_multipart(client, balise):
    _, provider = make_provider(balise, "DEMO Platform")
    _, authority = make_authority(balise)
    for path, key in (("/api/v1/reports", provider), ("/api/v1/submissions", authority)):
        answer = _post(client, path, key, BROKEN)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "malformed_multipart" and answer.json()["message"]
    assert _stored(balise) == (0, 0)


def test_a_document_part_over_its_limit_is_413_naming_the_part(client, balise):
    _, provider = make_provider(balise, "DEMO Platform")
    _, authority = make_authority(balise)
    limit = balise.settings.max_json_bytes
    for path, key, part in (("/api/v1/reports", provider, "report"), ("/api/v1/submissions", authority, "submission")):
        answer = _post(client, path, key, _oversized(part, limit))
        assert answer.status_code == 413, answer.text
        body = answer.json()
        assert body["error"] == "payload_too_large"
        assert body["fields"] == [{"field": part, "message": "too large"}]
        assert f"exceeds the limit of {limit} bytes" in body["message"]
    assert _stored(balise) == (0, 0)
