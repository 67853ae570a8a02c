"""BALISE_QUICK_EXIT_URL: a path on this service or an http(s) URL goes into the public pages'
Quick exit link; anything else (a script URL, a protocol-relative or bare address) is refused
at start with a message naming the setting."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from balise.container import Balise
from balise.web.app import create_app
from tests.conftest import make_settings


@pytest.mark.parametrize("url", ["/weather", "/news/today", "https://weather.example.org/", "http://127.0.0.1:9/x"])
def test_the_configured_target_is_the_links_href(tmp_path, db_url, url):
    balise = Balise(make_settings(tmp_path, db_url, quick_exit_url=url))
    try:
        with TestClient(create_app(balise)) as client:
            page = client.get("/report/en").text
    finally:
        balise.close()
    assert f'<a class="quick-exit" href="{url}" rel="noreferrer" data-quick-exit>Quick exit</a>' in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example", "weather", "", "ftp://x.example/"])
def test_anything_else_is_refused(tmp_path, db_url, url):
    with pytest.raises(ValidationError, match="BALISE_QUICK_EXIT_URL must be a path such as /weather or an http"):
        make_settings(tmp_path, db_url, quick_exit_url=url)


def test_the_default_neutral_page_says_nothing_about_reporting(client):
    page = client.get("/weather")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "report" not in page.text.lower() and "balise" not in page.text.lower()
