"""The OpenAPI document declares what the API really does: the Idempotency-Key header, every
status code with the one error shape, the headers of 201, 401 and 429, the request bodies of
the endpoints that read their body themselves; OPTIONS and 405 name every method of a path;
unknown API paths and non-JSON bodies get the API's error shape."""

from __future__ import annotations

import json
import uuid

import pytest

from balise.domain.model import Scope
from tests.helpers import auth, make_provider, minimal_report

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture
def document(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def _error_schema(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_api_operation_declares_its_errors_in_the_one_shape(document):
    expected = {
        ("post", "/api/v1/reports"): {"201", "400", "401", "403", "409", "413", "415", "422", "429"},
        ("get", "/api/v1/reports/{report_id}"): {"200", "400", "401", "403", "404", "422", "429"},
        ("patch", "/api/v1/reports/{report_id}"): {"200", "400", "401", "403", "404", "409", "413", "415", "422",
                                                   "429"},
        ("post", "/api/v1/match"): {"200", "400", "401", "403", "413", "415", "422", "429"},
        ("post", "/api/v1/hash"): {"200", "400", "401", "403", "413", "422", "429"},
    }
    for (method, path), statuses in expected.items():
        operation = document["paths"][path][method]
        assert set(operation["responses"]) == statuses, (method, path)
        for status in statuses - {"200", "201"}:
            assert _error_schema(operation, status) == ERROR, (method, path, status)
        assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]
        assert operation["responses"]["429"]["headers"]["Retry-After"]["schema"]["pattern"] == "^[0-9]+$"
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"error", "message"}
    assert {"fields", "missing"} <= set(error["properties"])
    assert "HTTPValidationError" not in json.dumps(document)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_headers_and_request_bodies_are_declared(document):
    file_report = document["paths"]["/api/v1/reports"]["post"]
    [key] = [p for p in file_report["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["schema"]["maxLength"] == 255
    headers = file_report["responses"]["201"]["headers"]
    assert {"Location", "Idempotent-Replayed"} <= set(headers)
    assert file_report["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FiledOut"}
    body = file_report["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/ReportIn"}
    assert body["multipart/form-data"]["schema"]["required"] == ["report"]
    assert body["multipart/form-data"]["schema"]["properties"]["report"]["$ref"] == "#/components/schemas/ReportIn"

    patch = document["paths"]["/api/v1/reports/{report_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ReportPatch"}
    match = document["paths"]["/api/v1/match"]["post"]
    assert match["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MatchIn"}
    schemas = document["components"]["schemas"]
    assert schemas["MatchIn"]["required"] == ["hashes"] and "HashIn" in schemas and "FrameIn" in schemas
    assert schemas["ReportPatch"]["additionalProperties"] is False
    assert {"bearer", "apiKey"} == set(document["components"]["securitySchemes"])
    assert document["paths"]["/healthz"]["get"]["security"] == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_options_and_405_name_every_method_of_the_path(client):
    report = f"/api/v1/reports/{uuid.uuid4()}"
    r = client.options(report)
    assert r.status_code == 204 and r.headers["allow"] == "GET, OPTIONS, PATCH"
    r = client.options("/api/v1/reports")
    assert r.status_code == 204 and r.headers["allow"] == "OPTIONS, POST"
    r = client.put(report, json={})
    assert r.status_code == 405 and r.headers["allow"] == "GET, OPTIONS, PATCH"
    assert r.json()["error"] == "method_not_allowed"
    r = client.delete("/api/v1/match")
    assert r.status_code == 405 and r.headers["allow"] == "OPTIONS, POST"
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_body_that_is_not_json_is_refused_with_415(client, balise):
    _, key = make_provider(balise, scopes=(Scope.REPORTS_WRITE, Scope.REPORTS_READ, Scope.MATCH))
    filed = client.post("/api/v1/reports", headers=auth(key), json=minimal_report())
    assert filed.status_code == 201
    body = json.dumps({"hashes": [{"type": "md5", "value": "0" * 32}]}).encode()
    for method, path in (("POST", "/api/v1/match"), ("PATCH", f"/api/v1/reports/{filed.json()['id']}")):
        for content_type in ("text/plain", None, "application/x-www-form-urlencoded"):
            headers = {**auth(key), **({"content-type": content_type} if content_type else {})}
            r = client.request(method, path, content=body, headers=headers)
            assert r.status_code == 415, (method, content_type, r.text)
            assert r.json()["error"] == "unsupported_media_type"
    r = client.post("/api/v1/match", content=body, headers={**auth(key), "content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200
    # Authentication comes first: a client without a key learns that, not the media type.
    assert client.post("/api/v1/match", content=body, headers={"content-type": "text/plain"}).status_code == 401

