"""Found by schemathesis: the API coerced values of the wrong JSON type (pydantic's lax mode),
so `"threshold": false` matched with threshold 0 although the document says integer. Now a
value must be of its declared JSON type; a number is a number however written (`29.0`)."""

from __future__ import annotations

import pytest

from balise.domain.model import Scope
from tests.helpers import auth, make_provider, minimal_report

MD5 = "0" * 32


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_value_of_the_wrong_json_type_is_refused_naming_the_field(client, balise):
    _, key = make_provider(balise, scopes=(Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH))
    for threshold in (False, "5", [5]):
        r = client.post("/api/v1/match", headers=auth(key), json={"hashes": [{"type": "md5", "value": MD5}],
                                                                  "threshold": threshold})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "threshold", (threshold, r.text)
    for field, value in (("content_removed", "true"), ("content_removed", 1), ("urgent", "yes")):
        r = client.post("/api/v1/reports", headers=auth(key), json=minimal_report(**{field: value}))
        assert r.status_code == 422 and r.json()["error"] == "invalid_report", (field, value)
        assert [f["field"] for f in r.json()["fields"]] == [field]
    filed = client.post("/api/v1/reports", headers=auth(key), json=minimal_report()).json()
    r = client.patch(f"/api/v1/reports/{filed['id']}", headers=auth(key), json={"content_removed": "false"})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "content_removed"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_numbers_are_numbers_however_written(client, balise):
    _, key = make_provider(balise, scopes=(Scope.REPORTS_WRITE, Scope.MATCH))
    r = client.post("/api/v1/match", headers=auth(key),
                    json={"hashes": [{"type": "md5", "value": MD5}], "threshold": 29.0})
    assert r.status_code == 200
    r = client.post("/api/v1/match", headers=auth(key),
                    json={"hashes": [{"type": "md5", "value": MD5}], "threshold": 29.5})
    assert r.status_code == 422
    report = minimal_report(geolocation={"latitude": 45, "longitude": 2.5},
                            items=[{"kind": "hash_only", "hashes": {"md5": MD5, "pdq_quality": 90.0}}])
    assert client.post("/api/v1/reports", headers=auth(key), json=report).status_code == 201
