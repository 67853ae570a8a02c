"""An existing NCMEC client keeps working when its documents are not UTF-8: a correctly
declared ISO-8859-1, Windows-1252, Shift_JIS… document, or UTF-16 with its byte-order mark,
is accepted, stored byte for byte as received, and read with its own encoding. Bytes that are
not valid in the encoding the document states, statements of the encoding that disagree
(byte-order mark, XML declaration, HTTP charset), and encodings that are unknown or not
accepted are refused with 4110 saying which."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IspwsReport, Report, VaultObject
from tests.ispws_support import (
    basic,
    code,
    demo_jpeg,
    description,
    file_details,
    finish,
    make_ispws_provider,
    upload_ok,
)

INFO = "DEMO: café, Ærø, naïve — 5 € — ß"


@pytest.fixture
def auth(balise):
    _, user, password = make_ispws_provider(balise)
    return basic(user, password)


def report_text(encoding: str | None, info: str = INFO) -> str:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return f"""{declaration}
<report>
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2026-11-23T10:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter><reportingPerson/></reporter>
  <additionalInfo>{info}</additionalInfo>
</report>"""


def post(client, auth, path: str, body: bytes, content_type: str = "text/xml"):
    return client.post(path, content=body, headers={**auth, "Content-Type": content_type})


def nothing_stored(balise) -> None:
    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(IspwsReport)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(VaultObject)).scalar_one() == 0


ACCEPTED = [
    ("iso-8859-1", report_text("ISO-8859-1", "DEMO: café, Ærø, naïve — ß".replace("—", "-")).encode("latin-1"),
     "text/xml", "DEMO: café, Ærø, naïve - ß"),
    ("windows-1252", report_text("windows-1252").encode("cp1252"), "text/xml", INFO),
    ("utf-16-le-bom-declared", report_text("UTF-16").encode("utf-16-le"), "text/xml", INFO),
    ("utf-16-be-bom-undeclared", report_text(None).encode("utf-16-be"), "application/xml", INFO),
    ("utf-8-bom", codecs.BOM_UTF8 + report_text(None).encode(), "text/xml", INFO),
    ("shift-jis", report_text("Shift_JIS", "DEMO: 日本語のテキスト").encode("shift_jis"), "text/xml", "DEMO: 日本語のテキスト"),
    ("latin1-with-matching-charset", report_text("ISO-8859-1", "DEMO: café").encode("latin-1"),
     "text/xml; charset=iso-8859-1", "DEMO: café"),
    ("ascii-charset-for-ascii-utf8", report_text("UTF-8", "DEMO: plain").encode(), "text/xml; charset=us-ascii",
     "DEMO: plain"),
]


@pytest.mark.parametrize(("name", "body", "content_type", "text"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_a_correctly_declared_encoding_is_accepted_stored_as_sent_and_read_in_it(client, balise, auth, name, body,
                                                                                content_type, text):
    if name.startswith("utf-16"):
        bom = codecs.BOM_UTF16_LE if name.startswith("utf-16-le") else codecs.BOM_UTF16_BE
        body = bom + body
    r = post(client, auth, "/ispws/submit", body, content_type)
    assert r.status_code == 200 and code(r) == 0, r.text
    report_id = int(r.text.split("<reportId>")[1].split("<")[0])
    assert code(finish(client, auth, report_id)) == 0
    with balise.db.transaction() as session:
        staged = session.get(IspwsReport, report_id)
        stored = balise.evidence.read_all(session, staged.document_object, Actor.system("test"), "test")
        report = session.get(Report, staged.report_id)
        assert stored == body  # byte for byte, in its own encoding
        assert f"Additional information: {text}" in report.additional_info


def test_file_details_in_latin1_are_read_in_latin1(client, balise, auth):
    r = post(client, auth, "/ispws/submit", report_text("UTF-8").encode())
    report_id = int(r.text.split("<reportId>")[1].split("<")[0])
    file_id = upload_ok(client, auth, report_id, demo_jpeg(71))
    details = file_details(report_id, file_id).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
        "DEMO_original.jpg", "DEMO_été.jpg").encode("latin-1")
    assert code(post(client, auth, "/ispws/fileinfo", details)) == 0
    assert code(finish(client, auth, report_id)) == 0
    with balise.db.sessions() as session:
        report = session.get(Report, session.get(IspwsReport, report_id).report_id)
        assert [i.filename for i in report.items if i.kind == "media"] == ["DEMO_été.jpg"]


REFUSED = [
    ("invalid-windows-1252", report_text("windows-1252", "DEMO \x81").encode("latin-1"), "text/xml",
     "declares windows-1252 but is not valid windows-1252 (byte 0x81 at offset "),
    ("invalid-utf-8", b'<?xml version="1.0" encoding="UTF-8"?><report>\xff</report>', "text/xml",
     "declares UTF-8 but is not valid UTF-8 (byte 0xff at offset 46)"),
    ("undeclared-latin1", "<report>caf\xe9</report>".encode("latin-1"), "text/xml",
     "declares no encoding, so it must be UTF-8, and it is not valid UTF-8 (byte 0xe9 at offset 11)"),
    ("utf-16-bom-declares-latin1", codecs.BOM_UTF16_LE + report_text("ISO-8859-1").encode("utf-16-le"), "text/xml",
     'begins with a UTF-16 byte-order mark but declares encoding="ISO-8859-1"'),
    ("utf-8-bom-declares-latin1", codecs.BOM_UTF8 + report_text("ISO-8859-1", "DEMO").encode(), "text/xml",
     'begins with a UTF-8 byte-order mark but declares encoding="ISO-8859-1"'),
    ("utf-16-without-bom", report_text("UTF-16").encode("utf-16-le"), "text/xml",
     "UTF-16 without a byte-order mark; a UTF-16 document must begin with one"),
    ("declares-utf-16-in-ascii", report_text("UTF-16", "DEMO").encode(), "text/xml",
     'declares encoding="UTF-16" but has no UTF-16 byte-order mark'),
    ("invalid-utf-16", codecs.BOM_UTF16_LE + report_text("UTF-16").encode("utf-16-le")[:-20] + b"\x00\xdc" + b"<\x00",
     "text/xml", "(UTF-16 by its byte-order mark) is not valid UTF-16 (byte 0x"),
    ("utf-32", report_text("UTF-32").encode("utf-32"), "text/xml", "UTF-32, which is not accepted"),
    ("unknown", b'<?xml version="1.0" encoding="klingon"?><report/>', "text/xml",
     'declares encoding="klingon", which is not a known encoding'),
    ("not-an-encoding-name", b'<?xml version="1.0" encoding="../../etc"?><report/>', "text/xml",
     'declares encoding="../../etc", which is not a known encoding'),
    ("utf-7", report_text("UTF-7", "DEMO").encode(), "text/xml", 'declares encoding="UTF-7", which is not accepted'),
    ("ebcdic", report_text("IBM500", "DEMO").encode(), "text/xml", 'declares encoding="IBM500", which is not accepted'),
    ("charset-says-latin1-of-utf8", report_text("UTF-8").encode(), "text/xml; charset=iso-8859-1",
     "Content-Type says charset=iso-8859-1 but the document is UTF-8 as it declares"),
    ("charset-says-utf8-of-latin1", report_text("ISO-8859-1", "DEMO: café").encode("latin-1"),
     "text/xml; charset=utf-8", "Content-Type says charset=utf-8 but the document is ISO-8859-1 as it declares"),
    ("charset-says-latin1-undeclared", report_text(None, "DEMO").encode(), "application/xml; charset=ISO-8859-1",
     "Content-Type says charset=ISO-8859-1 but the document is UTF-8, since it declares no encoding"),
    ("charset-unknown", report_text("UTF-8").encode(), "text/xml; charset=klingon",
     "Content-Type says charset=klingon, which is not a known encoding"),
    ("charset-ascii-of-non-ascii", report_text("UTF-8").encode(), "text/xml; charset=us-ascii",
     "Content-Type says charset=us-ascii but the document is UTF-8 as it declares"),
]


@pytest.mark.parametrize(("name", "body", "content_type", "fragment"), REFUSED, ids=[r[0] for r in REFUSED])
def test_wrong_bytes_disagreeing_statements_and_unaccepted_encodings_are_4110(client, balise, auth, name, body,
                                                                             content_type, fragment):
    r = post(client, auth, "/ispws/submit", body, content_type)
    assert r.status_code == 400 and code(r) == 4110, r.text
    assert fragment in description(r), description(r)
    nothing_stored(balise)
