"""Every redirect hop is checked like a new URL: followed within the limit, refused when it
points somewhere forbidden (before connecting), loops and long chains stopped."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from balise.takedown.adapters.fetcher import FetchRefused, StaticResolver, classify
from tests.fetch_server import PNG, ConnectionCounter, loopback_fetcher, serving


def _to(server, location: str, status: int = 302) -> str:
    return f"{server.base}/to?status={status}&location={quote(location, safe='')}"


def test_redirect_chain_is_followed_and_every_hop_recorded():
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/chain/3")
    assert result.body == PNG and result.final_url == f"{server.base}/image.png"
    assert [(h.url.removeprefix(server.base), h.status, h.location.removeprefix(server.base) if h.location else None)
            for h in result.hops] == [
        ("/chain/3", 302, "/chain/2"), ("/chain/2", 302, "/chain/1"), ("/chain/1", 302, "/chain/0"),
        ("/chain/0", 302, "/image.png"), ("/image.png", 200, None)]
    assert all(h.address == "127.0.0.1" for h in result.hops)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_each_redirect_status_is_followed(status):
    with serving() as server:
        result = loopback_fetcher().fetch(_to(server, "/image.png", status))
    assert result.status == 200 and result.hops[0].status == status


@pytest.mark.parametrize(("location", "address", "category"), [
    ("http://10.0.0.1/admin", "10.0.0.1", "private"),
    ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe", "metadata"),
    ("http://0x0a.1/", "10.0.0.1", "private"),
])
def test_redirect_to_a_forbidden_address_is_refused_before_connecting(location, address, category):
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(_to(server, location))
    error = caught.value
    assert (error.code, error.address, error.category) == ("private_address", address, category)
    assert len(error.hops) == 1 and error.hops[0].status == 302
    assert error.url.startswith("http://")


def test_redirect_to_a_private_name_is_refused_without_connecting():
    listener = ConnectionCounter("127.0.0.2")
    resolver = StaticResolver({"intranet.example.test": ["127.0.0.2"]})
    try:
        with serving() as server:
            with pytest.raises(FetchRefused) as caught:
                loopback_fetcher(resolver).fetch(_to(server, f"http://intranet.example.test:{listener.port}/"))
    finally:
        listener.close()
    assert caught.value.code == "private_address" and listener.accepted == 0
    assert resolver.calls == {"intranet.example.test": 1}


@pytest.mark.parametrize(("location", "code"), [
    ("ftp://files.example.test/x", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("http://user:pw@example.test/", "userinfo"),
    ("http://xn--zz.example.test/", "idna"),
])
def test_redirect_to_a_bad_url_is_refused(location, code):
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(_to(server, location))
    assert caught.value.code == code and len(caught.value.hops) == 1


def test_redirect_to_an_overlong_url_is_refused():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(f"{server.base}/long-redirect?length=8300")
    assert caught.value.code == "too_long" and len(caught.value.hops) == 1


def test_redirect_loop_is_detected():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(f"{server.base}/loop-a")
    assert caught.value.code == "redirect_loop"
    assert [h.url.removeprefix(server.base) for h in caught.value.hops] == ["/loop-a", "/loop-b"]
    assert server.hits["/loop-a"] == 1


def test_too_many_redirects_are_refused_at_the_limit():
    with serving() as server:
        ok = loopback_fetcher(max_redirects=4).fetch(f"{server.base}/chain/3")   # 4 redirects
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher(max_redirects=4).fetch(f"{server.base}/chain/4")   # 5 redirects
    assert ok.status == 200
    assert caught.value.code == "too_many_redirects" and "more than 4" in caught.value.message
    assert len(caught.value.hops) == 5 and classify(caught.value).state == "error"


def test_no_redirect_allowed_when_the_limit_is_zero():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher(max_redirects=0).fetch(f"{server.base}/chain/0")
    assert caught.value.code == "too_many_redirects"


def test_relative_and_backslash_locations_resolve_like_a_browser():
    with serving() as server:
        relative = loopback_fetcher().fetch(_to(server, "../image.png"))
        backslashes = loopback_fetcher().fetch(_to(server, "\\image.png"))
    assert relative.final_url == backslashes.final_url == f"{server.base}/image.png"


def test_redirect_without_location_is_the_final_answer():
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/status/302")
    assert result.status == 302 and len(result.hops) == 1
    assert classify(result).state == "error"
