"""Hostile and broken XML sent to /ispws/submit and /ispws/fileinfo is refused with a precise
code and description, fetches nothing, expands nothing and stores nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from balise.adapters.db.models import IspwsReport, VaultObject
from tests.ispws_support import (
    basic,
    code,
    description,
    file_details,
    fileinfo,
    make_ispws_provider,
    minimal_report,
    open_report,
    rich_report,
    upload_ok,
    demo_jpeg,
)


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def nothing_stored(balise) -> None:
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsReport)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(VaultObject)).scalar_one() == 0
    assert not list(balise.settings.vault_path.rglob("*.blv"))


def refused(client, auth, body: bytes, expected: int, fragment: str, headers: dict[str, str] | None = None):
    r = client.post("/ispws/submit", content=body, headers={**auth, "Content-Type": "text/xml", **(headers or {})})
    assert code(r) == expected, r.text
    assert fragment in description(r), description(r)
    return r


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leak 'LEAKED-FROM-LISTENER'>")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_not_well_formed_is_4110_with_the_parser_message(client, balise, auth):
    r = refused(client, auth, b"<report><incidentSummary></report>", 4110, "not well-formed XML")
    assert r.status_code == 400 and "line 1" in description(r)
    nothing_stored(balise)


def test_empty_body_is_4110(client, balise, auth):
    refused(client, auth, b"  \n", 4110, "the body is empty")
    nothing_stored(balise)


def test_wrong_namespace_is_4100(client, balise, auth):
    body = rich_report().replace("<report>", '<report xmlns="urn:example:other">').encode()
    r = refused(client, auth, body, 4100, 'is in namespace "urn:example:other"')
    assert r.status_code == 422
    nothing_stored(balise)


def test_prefixed_child_in_another_namespace_is_4100(client, balise, auth):
    body = minimal_report().replace("<reporter>", '<x:reporter xmlns:x="urn:example:x">').replace(
        "</reporter>", "</x:reporter>").encode()
    refused(client, auth, body, 4100, "{urn:example:x}reporter")
    nothing_stored(balise)


def test_file_details_sent_to_submit_is_4100(client, balise, auth):
    refused(client, auth, file_details(1, "abc").encode(), 4100, "expected a <report> document, got <fileDetails>")
    nothing_stored(balise)


def test_schema_errors_are_4100_with_the_line_and_the_schema_message(client, balise, auth):
    body = minimal_report("Something Else").encode()
    r = refused(client, auth, body, 4100, "line 4: Element 'incidentType'")
    assert "is not an element of the set" in description(r)
    refused(client, auth, minimal_report().replace("<reporter>\n    <reportingPerson/>\n  </reporter>", "").encode(),
            4100, "Missing child element(s). Expected is one of ( internetDetails, lawEnforcement, reporter )")
    refused(client, auth, minimal_report().replace("2026-11-23T10:00:00Z", "yesterday").encode(),
            4100, "'yesterday' is not a valid value of the atomic type 'xs:dateTime'")
    nothing_stored(balise)


def test_external_file_entity_is_refused_and_not_read(client, balise, auth):
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE report [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>
<report><incidentSummary><incidentType>&passwd;</incidentType></incidentSummary></report>"""
    r = refused(client, auth, body, 4110, "a DOCTYPE is not allowed")
    assert b"root:" not in r.content
    nothing_stored(balise)


def test_network_entities_and_external_dtds_are_never_fetched(client, balise, auth, listener):
    base, seen = listener
    for body in (
        f'<!DOCTYPE report [<!ENTITY x SYSTEM "{base}/entity">]><report>&x;</report>',
        f'<!DOCTYPE report [<!ENTITY % p SYSTEM "{base}/parameter"> %p;]><report>&leak;</report>',
        f'<?xml version="1.0"?><!-- DEMO --><!DOCTYPE report SYSTEM "{base}/external.dtd"><report/>',
        f'<?xml version="1.0"?>\n<?demo pi?>\n<!doctype report SYSTEM "{base}/lowercase.dtd"><report/>',
    ):
        r = refused(client, auth, body.encode(), 4110, "DOCTYPE")
        assert b"LEAKED" not in r.content
    assert seen == []
    nothing_stored(balise)


def test_billion_laughs_is_refused_without_expanding(client, balise, auth):
    entities = '<!ENTITY l0 "ha">' + "".join(
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE report [{entities}]><report>&l9;</report>'.encode()
    r = refused(client, auth, body, 4110, "a DOCTYPE is not allowed")
    assert len(r.content) < 2000
    nothing_stored(balise)


def test_document_over_the_byte_limit_is_refused_before_parsing(client, balise, auth):
    limit = balise.settings.ispws_max_xml_bytes
    huge = minimal_report().replace("</report>", f"<additionalInfo>{'D' * limit}</additionalInfo></report>").encode()
    r = refused(client, auth, huge, 4000, f"exceeds the limit of {limit} bytes")
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield huge[: limit // 2]
        yield huge[limit // 2:]

    # Without Content-Length (chunked), the body is cut off as soon as it passes the limit.
    r = client.post("/ispws/submit", content=chunks(), headers={**auth, "Content-Type": "text/xml"})
    assert r.status_code == 413 and code(r) == 4000
    nothing_stored(balise)


def test_json_is_refused_with_415(client, balise, auth):
    r = client.post("/ispws/submit", content=b"{}", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 415 and code(r) == 4000 and "text/xml or application/xml" in description(r)
    nothing_stored(balise)


def test_file_details_get_the_same_checks(client, balise, auth):
    report_id = open_report(client, auth)
    file_id = upload_ok(client, auth, report_id, demo_jpeg(4))
    r = fileinfo(client, auth, b'<!DOCTYPE fileDetails [<!ENTITY x SYSTEM "file:///etc/passwd">]><fileDetails>&x;</fileDetails>')
    assert code(r) == 4110 and b"root:" not in r.content
    r = fileinfo(client, auth, minimal_report())
    assert code(r) == 4100 and "expected a <fileDetails> document, got <report>" in description(r)
    r = fileinfo(client, auth, file_details(report_id, file_id, classification="C9"))
    assert code(r) == 4100 and "industryClassification" in description(r)
    with balise.db.sessions() as session:
        staged = session.get(IspwsReport, report_id)
        assert staged.files[0].details_object is None
