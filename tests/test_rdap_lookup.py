"""RDAP lookups against a local RDAP server (tests/rdap_server.py) through the safe fetcher:
abuse contacts found wherever registries put them, answers cached, failures precise."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime

import pytest

from balise.takedown.adapters.rdap import Bootstrap, MemoryRdapCache, RdapClient, RdapError, RdapNetwork
from tests.fetch_server import loopback_fetcher
from tests.rdap_server import rdap_server


@pytest.fixture
def server():
    with rdap_server() as running:
        yield running


@pytest.fixture
def client(server, tmp_path):
    return RdapClient(loopback_fetcher(), Bootstrap.from_directory(server.write_bootstrap(tmp_path / "bootstrap")))


def test_ripe_like_answer_gives_network_and_abuse_email(client, server):
    network = client.lookup("185.0.2.10")
    assert (network.handle, network.name, network.country) == ("185.0.2.0 - 185.0.2.255", "DEMO-HOSTING-NET", "NL")
    assert (network.start_address, network.end_address, network.cidrs) == ("185.0.2.0", "185.0.2.255",
                                                                          ("185.0.2.0/24",))
    assert network.type == "ASSIGNED PA" and network.parent_handle == "185.0.0.0 - 185.0.3.255"
    assert network.port43 == "whois.registry.example" and network.bootstrap_url == server.base
    abuse = network.abuse
    assert abuse is not None and abuse.emails == ("abuse@hosting.example",)
    assert (abuse.handle, abuse.name, abuse.phones, abuse.kind) == ("AR-DEMO1-RIPE", "DEMO Hosting Abuse",
                                                                   ("+31 20 000 0000",), "group")
    assert abuse.source_url == f"{server.base}ip/185.0.2.10"
    assert server.accepts == ["application/rdap+json"]
    assert not network.from_cache and datetime.fromisoformat(network.retrieved_at).tzinfo is not None


def test_abuse_contact_nested_in_the_organisation_is_found(client):
    network = client.lookup("23.0.3.200")
    assert network.abuse is not None
    assert (network.abuse.handle, network.abuse.emails, network.abuse.phones) == (
        "DEMOAB-ARIN", ("abuse@cloud.example",), ("+1-555-0100",))
    assert network.cidrs == ("23.0.2.0/23",) and network.country is None


def test_abuse_entity_given_only_by_link_is_fetched(client, server):
    network = client.lookup("41.0.2.10")
    assert network.abuse is not None and network.abuse.emails == ("abuse@linked.example",)
    assert network.abuse.source_url == f"{server.base}entity/DEMO-ABUSE-AFRINIC"
    assert network.abuse.roles == ("abuse",)


def test_parent_network_is_asked_when_the_child_names_no_abuse_contact(client, server):
    network = client.lookup("45.0.2.10")
    assert network.handle == "DEMO-45-0-2-0" and network.cidrs == ("45.0.2.0/25",)
    assert network.abuse is not None and network.abuse.emails == ("abuse@upstream.example",)
    assert server.hits["/rdap/ip/45.0.0.0"] == 1


def test_query_limit_stops_following_links(server, tmp_path):
    limited = RdapClient(loopback_fetcher(), Bootstrap.from_directory(server.write_bootstrap(tmp_path)),
                         max_queries=1)
    network = limited.lookup("45.0.2.10")
    assert network.abuse is None and network.notes == ("no abuse contact within 1 queries",)
    assert server.hits["/rdap/ip/45.0.0.0"] == 0


def test_referral_to_another_registry_is_followed(client, server):
    network = client.lookup("77.0.2.10")
    assert network.source_url.endswith("/other-rir/ip/77.0.2.10")
    assert network.cidrs == ("77.0.2.0/24",) and network.abuse.emails == ("abuse@hosting.example",)


def test_ipv6_address_uses_the_ipv6_bootstrap(client, server):
    network = client.lookup("2a0a:9000::1")
    assert network.cidrs == ("2a0a:9000::/32",) and network.abuse.emails == ("abuse@v6.example",)
    assert server.hits["/rdap/ip/2a0a:9000::1"] == 1


def test_second_address_of_a_cached_network_does_not_hit_the_server(client, server):
    first = client.lookup("185.0.2.10")
    second = client.lookup("185.0.2.77")
    assert sum(server.hits.values()) == 1
    assert second.from_cache and second.query_ip == "185.0.2.77"
    assert second.abuse == first.abuse and second.cidrs == first.cidrs


def test_cache_entry_expires_after_its_ttl(server, tmp_path):
    now = [0.0]
    cache = MemoryRdapCache(clock=lambda: now[0])
    client = RdapClient(loopback_fetcher(), Bootstrap.from_directory(server.write_bootstrap(tmp_path)), cache,
                        ttl=100)
    client.lookup("185.0.2.10")
    now[0] = 99.0
    assert client.lookup("185.0.2.10").from_cache
    now[0] = 101.0
    assert not client.lookup("185.0.2.10").from_cache
    assert server.hits["/rdap/ip/185.0.2.10"] == 2


def test_not_found_is_cached_for_the_shorter_negative_ttl(server, tmp_path):
    now = [0.0]
    client = RdapClient(loopback_fetcher(), Bootstrap.from_directory(server.write_bootstrap(tmp_path)),
                        MemoryRdapCache(clock=lambda: now[0]), ttl=1000, negative_ttl=10)
    with pytest.raises(RdapError) as first:
        client.lookup("5.0.2.1")
    with pytest.raises(RdapError) as cached:
        client.lookup("5.0.2.1")
    now[0] = 11.0
    with pytest.raises(RdapError):
        client.lookup("5.0.2.1")
    assert first.value.code == cached.value.code == "not_found"
    assert "No DEMO network holds 5.0.2.1" in first.value.message
    assert not first.value.from_cache and cached.value.from_cache
    assert server.hits["/rdap/ip/5.0.2.1"] == 2


def test_cached_network_survives_a_json_round_trip():
    # A database-backed cache stores JSON: what comes back must rebuild the same result.
    network = RdapNetwork(query_ip="185.0.2.10", handle="H", name="N", country="NL", start_address="185.0.2.0",
                          end_address="185.0.2.255", cidrs=("185.0.2.0/24",), ip_version="v4", type=None,
                          parent_handle=None, port43=None, abuse=None, source_url="u", bootstrap_url="b",
                          retrieved_at="2026-11-23T00:00:00+00:00", notes=("x",))
    assert RdapNetwork.from_json(json.loads(json.dumps(network.to_json()))) == network


@pytest.mark.parametrize(("ip", "code", "said"), [
    ("5.0.3.1", "malformed_json", "malformed JSON"),
    ("5.0.4.1", "content_type", "'text/html'"),
    ("5.0.5.1", "too_large", "larger than 1048576 bytes"),
    ("5.0.7.1", "missing_object", "JSON list"),
    ("5.0.8.1", "missing_object", "'entity'"),
    ("9.9.9.9", "no_bootstrap", "9.9.9.9"),
    ("10.0.0.1", "special_address", "private"),
    ("not-an-ip", "invalid_ip", "'not-an-ip'"),
])
def test_bad_answers_and_bad_input_have_precise_errors(client, ip, code, said):
    with pytest.raises(RdapError) as caught:
        client.lookup(ip)
    assert caught.value.code == code and said in caught.value.message


def test_rate_limit_backs_off_for_retry_after(client, server):
    with pytest.raises(RdapError) as first:
        client.lookup("5.0.6.1")
    with pytest.raises(RdapError) as second:
        client.lookup("5.0.6.2")    # same server, during the back-off: no request sent
    assert first.value.code == second.value.code == "rate_limited"
    assert first.value.retry_after == second.value.retry_after == 120.0
    assert second.value.from_cache
    assert server.hits["/rdap/ip/5.0.6.2"] == 0


def test_rdap_server_outside_the_allow_list_is_refused(server, tmp_path):
    strict = RdapClient(loopback_fetcher(allow=""), Bootstrap.from_directory(server.write_bootstrap(tmp_path)))
    with pytest.raises(RdapError) as caught:
        strict.lookup("185.0.2.10")
    assert caught.value.code == "refused" and caught.value.fetch_code == "private_address"
    assert sum(server.hits.values()) == 0


@pytest.mark.parametrize(("content", "said"), [
    ("not json", "is not JSON"),
    ('{"version": "1.0"}', 'no "services" list'),
    ('{"services": [[["10.0.0.0/8"]]]}', "service 0"),
    ('{"services": [[["10.0.0.0/8"], ["ftp://rdap.example/"]]]}', "service 0"),
    ('{"services": [[["not-a-net"], ["https://rdap.example/"]]]}', "'not-a-net'"),
])
def test_malformed_bootstrap_file_is_refused(tmp_path, content, said):
    (tmp_path / "ipv4.json").write_text(content)
    (tmp_path / "ipv6.json").write_text('{"services": []}')
    with pytest.raises(RdapError) as caught:
        Bootstrap.from_directory(tmp_path)
    assert caught.value.code == "bootstrap_invalid" and said in caught.value.message


def test_missing_bootstrap_file_is_refused(tmp_path):
    with pytest.raises(RdapError) as caught:
        Bootstrap.from_directory(tmp_path)
    assert caught.value.code == "bootstrap_invalid" and "ipv4.json" in caught.value.message


def test_bootstrap_served_over_http_is_used(server, tmp_path):
    # The test bootstrap directory is served by a plain HTTP server on loopback.
    from tests.fetch_server import serving_directory

    directory = server.write_bootstrap(tmp_path / "served")
    with serving_directory(directory) as base:
        client = RdapClient(loopback_fetcher(), lambda: Bootstrap.load(base, loopback_fetcher()))
        assert client.lookup("185.0.2.10").abuse.emails == ("abuse@hosting.example",)


@pytest.mark.parametrize(("ip", "base"), [
    ("193.0.6.139", "https://rdap.db.ripe.net/"),
    ("8.8.8.8", "https://rdap.arin.net/registry/"),
    ("1.1.1.1", "https://rdap.apnic.net/"),
    ("200.160.2.3", "https://rdap.lacnic.net/rdap/"),
    ("196.216.2.1", "https://rdap.afrinic.net/rdap/"),
    ("2001:67c:2e8::1", "https://rdap.db.ripe.net/"),
    ("2600::1", "https://rdap.arin.net/registry/"),
])
def test_shipped_bootstrap_names_the_five_registries(ip, base):
    assert Bootstrap.default().base_for(ipaddress.ip_address(ip)) == base


def test_settings_choose_bootstrap_and_ttls(server, tmp_path):
    from balise.settings import Settings

    settings = Settings(rdap_bootstrap=str(server.write_bootstrap(tmp_path)), rdap_cache_ttl_seconds=60,
                        rdap_negative_cache_ttl_seconds=5)
    client = RdapClient.from_settings(settings, loopback_fetcher())
    assert (client.ttl, client.negative_ttl) == (60, 5)
    assert client.lookup("185.0.2.10").bootstrap_url == server.base
