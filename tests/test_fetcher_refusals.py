"""The fetcher refuses bad URLs and special-use addresses with a precise code, before any
connection; valid but suspicious hosts are fetched and flagged, not refused."""

from __future__ import annotations

import pytest

from balise.takedown.adapters.fetcher import FetchRefused, StaticResolver, SystemResolver, check_url, classify
from tests.fetch_server import PNG, ConnectionCounter, loopback_fetcher, serving


@pytest.mark.parametrize(("url", "code", "said"), [
    ("ftp://files.example.test/x", "scheme", "'ftp'"),
    ("javascript:alert(1)", "scheme", "'javascript'"),
    ("file:///etc/passwd", "scheme", "'file'"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme", "'gopher'"),
    ("www.example.test/page", "scheme", "no scheme"),
    ("", "malformed", "empty"),
    ("http://exa\nmple.test/", "malformed", "U+000A"),
    ("http://example.test/a\r\nX-Injected: 1", "malformed", "U+000D"),
    ("http:/example.test/", "no_host", "no host"),
    ("http://:8080/", "no_host", "no host"),
    ("http://user:secret@example.test/", "userinfo", "credentials"),
    ("http://user@example.test/", "userinfo", "credentials"),
    ("http://exa mple.test/", "host", "' '"),
    ("http://exa<mple.test/", "host", "'<'"),
    ("http://a..b.test/", "host", "empty label"),
    ("http://example.test:99999/", "port", "99999"),
    ("http://example.test:8o/", "port", "'8o'"),
    ("http://xn--zz.example.test/", "idna", "xn--zz"),
    ("http://-leading-hyphen.test/", "idna", "hyphen"),
    ("http://" + "a" * 64 + ".test/", "idna", "63"),
    ("http://☃.example.test/", "idna", "☃"),
    ("http://%ff%fe.example.test/", "idna", "not UTF-8"),
    ("http://256.1.1.1/", "ip_literal", "larger than 255"),
    ("http://1.2.3.4.5/", "ip_literal", "more than four parts"),
    ("http://0x100000000/", "ip_literal", "too large"),
    ("http://example.123/", "ip_literal", "'example' is not a number"),
    ("http://[::1/", "host", "closing"),
    ("http://[fe80::1%25eth0]/", "host", "zone"),
    ("http://[12345::1]/", "ip_literal", "not a valid IPv6"),
])
def test_bad_urls_are_refused_with_a_precise_code(url, code, said):
    with pytest.raises(FetchRefused) as caught:
        check_url(url)
    assert caught.value.code == code
    assert said in caught.value.message


def test_overlong_url_is_refused_and_the_limit_said():
    with pytest.raises(FetchRefused) as caught:
        check_url("http://example.test/" + "a" * 8200)
    assert caught.value.code == "too_long" and "8220" in caught.value.message and "8192" in caught.value.message


def test_url_that_grows_past_the_limit_once_encoded_is_refused():
    # 3000 "é" are 3000 characters but 18000 once percent-encoded as UTF-8.
    with pytest.raises(FetchRefused) as caught:
        check_url("http://example.test/" + "é" * 3000)
    assert caught.value.code == "too_long"


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/",
                                 "http://0x7f000001/", "http://%31%32%37.0.0.1/", "http://１２７.０.０.１/",
                                 "http://127.0.0.1./"])
def test_numeric_disguises_of_loopback_become_the_address(url):
    target = check_url(url)
    assert str(target.ip) == "127.0.0.1" and target.host == "127.0.0.1"
    assert target.url == "http://127.0.0.1/"


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://[::1]/",
                                 "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/"])
def test_disguised_loopback_is_refused_by_the_address_check(url):
    with pytest.raises(FetchRefused) as caught:
        loopback_fetcher(allow="").fetch(url)
    assert caught.value.code == "private_address" and caught.value.category == "loopback"
    assert caught.value.hops == ()


def test_disguised_allowed_address_is_fetched_at_that_address():
    with serving() as server:
        result = loopback_fetcher().fetch(f"http://2130706433:{server.port}/image.png")
    assert result.body == PNG and result.hops[0].address == "127.0.0.1"
    assert result.target.host_flags == ("numeric_disguise",)


@pytest.mark.parametrize(("url", "category"), [
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "shared"),
    ("http://169.254.1.1/", "link_local"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://[fe80::1]/", "link_local"),
    ("http://[fc00::1]/", "private"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[64:ff9b::a00:1]/", "private"),     # NAT64 form of 10.0.0.1
    ("http://[2002:a9fe:a9fe::]/", "metadata"),  # 6to4 form of 169.254.169.254
    ("http://192.0.2.1/", "documentation"),
])
def test_special_use_addresses_are_refused(url, category):
    with pytest.raises(FetchRefused) as caught:
        loopback_fetcher().fetch(url)
    assert caught.value.code == "private_address" and caught.value.category == category
    assert classify(caught.value).state == "error"


def test_metadata_address_needs_an_exact_allow_list_entry():
    # A wide allow-list entry must not open the metadata service by accident.
    with pytest.raises(FetchRefused) as caught:
        loopback_fetcher(allow="169.254.0.0/16").fetch("http://169.254.169.254/")
    assert caught.value.category == "metadata"


def test_dns_answer_in_a_private_range_is_refused_without_connecting():
    # 127.0.0.2 is loopback but outside the test allow-list (127.0.0.1/32): a listener there
    # proves that the fetcher never opened a connection.
    listener = ConnectionCounter("127.0.0.2")
    try:
        resolver = StaticResolver({"rebind.example.test": ["127.0.0.2"]})
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher(resolver).fetch(f"http://rebind.example.test:{listener.port}/")
    finally:
        listener.close()
    assert caught.value.code == "private_address" and caught.value.address == "127.0.0.2"
    assert "rebind.example.test resolves to 127.0.0.2" in caught.value.message
    assert listener.accepted == 0


@pytest.mark.parametrize("answer", [["10.1.2.3"], ["192.168.0.7"], ["169.254.169.254"], ["fd12::1"],
                                    ["::ffff:192.168.0.7"], ["127.0.0.1", "10.1.2.3"]])
def test_any_forbidden_address_in_the_dns_answer_refuses_the_host(answer):
    # Even with an allowed address first: a mixed answer is how rebinding attacks look.
    with pytest.raises(FetchRefused) as caught:
        loopback_fetcher(StaticResolver({"mixed.example.test": answer})).fetch("http://mixed.example.test/")
    assert caught.value.code == "private_address"


def test_system_resolver_answer_for_localhost_is_refused():
    with pytest.raises(FetchRefused) as caught:
        loopback_fetcher(SystemResolver(), allow="").fetch("http://localhost:9/")
    assert caught.value.code == "private_address" and caught.value.category == "loopback"


def test_international_host_is_fetched_with_both_forms_recorded():
    with serving() as server:
        resolver = StaticResolver({"xn--bcher-kva.example.test": ["127.0.0.1"]})
        result = loopback_fetcher(resolver).fetch(f"http://BÜCHER.example.test:{server.port}/image.png")
    assert result.target.host == "xn--bcher-kva.example.test"
    assert result.target.host_unicode == "bücher.example.test"
    assert result.target.host_flags == ("idn",)
    assert result.final_url == f"http://xn--bcher-kva.example.test:{server.port}/image.png"
    assert server.requests[0][1]["Host"] == f"xn--bcher-kva.example.test:{server.port}"


@pytest.mark.parametrize(("url", "flags", "unicode_host"), [
    ("http://аррӏе.com/", ("idn", "latin_lookalike"), "аррӏе.com"),        # all Cyrillic
    ("http://paypаl.com/", ("idn", "mixed_script", "latin_lookalike"), "paypаl.com"),  # one Cyrillic а
    ("http://xn--80ak6aa92e.com/", ("idn", "latin_lookalike"), "аррӏе.com"),
    ("http://ex%61mple.com/", ("percent_encoded",), "example.com"),
    ("http://ex\u200bample.com/", ("mapped",), "example.com"),            # zero-width space dropped
    ("http://例え.テスト/", ("idn",), "例え.テスト"),                       # Han with Hiragana/Katakana is normal
])
def test_confusable_hosts_are_flagged_not_refused(url, flags, unicode_host):
    target = check_url(url)
    assert target.host_flags == flags
    assert target.host_unicode == unicode_host
    assert target.host.isascii()
