"""Issue 19: a match or report document with no float in it is validated from the bytes it was
read from, instead of being written out again first; and a match answer is written by
pydantic-core instead of ``json.dumps``. Both are shortcuts: these tests prove they give what
the long way gave, and that they are taken."""

from __future__ import annotations

import json

import pydantic_core
import pytest
from pydantic import ValidationError

from balise.domain.model import Scope
from balise.web.api import bodies
from balise.web.api.bodies import read_document, validate_strictly
from balise.web.api.deps import ApiError
from balise.web.api.match import MatchIn, _rendered
from balise.web.api.reports import ReportIn
from tests.helpers import auth, make_provider, minimal_report

PDQ = "f" * 64
DOCUMENTS = [
    b'{"hashes": [{"type": "pdq", "value": "' + PDQ.encode() + b'", "quality": 90}], "threshold": 12}',
    # Duplicate keys: the last one counts, as when the parsed value was validated.
    b'{"hashes": [{"type": "md5", "value": "0"}], "hashes": [{"type": "pdq", "value": "ab"}], '
    b'"threshold": 3, "threshold": 5}',
    # Escapes and characters outside ASCII in a string the model keeps.
    b'{"hashes": [{"type": "pdq", "value": "\\u00e9t\\u00e9 \xc3\xa9"}]}',
    b'{"hashes": [{"type": "pdq", "value": "' + PDQ.encode() + b'"}], "threshold": 29.0}',
]


def _the_long_way(model, raw):  # type: ignore[no-untyped-def]
    return validate_strictly(model, pydantic_core.from_json(raw))


@pytest.mark.parametrize("raw", DOCUMENTS)
def test_a_document_validates_as_its_parsed_value_did(raw: bytes) -> None:
    assert validate_strictly(MatchIn, read_document(raw, 32, "the body")) == _the_long_way(MatchIn, raw)


@pytest.mark.parametrize("raw", [
    b'{"hashes": [{"type": "pdq", "value": "x"}], "threshold": "5"}',  # a string is not a number
    b'{"hashes": [{"type": "pdq", "value": "x"}], "threshold": false}',
    b'{"hashes": [{"type": "pdq", "value": "x"}], "threshold": 29.5}',
    b'{"hashes": [{"type": "pdq", "value": "x", "colour": 1}]}',  # an unknown field
    b'{"hashes": []}',
])
def test_a_document_is_refused_as_its_parsed_value_was(raw: bytes) -> None:
    with pytest.raises(ValidationError) as shortcut:
        validate_strictly(MatchIn, read_document(raw, 32, "the body"))
    with pytest.raises(ValidationError) as long_way:
        _the_long_way(MatchIn, raw)
    assert ([(e["loc"], e["type"]) for e in shortcut.value.errors()]
            == [(e["loc"], e["type"]) for e in long_way.value.errors()])


def test_the_bytes_are_validated_as_they_are_only_when_no_float_needs_rewriting(monkeypatch) -> None:
    rewritten: list[object] = []
    real = bodies._integral_floats_as_ints
    monkeypatch.setattr(bodies, "_integral_floats_as_ints", lambda v: rewritten.append(v) or real(v))
    without = read_document(DOCUMENTS[0], 32, "the body")
    assert not without.has_float
    assert validate_strictly(MatchIn, without).threshold == 12 and rewritten == []
    with_float = read_document(DOCUMENTS[-1], 32, "the body")
    assert with_float.has_float
    assert validate_strictly(MatchIn, with_float).threshold == 29 and rewritten[0] == with_float.value
    nested = read_document(json.dumps(minimal_report(items=[{"kind": "hash_only", "hashes": {
        "md5": "0" * 32, "pdq_quality": 90.0}}])).encode(), 32, "the body")
    assert nested.has_float  # found however deep it is
    assert validate_strictly(ReportIn, nested).items[0].hashes.pdq_quality == 90


def test_the_checks_of_the_parse_come_before_any_validation() -> None:
    with pytest.raises(ApiError) as nul:
        read_document(b'{"hashes": [{"type": "pdq", "value": "a\\u0000"}]}', 32, "the body")
    assert nul.value.code == "nul_character"
    with pytest.raises(ApiError) as deep:
        read_document(b'{"hashes": [[[[1]]]]}', 3, "the body")
    assert deep.value.code == "json_too_deep"


def test_an_answer_is_written_as_json_dumps_wrote_it() -> None:
    answer = {"indicator_version": 7, "matched": 1, "results": [
        {"index": 0, "type": "pdq", "status": "ok", "value": PDQ, "matches": [
            {"indicator_id": 3, "distance": 2, "classification": {"note": "démo — 例", "score": 0.25,
                                                                  "flags": [True, False, None]}}]}],
        "databases": ["known_indicators"], "grants": [1]}
    response = _rendered(answer)
    assert response.headers["content-type"] == "application/json"
    assert response.body == json.dumps(answer, ensure_ascii=False, allow_nan=False,
                                       separators=(",", ":")).encode("utf-8")
    # A float that is not a number cannot be JSON: written null, not the invalid NaN.
    assert _rendered({"x": float("nan")}).body == b'{"x":null}'


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_hundred_hash_match_answers_in_compact_json(client, balise) -> None:
    _, key = make_provider(balise, scopes=(Scope.MATCH,))
    body = {"hashes": [{"type": "pdq", "value": f"{i:064x}"} for i in range(100)]}
    r = client.post("/api/v1/match", headers=auth(key), json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    answer = r.json()
    assert [x["index"] for x in answer["results"]] == list(range(100))
    assert r.content == json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
