"""/ui/error-rates is for auditors and administrators only; it shows the figures the nightly
job stored, summed over the months chosen; a month that is not one, or a first month after the
last, is refused with a 400 page that says why."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings
from tests.error_rates_support import three_months
from tests.helpers import make_user, sign_in
from tests.page_words import check_words
from tests.takedown_support import Clock


@pytest.fixture
def app(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url), clock=Clock(datetime(2026, 12, 2, 9, tzinfo=timezone.utc)))
    three_months(app)
    with app.db.transaction() as session:
        app.error_rates.store_recent(session)
    yield app
    app.close()


def _pages(app, role, *queries):
    """The page for each query, as a new user of ``role`` signed in once (a TOTP code is
    accepted only once)."""
    make_user(app, "user", role)
    with TestClient(create_app(app), base_url="https://testserver") as client:
        sign_in(client, app, "user")
        return [client.get("/ui/error-rates", params=query) for query in queries]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_administrators_read_the_stored_figures(app, role):
    page, october = _pages(app, role, {}, {"since": "2026-10", "until": "2026-10"})
    assert page.status_code == 200
    text = check_words(page.text, "error rates", ("md5", "pdq:21-31", "provider_flag"))
    # September to November: 12 confirmed, 3 overturned, 0 could not assess, 1 not decided.
    assert re.search(r"exact hash: MD5\s+12\s+3\s+0\s+1\s+20\.0\s%\s+7\.0\s% to 45\.2\s%", text)
    assert re.search(r"PDQ, distance 21 to 31\s+3\s+2\s+0\s+0\s+not enough decisions \(5 of the 10 needed\)", text)
    only_october = check_words(october.text, "october", ())
    assert re.search(r"exact hash: MD5\s+4\s+1\s+0\s+0\s+not enough decisions", only_october)


@pytest.mark.parametrize("role", ["analyst", "senior-analyst", "le-liaison"])
def test_other_staff_are_refused(app, role):
    assert _pages(app, role, {})[0].status_code == 403


def test_nobody_signed_in_is_sent_to_sign_in(app):
    with TestClient(create_app(app), base_url="https://testserver") as client:
        assert client.get("/ui/error-rates", follow_redirects=False).status_code in (303, 401)


BAD = [
    ({"since": "2026-13"}, "From: 2026-13 is not a month such as 2026-07"),
    ({"until": "next month"}, "To: next month is not a month such as 2026-07"),
    ({"since": "2026-11", "until": "2026-09"}, "The first month (2026-11) is after the last (2026-09)."),
    ({"since": "2000-01", "until": "2026-09"}, "Choose at most 120 months."),
]


def test_each_kind_of_bad_month_is_refused_and_said(app):
    for (params, message), page in zip(BAD, _pages(app, "auditor", *(params for params, _ in BAD)), strict=True):
        assert page.status_code == 400, params
        assert message in check_words(page.text, f"bad month {params}", ()), params
