"""The reference of ``/ispws`` (docs/ncmec-api.md): its endpoints and its response codes, as
data. The two tables of the page are generated from here, and a test checks that the page holds
them as generated, that the endpoints are exactly the routes of the application and that every
response code is listed with the HTTP status it is sent with.

Regenerate the page after a change: ``python -m balise.web.ispws.reference docs/ncmec-api.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from balise.domain.ispws import DESCRIPTIONS, Code


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /ispws
    request: str
    answer: str


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/status", "—",
             "`reportResponse`, code 0, description `Remote User : <user name>, Remote Ip : <address>` (the "
             "address of the TCP peer: behind a reverse proxy, the proxy's)"),
    Endpoint("GET", "/xsd", "—", "the schema (`application/xml`), byte for byte NCMEC's `report.xsd`"),
    Endpoint("POST", "/submit", "one `<report>` document (body, `text/xml` or `application/xml`)",
             "`reportResponse` with `reportId` (an integer)"),
    Endpoint("POST", "/upload", "`multipart/form-data`: `id` (the report id) and `file` (one file part)",
             "`reportResponse` with `reportId`, `fileId` and `hash` (the file's MD5)"),
    Endpoint("POST", "/fileinfo", "one `<fileDetails>` document naming `reportId` and `fileId`",
             "`reportResponse` with `reportId` and `fileId`"),
    Endpoint("POST", "/finish", "form field `id` (`application/x-www-form-urlencoded` or `multipart/form-data`)",
             "`reportDoneResponse` with `reportId` and every `fileId`"),
    Endpoint("POST", "/retract", "form field `id`",
             "`reportResponse` with `reportId`; the report is cancelled and its XML and files deleted"),
)


@dataclass(frozen=True)
class CodeUse:
    statuses: str  # the HTTP statuses sent with the code, in words ("500, 422 or 409")
    when: str


CODES: dict[Code, CodeUse] = {
    Code.SUCCESS: CodeUse("200", ""),
    Code.SERVER_ERROR: CodeUse("500", "an unexpected failure (e.g. the database is unreachable); the description "
                                      "quotes the Request-ID"),
    Code.SAVE_FAILED: CodeUse("500", "the vault could not store the `<report>`; nothing was opened"),
    Code.UPLOAD_FAILED: CodeUse("500", "the vault could not store the file; nothing was kept"),
    Code.UPLOAD_REFUSED: CodeUse("413", "the file is over `BALISE_MAX_FILE_BYTES`, or the report would hold more "
                                        "than `BALISE_MAX_ITEMS_PER_REPORT` items (its files plus its http(s) URLs)"),
    Code.NOT_FOUND: CodeUse("404", "no such endpoint under `/ispws`"),
    Code.UPDATE_FAILED: CodeUse("500, 422 or 409", "the vault could not store the `<fileDetails>` (500); the staged "
                                                   "report cannot be filed (422, the description says why; it stays "
                                                   "open); a file or file details arrived while it was being "
                                                   "finished (409: nothing was filed, finish again)"),
    Code.AUTHENTICATION_REQUIRED: CodeUse(
        "401 (`WWW-Authenticate: Basic`) or 429",
        "no credentials, not Basic, malformed (including a NUL character), unknown user name or wrong password (the "
        "last two get the same answer); 429 with `Retry-After` once the client address is over "
        "`BALISE_ISPWS_AUTH_FAILURE_LIMIT` failed attempts (see Limits)"),
    Code.NOT_AUTHORIZED: CodeUse("403", "the right password of a revoked credential, or of an organisation "
                                      "suspended with `balise org suspend` (the description says which, and since when)"),
    Code.REPORT_NOT_AUTHORIZED: CodeUse("403", "the report belongs to another organisation"),
    Code.FILE_NOT_AUTHORIZED: CodeUse("403", "the `fileId` in `<fileDetails>` belongs to another organisation"),
    Code.INVALID_REQUEST: CodeUse(
        "400, 405, 409, 413, 415 or 429",
        "form field `id` missing, repeated or not a positive integer (400); wrong method (405, with `Allow`); "
        "details of a file already sent (409); body over the limit (413); a body that is neither XML nor a form "
        "(415); over the credential's rate limit (429, with `Retry-After`)"),
    Code.VALIDATION_FAILED: CodeUse("422", "the document does not follow the schema (the description lists up to "
                                           "five schema errors with their line), is not the expected root element, "
                                           "or is in a namespace (CyberTipline documents have none)"),
    Code.MALFORMED_XML: CodeUse("400", "empty, not well-formed (the parser's message with line and column), an "
                                       "encoding problem (see Safe XML), or has a DOCTYPE"),
    Code.MALFORMED_FILE: CodeUse("400", "upload not `multipart/form-data`, no boundary, no `file` part, more than "
                                        "one file, unexpected fields, an empty file; 422 when the file name or "
                                        "content type holds a NUL character, which cannot be stored"),
    Code.NO_SUCH_REPORT: CodeUse("404", "unknown report id; or a report deleted unfinished at its deadline (or past "
                                        "it and about to be)"),
    Code.NO_SUCH_FILE: CodeUse("404", "unknown `fileId`, or one of another of your reports"),
    Code.ALREADY_RETRACTED: CodeUse("409", "any change to, or finish of, a retracted report"),
    Code.ALREADY_FINISHED: CodeUse("409", "any change to, finish or retraction of a finished report"),
}


def endpoints_table() -> str:
    rows = ["| endpoint | request | success answer |", "|---|---|---|"]
    rows += [f"| `{e.method} /ispws{e.path}` | {e.request} | {e.answer} |" for e in ENDPOINTS]
    return "\n".join(rows)


def codes_table() -> str:
    rows = ["| code | meaning (the default `responseDescription`) | HTTP | when |", "|---|---|---|---|"]
    rows += [f"| {int(code)} | {DESCRIPTIONS[code]} | {use.statuses} | {use.when} |"
             for code, use in CODES.items()]
    return "\n".join(rows)


@dataclass(frozen=True)
class FieldSource:
    field: str
    xml: str  # what the CyberTipline document gives
    defaults: str  # the provider's report defaults (intake/report_defaults.py)
    otherwise: str


#: Where each Annex III field NCMEC's format may lack comes from, in order of precedence.
FIELD_SOURCES: tuple[FieldSource, ...] = (
    FieldSource("2 electronic signature (`signature`)", "—", "`signature`",
                "missing: the provider `PATCH`es, or staff complete"),
    FieldSource("9 awareness (`awareness`)", "—", "`awareness` (`source`, `detail`)", "as above"),
    FieldSource("10 reported elsewhere (`reported_elsewhere`)", "—",
                "`reported_elsewhere` (`reported`, `body`, `reference`)", "as above"),
    FieldSource("11 content removed (`content_removed`)", "—", "`content_removed`", "as above"),
    FieldSource("12 decision on the user (`user_decision`)",
                "`accountPermanentlyDisabled` / `accountTemporarilyDisabled` (row 12 above)",
                "`user_decision` (only when the XML says nothing)", "as above"),
    FieldSource("1 contact point, 7 type", "the XML (rows 1 and 7 above)", "—", "as above"),
)


def fields_table() -> str:
    rows = ["| Annex III field | 1. the CyberTipline XML | 2. the provider's report defaults | 3. otherwise |",
            "|---|---|---|---|"]
    rows += [f"| {f.field} | {f.xml} | {f.defaults} | {f.otherwise} |" for f in FIELD_SOURCES]
    return "\n".join(rows)


SECTIONS = {"endpoints": endpoints_table, "codes": codes_table, "fields": fields_table}


def begin(name: str) -> str:
    return f"<!-- generated: {name} (python -m balise.web.ispws.reference docs/ncmec-api.md) -->"


def end(name: str) -> str:
    return f"<!-- end of generated: {name} -->"


def render(page: str) -> str:
    """``page`` with each generated section replaced by its current text."""
    for name, make in SECTIONS.items():
        start, stop = begin(name), end(name)
        head, found, rest = page.partition(start)
        if not found or stop not in rest:
            raise ValueError(f"the page has no section {name!r} between {start} and {stop}")
        page = head + start + "\n" + make() + "\n" + stop + rest.partition(stop)[2]
    return page


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/ncmec-api.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
