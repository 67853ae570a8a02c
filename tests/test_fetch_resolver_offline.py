"""With BALISE_FETCH_RESOLVER=static no DNS query leaves the machine: a name outside the
fixed table is an error (never taken for a removal), a name in it goes to its address."""

from __future__ import annotations

import pytest

from balise.container import Balise
from tests.conftest import make_settings
from tests.takedown_support import demo_site


def test_an_unlisted_name_is_not_resolved_and_is_not_a_removal(tmp_path, sqlite_template) -> None:
    app = Balise(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    fetched = app.fetcher.fetch("https://provider.demo.invalid/media/1.jpg")
    assert fetched.outcome == "error" and "dns_disabled" in fetched.detail


def test_a_listed_name_reaches_its_loopback_address(tmp_path) -> None:
    with demo_site() as site:
        url = site.serve("/a.jpg", b"DEMO bytes", "image/jpeg").replace("127.0.0.1", "demo-site.test")
        app = Balise(make_settings(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite3'}", fetch_allow_networks="127.0.0.1/32",
                                   fetch_static_hosts="demo-site.test=127.0.0.1"))
        fetched = app.fetcher.fetch(url)
    assert (fetched.outcome, fetched.http_status, fetched.body, fetched.host) == \
        ("served", 200, b"DEMO bytes", "demo-site.test")
    assert site.hits == ["/a.jpg"]


@pytest.mark.parametrize("value", ["demo.test", "demo.test=not-an-ip", "=127.0.0.1"])
def test_a_malformed_static_table_is_refused(tmp_path, value) -> None:
    with pytest.raises(ValueError, match="name=address"):
        make_settings(tmp_path, "sqlite://", fetch_static_hosts=value)
