"""Too many reports or status lookups from one address get a friendly 429 page in the
reporter's language; the buckets are in memory and keyed by a hash, not by the address."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.public_support import lookup, receipt, submit


@pytest.fixture
def settings(tmp_path, db_url):
    """Low limits, as BALISE_PUBLIC_REPORT_RATE_LIMIT / BALISE_PUBLIC_STATUS_RATE_LIMIT set them."""
    return make_settings(tmp_path, db_url, public_report_rate_limit="2/hour", public_status_rate_limit="3/hour")


@pytest.fixture
def low_limits(settings):
    return settings


def test_too_many_reports_get_a_429_page_in_the_reporters_language(low_limits, client, balise):
    for n in range(2):
        assert submit(client, "fr", url=f"https://benign.example.test/{n}").status_code == 200
    r = submit(client, "fr", url="https://benign.example.test/3")
    assert r.status_code == 429
    assert '<html lang="fr">' in r.text and "Attends un peu" in r.text and "116 111" in r.text
    assert int(r.headers["retry-after"]) > 0
    from sqlalchemy import func, select

    from balise.adapters.db.models import Report

    with balise.db.sessions() as session:
        assert session.execute(select(func.count()).select_from(Report)).scalar_one() == 2


def test_too_many_status_lookups_get_a_429_even_with_the_right_secret(low_limits, client):
    number, secret = receipt(submit(client, "de", url="https://benign.example.test/s").text)
    for _ in range(3):
        assert lookup(client, number, "WRONG-WRONG", lang="de").status_code == 404
    r = lookup(client, number, secret, lang="de")
    assert r.status_code == 429 and "Bitte warte ein bisschen" in r.text


def test_buckets_are_memory_only_and_not_keyed_by_the_address(low_limits, client, monkeypatch):
    import balise.web.limits as limits

    made = []

    class Recording(limits.RateLimiter):
        def __init__(self, spec, storage_uri):
            made.append(storage_uri)
            super().__init__(spec, storage_uri)

        def hit(self, *identifiers):
            made.extend(identifiers)
            return super().hit(*identifiers)

    monkeypatch.setattr(limits, "RateLimiter", Recording)
    submit(client, "en", url="https://benign.example.test/k")
    assert "memory://" in made
    assert "testclient" not in made  # the test client's peer address is never a bucket name
    assert all("testclient" not in str(m) for m in made)


def test_the_429_page_in_english_says_how_long_to_wait_and_leads_back(low_limits, client):
    for n in range(2):
        assert submit(client, "en", url=f"https://benign.example.test/en/{n}").status_code == 200
    r = submit(client, "en", url="https://benign.example.test/en/3")
    assert r.status_code == 429 and r.headers["content-language"] == "en"
    assert '<html lang="en">' in r.text and "<h1>Please wait a little</h1>" in r.text
    minutes = max(1, (int(r.headers["retry-after"]) + 59) // 60)
    assert f"Please try again in {minutes} min." in r.text
    assert "Nothing is wrong with you or your report." in r.text
    assert '<a href="/report/en">Go back</a>' in r.text and "116 111" in r.text
