"""Real lookups in the data shipped with geoip2fast: country, network and operator of
well-known public addresses, CDN fronting noted, special-use addresses flagged."""

from __future__ import annotations

import os
import threading

import pytest

from balise.takedown.adapters.geo import GeoLocator, GeoLookupError, cdn_for, lookup


@pytest.fixture(scope="module")
def geo() -> GeoLocator:
    return GeoLocator()


@pytest.mark.parametrize(("ip", "cdn"), [
    ("104.16.132.229", "cloudflare"),
    ("2606:4700::6810:84e5", "cloudflare"),
    ("151.101.1.69", "fastly"),
    ("23.32.0.1", "akamai"),
    ("185.152.64.17", "cdn77"),
    ("45.60.0.1", "imperva"),
    ("192.124.249.1", "sucuri"),
])
def test_cdn_networks_are_noted(geo, ip, cdn):
    info = geo.lookup(ip)
    assert info.cdn == cdn and info.cdn_kind == "cdn"
    assert not info.is_private and info.organisation


def test_cloud_operators_are_noted_as_possibly_the_origin(geo):
    info = geo.lookup("8.8.8.8")
    assert (info.cdn, info.cdn_kind, info.organisation) == ("google", "cloud", "GOOGLE")


@pytest.mark.parametrize(("ip", "country", "organisation", "network"), [
    ("193.0.6.139", "NL", "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)", "193.0.0.0/21"),
    ("212.27.48.10", "FR", "Free SAS", "212.27.32.0/19"),
    ("2001:67c:2e8:22::c100:68b", "NL", "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)",
     "2001:67c:2e8::/48"),
])
def test_european_operators_have_their_country_and_network(geo, ip, country, organisation, network):
    info = geo.lookup(ip)
    assert (info.country, info.organisation, info.network_cidr) == (country, organisation, network)
    assert info.cdn is None and not info.is_private
    assert info.source and "GeoLite2" in info.source


@pytest.mark.parametrize(("ip", "category"), [
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("127.0.0.1", "loopback"), ("100.64.0.1", "shared"),
    ("169.254.169.254", "metadata"), ("::1", "loopback"), ("fd00::1", "private"), ("fe80::1", "link_local"),
    ("::ffff:10.0.0.1", "private"),
])
def test_special_use_addresses_are_flagged_private(geo, ip, category):
    info = geo.lookup(ip)
    assert info.is_private and info.private_category == category
    assert info.country is None and info.organisation is None and info.cdn is None


def test_ipv4_mapped_address_is_looked_up_as_ipv4(geo):
    mapped = geo.lookup("::ffff:104.16.132.229")
    assert (mapped.country, mapped.cdn, mapped.network_cidr) == ("US", "cloudflare", "104.16.0.0/12")


def test_address_the_operator_data_does_not_cover_has_no_operator(geo):
    # The shipped data has the country block of 52.84.0.0/14 but no AS holder for 52.84.0.1:
    # the lookup says so instead of borrowing the neighbouring network's operator.
    info = geo.lookup("52.84.0.1")
    assert info.country == "US" and info.organisation is None and info.network_cidr == "52.84.0.0/14"


@pytest.mark.parametrize("text", ["example.com", "300.1.1.1", "", "1.2.3", "::g"])
def test_text_that_is_not_an_address_is_refused(geo, text):
    with pytest.raises(GeoLookupError) as caught:
        geo.lookup(text)
    assert repr(text) in str(caught.value)


def test_operator_names_that_only_resemble_a_cdn_are_not_one():
    assert cdn_for("AMAZONET TELECOMUNICACOES LTDA") is None
    assert cdn_for("Akamai Connected Cloud") is None   # Linode: hosting, the address is the origin
    assert cdn_for("CLOUDFLARENET") == ("cloudflare", "cdn")
    assert cdn_for(None) is None


def test_concurrent_first_lookups_load_each_file_once():
    locator = GeoLocator()
    results, errors = [], []

    def worker(ip: str) -> None:
        try:
            results.append(locator.lookup(ip).country)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(ip,)) for ip in ["193.0.6.139", "212.27.48.10"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == ["FR"] * 4 + ["NL"] * 4
    assert set(locator._readers) == {4}


def test_ipv4_and_ipv6_tables_do_not_overwrite_each_other():
    # geoip2fast keeps its tables in module globals: loading the IPv4 file after the IPv6 one
    # would leave IPv6 lookups without data, unless each file has its own module copy.
    locator = GeoLocator()
    before = locator.lookup("2a00:1450:4001:800::200e")
    ipv4 = locator.lookup("212.27.48.10")
    after = locator.lookup("2a00:1450:4001:800::200e")
    assert before == after and (after.country, after.organisation) == ("DE", "GOOGLE")
    assert ipv4.country == "FR" and "IPv4IPv6" not in ipv4.source and "IPv4IPv6" in after.source


def test_loading_leaves_the_environment_as_it_was():
    before = {k: os.environ.get(k) for k in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    GeoLocator().lookup("193.0.6.139")
    assert {k: os.environ.get(k) for k in before} == before


def test_module_level_lookup_uses_one_shared_locator():
    assert lookup("193.0.6.139").country == "NL"
