"""The per-report-number limit on status lookups (BALISE_PUBLIC_NUMBER_RATE_LIMIT) bounds the
guesses at one report's secret. The lookup accepts the number typed many ways — spaces,
dashes, dots, lower case, with or without "BAL" — so the limit counts them all as the same
report; text that is no report number at all only counts against the address."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.public_support import lookup, receipt, status_text, submit


@pytest.fixture
def settings(tmp_path, db_url):
    # A generous per-address limit, so that only the per-number one can refuse.
    return make_settings(tmp_path, db_url, public_number_rate_limit="3/hour", public_status_rate_limit="1000/hour")


def spellings(number: str) -> list[str]:
    core = number.removeprefix("BAL-").replace("-", "")
    first, second = core[:4], core[4:]
    return [f"bal {first.lower()} {second.lower()}", f"B.A.L.{first}-{second}", f"{first}-{second}",
            f" {first.lower()}{second} "]


def test_differently_typed_numbers_of_one_report_share_one_limit(client):
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/limit").text)
    typed = spellings(number)
    for attempt in typed[:3]:
        assert lookup(client, attempt, "WRONG-WRONG-WRONG-WRONG").status_code == 404
    # The right secret with a fourth spelling: the report's budget is spent.
    r = lookup(client, typed[3], secret)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert status_text(r.text) is None


def test_another_report_keeps_its_own_budget(client):
    first, _ = receipt(submit(client, "en", url="https://benign.example.test/first").text)
    second, secret = receipt(submit(client, "en", url="https://benign.example.test/second").text)
    for attempt in spellings(first)[:3]:
        assert lookup(client, attempt, "WRONG-WRONG-WRONG-WRONG").status_code == 404
    assert lookup(client, spellings(first)[3], "WRONG-WRONG-WRONG-WRONG").status_code == 429
    r = lookup(client, spellings(second)[0], secret)
    assert r.status_code == 200 and status_text(r.text) == "Received"


def test_text_that_is_no_report_number_does_not_fill_a_shared_bucket(client):
    # Each of these normalises to no number: none may lock the others (or anyone) out.
    for junk in ("hello", "???", "12", "not a number at all", "BAL"):
        assert lookup(client, junk, "WRONG-WRONG-WRONG-WRONG").status_code == 404
    number, secret = receipt(submit(client, "en", url="https://benign.example.test/after-junk").text)
    assert lookup(client, number, secret).status_code == 200
