"""A public report's Annex III time stamp comes from the container's clock, like every other
time Balise records, not from the web process's wall clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from balise.container import Balise
from tests.public_support import receipt, stored, submit

FIXED = datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


@pytest.fixture
def balise(settings):
    app = Balise(settings, clock=lambda: FIXED)
    yield app
    app.close()


def test_reported_at_is_the_container_clock(client, balise):
    number, _ = receipt(submit(client, "en", url="https://benign.example.test/clock").text)
    row, report = stored(balise, number)
    assert report.provider_reported_at == FIXED
    assert report.created_at == FIXED and row.created_at == FIXED
