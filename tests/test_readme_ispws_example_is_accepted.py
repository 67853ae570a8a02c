"""The README's NCMEC CyberTipline example works as written: its `/ispws` curl lines, read from
README.md, are replayed against the app with the files they name (docs/examples/), each answer
is code 0, and the finished report joins triage with nothing missing but what NCMEC's format
cannot carry. Then the README's completion request (`PATCH /api/v1/reports/<id>`, also read from
README.md) completes it and the report reaches the analysts' queue. A change to the README or
to the example files that breaks the copy-paste breaks this test."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import IspwsReport, Report
from balise.web.app import create_app
from tests.helpers import make_provider, make_user, sign_in
from tests.ispws_support import answer, basic, schema

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Report with an existing NCMEC CyberTipline client"
BASE = "http://127.0.0.1:8000"
# What the format has no element for (docs/ncmec-api.md, "Mapping to Annex III"): the example
# is as complete as NCMEC's format allows when these, and only these, are missing.
NOT_IN_NCMEC_FORMAT = ["signature", "reported_elsewhere", "awareness", "content_removed"]


@dataclass
class Curl:
    """One curl command of the README, as far as the README uses curl."""

    url: str
    method: str = "GET"
    user: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body_file: str | None = None
    data: str | None = None
    form: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        assert self.url.startswith(BASE + "/"), self.url
        return self.url[len(BASE):]


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, "the README lost its NCMEC CyberTipline section"
    start = text.index(SECTION) + len(SECTION)
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end]


def shell_commands(markdown: str) -> list[list[str]]:
    """The commands of the section's ```sh blocks, one word list per command; a command goes
    on over a trailing backslash or an open quote, as in a shell."""
    commands: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, flags=re.S):
        pending = ""
        for line in block.splitlines():
            pending += line + "\n"
            if line.endswith("\\"):
                pending = pending[:-2] + " "
                continue
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:
                continue  # inside a quoted string
            if words:
                commands.append(words)
            pending = ""
        assert not pending.strip(), f"unterminated command in the README: {pending!r}"
    return commands


def parse_curl(words: list[str]) -> Curl:
    assert words[0] == "curl", words
    urls = [w for w in words[1:] if w.startswith("http")]
    assert len(urls) == 1, words
    curl = Curl(url=urls[0])
    args = iter(words[1:])
    for word in args:
        if word == urls[0] or word == "-s":
            continue
        if word == "-u":
            curl.user = next(args)
        elif word == "-H":
            name, _, value = next(args).partition(":")
            curl.headers[name.strip()] = value.strip()
        elif word == "-X":
            curl.method = next(args)
        elif word == "--data-binary":
            value = next(args)
            assert value.startswith("@"), "the README sends a file"
            curl.body_file, curl.method = value[1:], "POST" if curl.method == "GET" else curl.method
        elif word == "-d":
            curl.data, curl.method = next(args), "POST" if curl.method == "GET" else curl.method
        elif word == "-F":
            name, _, value = next(args).partition("=")
            curl.form.append((name, value))
            curl.method = "POST"
        else:
            raise AssertionError(f"curl option the test does not know: {word} in {words}")
    return curl


def readme_curls() -> tuple[list[Curl], list[Curl]]:
    """(the /ispws curl commands, the /api/v1/reports/<id> curl commands) of the section."""
    curls = [parse_curl(words) for words in shell_commands(section()) if words[0] == "curl"]
    return ([c for c in curls if c.path.startswith("/ispws/")],
            [c for c in curls if c.path.startswith("/api/v1/reports/")])


def fill(value: str, values: dict[str, str]) -> str:
    for placeholder, real in values.items():
        value = value.replace(placeholder, real)
    assert "<" not in value and "$" not in value, f"a placeholder the test does not fill: {value}"
    return value


def send(client: TestClient, curl: Curl, values: dict[str, str], auth: dict[str, str]):  # type: ignore[no-untyped-def]
    """The request curl would send, through the TestClient: the same method, path, headers,
    body bytes, multipart parts (file name and type as curl sets them) and form fields."""
    headers = {name: fill(value, values) for name, value in curl.headers.items()}
    if curl.user is not None:
        assert curl.user == "$AUTH", curl.user
        headers.update(auth)
    kwargs: dict[str, object] = {}
    if curl.body_file is not None:
        kwargs["content"] = (ROOT / curl.body_file).read_bytes()
    elif curl.data is not None:
        if headers.get("Content-Type") == "application/json":
            kwargs["content"] = fill(curl.data, values).encode()
        else:
            name, _, value = curl.data.partition("=")
            kwargs["data"] = {name: fill(value, values)}
    elif curl.form:
        fields, files = {}, {}
        for name, value in curl.form:
            if value.startswith("@"):
                path = ROOT / value[1:]
                files[name] = (path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0])
            else:
                fields[name] = fill(value, values)
        kwargs.update(data=fields, files=files)
    return client.request(curl.method, fill(curl.path, values), headers=headers, **kwargs)


def test_the_readme_names_files_that_exist_and_a_schema_valid_demo_report():
    ispws, _ = readme_curls()
    assert [c.path.split("/")[2] for c in ispws] == ["submit", "upload", "finish"]
    named = [c.body_file for c in ispws if c.body_file] + [v[1:] for c in ispws for _, v in c.form if v.startswith("@")]
    assert named == ["docs/examples/report.xml", "docs/examples/demo-image.jpg"]
    for path in named:
        assert (ROOT / path).is_file(), f"the README sends {path}, which is not in the repository"
    document = etree.parse(str(ROOT / "docs/examples/report.xml"))
    assert schema().validate(document), schema().error_log
    assert "DEMO" in document.getroot().findtext("additionalInfo")


def test_the_readme_ispws_example_is_filed_and_completed_as_written(client, balise):
    ispws, completion = readme_curls()
    org_id, key = make_provider(balise, "DEMO Photos")
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, "DEMO Photos")
        issued = balise.ispws.issue_credential(session, Actor.system("test"), org)
    auth = basic(issued.username, issued.password)
    submit_, upload_, finish_ = ispws

    r = send(client, submit_, {}, auth)
    assert r.status_code == 200 and answer(r).findtext("responseCode") == "0", r.text
    report_id = answer(r).findtext("reportId")
    values = {"<reportId>": report_id}

    r = send(client, upload_, values, auth)
    assert r.status_code == 200 and answer(r).findtext("responseCode") == "0", r.text
    image = (ROOT / "docs/examples/demo-image.jpg").read_bytes()
    assert answer(r).findtext("hash") == hashlib.md5(image).hexdigest()
    file_id = answer(r).findtext("fileId")

    r = send(client, finish_, values, auth)
    assert r.status_code == 200, r.text
    done = answer(r)
    assert done.tag == "reportDoneResponse" and done.findtext("responseCode") == "0"
    assert done.findtext("reportId") == report_id and [f.text for f in done.find("files")] == [file_id]

    balise.run_jobs()
    with balise.db.sessions() as session:
        filed = session.get(IspwsReport, int(report_id)).report_id
        report = session.execute(select(Report).where(Report.id == filed)).scalar_one()
        assert report.source == "ncmec_xml" and report.organisation_id == org_id
        assert report.triaged_at is not None and report.state == "information_requested"
        # Everything the format can carry arrived: contact point, decision on the user, type.
        assert report.missing_fields == NOT_IN_NCMEC_FORMAT
        assert report.report_type == "new_csam" and report.user_decision == "terminate"
        assert (report.provider_contact or {})["contact_point"]["email"] == "trust-safety@photos.demo.invalid"
        assert [(i.kind, i.md5 or i.url) for i in report.items] == [
            ("media", hashlib.md5(image).hexdigest()), ("url", "https://photos.demo.invalid/p/demo-0001")]
        assert report.items[0].hash_status == "ok"

    # Where the README says staff find the Balise id of the report.
    make_user(balise, "ana", "analyst")
    with TestClient(create_app(balise), base_url="http://testserver") as staff:
        sign_in(staff, balise, "ana")
        queue = staff.get("/ui/queue", params={"state": "information_requested", "source": "ncmec_xml"})
        assert str(filed) in queue.text
        page = staff.get(f"/ui/reports/{filed}")
        assert f"Filed through the NCMEC-compatible API as CyberTipline report {report_id}." in page.text

    values = {"<id>": str(filed), "$KEY": key}
    reads = [c for c in completion if c.method == "GET"]
    patches = [c for c in completion if c.method == "PATCH"]
    assert len(reads) == 1 and len(patches) == 1, "the README reads the request, then completes the report"
    state = send(client, reads[0], values, auth).json()
    assert state["state"] == "information_requested" and state["missing_fields"] == NOT_IN_NCMEC_FORMAT
    assert state["information_request"] == "Please complete: " + ", ".join(NOT_IN_NCMEC_FORMAT)

    r = send(client, patches[0], values, auth)
    # As the README says: back to incomplete at once, the fields re-checked by the next triage.
    assert r.status_code == 200 and r.json()["state"] == "incomplete", r.text
    balise.run_jobs()
    state = send(client, reads[0], values, auth).json()
    assert state["state"] == "in_assessment" and state["missing_fields"] == [], state
