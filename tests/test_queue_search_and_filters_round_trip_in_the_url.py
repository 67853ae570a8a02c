"""The queue analysts work from: search by report id (full or the short id shown), report
number, provider, URL and hash; filters kept in the query string, shown again in the form and
in the page's own link; short ids with the full id to copy. Bad input (a malformed hash, an
overlong search, a NUL, an unknown state) is answered with a precise message, never a 500."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from balise.adapters.db.models import Item, Organisation, PublicReport, Report
from balise.demo import demo_image
from tests.exposure_support import analyst, file_report, report_items, workbench
from tests.helpers import make_provider


def _listed(page: str) -> set[str]:
    return set(re.findall(r'href="/ui/reports/([0-9a-f-]{36})"', page))


@pytest.fixture
def queue(tmp_path, db_url):
    """Two providers' reports in the queue: one picture each; the second also a reported URL."""
    with workbench(tmp_path, db_url) as (balise, clock, key):
        first, _ = file_report(balise, key, [("a.jpg", demo_image(71, (640, 480)), "image/jpeg")])
        other_org, other_key = make_provider(balise, "Harbour Hosting Ltd")
        second, _ = file_report(balise, other_key, [("b.jpg", demo_image(72, (640, 480)), "image/jpeg")])
        with balise.db.transaction() as s:
            s.add(Item(report_id=second, position=5, kind="url", url="https://pics.example.invalid/a_b%25/x.jpg"))
            s.execute(update(Organisation).where(Organisation.id == other_org).values(country="DE"))
            s.execute(update(Report).where(Report.id == second).values(urgent=True))
            s.add(PublicReport(report_id=first, number="B7K-42QX", secret_hash="0" * 64, language="en"))
        with analyst(balise, "ana") as ana:
            yield balise, ana, str(first), str(second)


def test_search_finds_a_report_by_id_number_provider_url_and_hash(queue):
    balise, ana, first, second = queue
    items = {r: report_items(balise, uuid.UUID(r)) for r in (first, second)}
    picture = items[second][0]
    searches = {
        first: first,  # the full id
        first[:8]: first,  # the short id the queue shows
        first.upper(): first,
        "b7k-42qx": first,  # a public report's number
        "harbour": second,  # part of the provider's name
        "pics.example.invalid/a_b%": second,  # part of a URL; % and _ are not wildcards
        picture.sha256: second,
        picture.md5.upper(): second,
        picture.sha1: second,
        picture.hashes["pdq"]: second,
    }
    for q, expected in searches.items():
        page = ana.get("/ui/queue", params={"q": q})
        assert page.status_code == 200, (q, page.text)
        assert _listed(page.text) == {expected}, q
    assert _listed(ana.get("/ui/queue", params={"q": "a_b_"}).text) == set()  # "_" is a character, not any one
    assert "No report matches this search." in ana.get("/ui/queue", params={"q": "nothing like it"}).text
    # Narrowed to one field.
    assert _listed(ana.get("/ui/queue", params={"q": "harbour", "field": "url"}).text) == set()
    assert _listed(ana.get("/ui/queue", params={"q": picture.sha256, "field": "hash"}).text) == {second}


def test_filters_stay_in_the_url_and_the_page_links_to_itself(queue):
    balise, ana, first, second = queue
    params = {"state": "in_assessment", "source": "provider_api", "urgent": "1", "country": "de", "q": "Harbour"}
    page = ana.get("/ui/queue", params=params).text
    assert _listed(page) == {second}
    # The form shows the view it answered.
    assert 'name="q" value="Harbour"' in page
    assert re.search(r'<option value="in_assessment" selected>', page)
    assert re.search(r'<option value="provider_api" selected>', page)
    assert re.search(r'name="urgent" value="1" checked', page) and 'name="country" value="DE"' in page
    # Its own link carries every filter; following it gives the same reports.
    href = re.search(r'href="(/ui/queue\?[^"]+)" id="view-link"', page).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {"state": ["in_assessment"], "source": ["provider_api"],
                                                       "country": ["DE"], "q": ["Harbour"], "urgent": ["1"]}
    assert _listed(ana.get(href).text) == {second}
    assert _listed(ana.get("/ui/queue", params={"country": "FR"}).text) == {first}
    assert _listed(ana.get("/ui/queue", params={"state": "all"}).text) == {first, second}
    assert _listed(ana.get("/ui/queue", params={"state": "forwarded_europol_only"}).text) == set()


def test_report_ids_are_short_with_the_whole_id_to_copy(queue):
    balise, ana, first, second = queue
    page = ana.get("/ui/queue").text
    for report in (first, second):
        assert f'<code class="short-id" title="{report}">{report[:8]}</code>' in page
        assert f'data-copy="{report}"' in page and f'title="{report}"' in page
        assert f">{report}<" not in page  # the whole id is not printed in the table


@pytest.mark.parametrize("params,message", [
    ({"q": "zz" * 16, "field": "hash"}, "A hash is written in hexadecimal (0-9 and a-f)"),
    ({"q": "ab" * 17, "field": "hash"}, "A hash has 32 characters (MD5), 40 (SHA-1) or 64 (SHA-256, PDQ); this one has 34."),
    ({"q": "x" * 201}, "A search is at most 200 characters long; this one has 201."),
    ({"q": "abc\x07"}, "The field search contains a control character."),
    ({"state": "shredded"}, "There is no report state “shredded”."),
    ({"source": "carrier_pigeon"}, "There is no source “carrier_pigeon”."),
    ({"country": "France"}, "A country is two letters"),
    ({"field": "password"}, "One can search by report, provider, URL or hash"),
    ({"q": "not-a-report-id-at-all", "field": "report"}, "A report id is its 36 characters"),
])
def test_bad_input_is_answered_precisely_and_never_500(queue, params, message):
    balise, ana, first, second = queue
    page = ana.get("/ui/queue", params=params)
    assert page.status_code == 400
    assert message in page.text.replace("&#34;", '"')
    assert _listed(page.text) == set() and "Traceback" not in page.text


def test_a_refused_search_is_shown_again_to_correct(queue):
    balise, ana, first, second = queue
    page = ana.get("/ui/queue", params={"q": "abc\x07def", "field": "hash"}).text
    assert 'name="q" value="abcdef"' in page and '<option value="hash" selected>' in page


@pytest.mark.parametrize("name", ["q", "state", "field"])
def test_a_nul_character_is_refused_naming_the_field(queue, name):
    balise, ana, first, second = queue
    page = ana.get("/ui/queue", params={name: "abc\x00"})
    # Refused by the guard in front of every route (web/forms.py), like a NUL in a form.
    assert page.status_code == 422 and f"The field '{name}' contains a NUL character" in page.text.replace("&#39;", "'")


def test_odd_but_valid_searches_answer_200(queue):
    balise, ana, first, second = queue
    for q in ("%", "_", "'; drop table reports; --", "é" * 200, "9" * 40, "99999999999999999999999", "ffff"):
        assert ana.get("/ui/queue", params={"q": q}).status_code == 200, q
