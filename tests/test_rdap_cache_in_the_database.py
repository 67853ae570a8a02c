"""The RDAP cache shared by workers keeps answers in the database until they expire, replaces
an entry put again, keeps long keys apart, and answers an RDAP lookup from the cache."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from balise.takedown.adapters.routing_adapters import DbRdapCache


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_an_entry_is_answered_until_it_expires_and_replaced_when_put_again(balise) -> None:
    clock = Clock()
    cache = DbRdapCache(balise.db.sessions, clock)
    assert cache.get("rdap:net:193.0.0.0/21") is None
    cache.put("rdap:net:193.0.0.0/21", {"network": {"handle": "DEMO-1"}}, ttl_seconds=3600)
    # Another worker (another cache object on the same database) sees it.
    other = DbRdapCache(balise.db.sessions, clock)
    assert other.get("rdap:net:193.0.0.0/21") == {"network": {"handle": "DEMO-1"}}
    clock.now += timedelta(seconds=3599)
    assert cache.get("rdap:net:193.0.0.0/21") == {"network": {"handle": "DEMO-1"}}
    clock.now += timedelta(seconds=1)
    assert cache.get("rdap:net:193.0.0.0/21") is None  # expired at its deadline exactly

    cache.put("rdap:net:193.0.0.0/21", {"network": {"handle": "DEMO-2"}}, ttl_seconds=60)
    assert other.get("rdap:net:193.0.0.0/21") == {"network": {"handle": "DEMO-2"}}
    cache.put("rdap:net:193.0.0.0/21", {"network": {"handle": "DEMO-3"}}, ttl_seconds=10)
    clock.now += timedelta(seconds=30)
    assert cache.get("rdap:net:193.0.0.0/21") is None  # the shorter life of the newer entry counts


def test_two_long_keys_with_the_same_beginning_are_kept_apart(balise) -> None:
    cache = DbRdapCache(balise.db.sessions, Clock())
    base = "rdap:backoff:https://rdap.registry.example/" + "long/path/" * 10
    cache.put(base + "a", {"retry_after": 1}, ttl_seconds=60)
    cache.put(base + "b", {"retry_after": 2}, ttl_seconds=60)
    assert cache.get(base + "a") == {"retry_after": 1} and cache.get(base + "b") == {"retry_after": 2}


def test_a_lookup_is_answered_from_the_database_cache_without_a_request(balise) -> None:
    from balise.takedown.adapters.rdap import RdapClient

    clock = Clock()
    cache = DbRdapCache(balise.db.sessions, clock)

    class NoNetwork:
        def fetch(self, url, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError(f"a request was made: {url}")

    client = RdapClient.from_settings(balise.settings, NoNetwork(), cache)
    network = {"query_ip": "193.0.0.1", "handle": "DEMO-NET", "name": "DEMO", "country": "NL", "start_address": "193.0.0.0",
               "end_address": "193.0.7.255", "cidrs": ["193.0.0.0/21"], "ip_version": "v4", "type": "ASSIGNED PA",
               "parent_handle": None, "port43": None, "source_url": "https://rdap.db.ripe.net/ip/193.0.6.139",
               "bootstrap_url": "https://rdap.db.ripe.net/", "retrieved_at": clock.now.isoformat(),
               "abuse": None, "notes": []}
    cache.put("rdap:net:193.0.0.0/21", {"network": network}, ttl_seconds=3600)
    found = client.lookup("193.0.6.139")
    assert found.handle == "DEMO-NET" and found.from_cache
