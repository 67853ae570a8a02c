"""The fetcher and RDAP settings are checked when the settings load: a bad value stops the
process with a message naming the setting, read from the BALISE_* environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from balise.domain.addresses import parse_networks
from balise.settings import Settings


def test_defaults_allow_no_special_address_and_keep_caps():
    settings = Settings()
    assert parse_networks(settings.fetch_allow_networks) == ()
    assert (settings.fetch_max_bytes, settings.fetch_max_redirects, settings.fetch_total_timeout_seconds) == (
        32 * 1024 * 1024, 5, 60.0)
    assert settings.rdap_bootstrap is None and settings.rdap_negative_cache_ttl_seconds < settings.rdap_cache_ttl_seconds


def test_allow_list_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("BALISE_FETCH_ALLOW_NETWORKS", "127.0.0.1/32, ::1/128")
    assert [str(n) for n in parse_networks(Settings().fetch_allow_networks)] == ["127.0.0.1/32", "::1/128"]


@pytest.mark.parametrize(("overrides", "field", "said"), [
    ({"fetch_allow_networks": "127.0.0.1/8"}, "fetch_allow_networks", "host bits set"),
    ({"fetch_allow_networks": "localhost"}, "fetch_allow_networks", "'localhost' is not an IP network"),
    ({"fetch_user_agent_contact": "https://x.example/\r\nX-Evil: 1"}, "fetch_user_agent_contact", "printable ASCII"),
    ({"fetch_user_agent_contact": "(ops)"}, "fetch_user_agent_contact", "parentheses"),
    ({"fetch_max_bytes": 0}, "fetch_max_bytes", "greater than or equal to 1"),
    ({"fetch_total_timeout_seconds": 0}, "fetch_total_timeout_seconds", "greater than 0"),
    ({"fetch_max_redirects": 50}, "fetch_max_redirects", "less than or equal to 20"),
    ({"rdap_cache_ttl_seconds": -1}, "rdap_cache_ttl_seconds", "greater than or equal to 0"),
])
def test_bad_values_are_refused_naming_the_setting(overrides, field, said):
    with pytest.raises(ValidationError) as caught:
        Settings(**overrides)
    text = str(caught.value)
    assert field in text and said in text
