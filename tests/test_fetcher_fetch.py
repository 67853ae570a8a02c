"""Fetching from real loopback servers: what is recorded, what is sent, where the caps cut,
and how each outcome is classified for removal verification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from balise import __version__
from balise.takedown.adapters.fetcher import (
    FetchFailed,
    FetchPolicy,
    FetchRefused,
    StaticResolver,
    classify,
    user_agent,
)
from tests.fetch_server import PNG, GarbageServer, closed_port, loopback_fetcher, serving, tls_contexts


def test_image_is_fetched_hashed_and_recorded():
    before = datetime.now(UTC)
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/image.png#fragment-not-sent")
    assert result.status == 200 and result.content_type == "image/png"
    assert result.body == PNG and result.size == len(PNG)
    assert result.sha256 == hashlib.sha256(PNG).hexdigest() and result.md5 == hashlib.md5(PNG).hexdigest()
    assert result.requested_url == f"{server.base}/image.png#fragment-not-sent"
    assert result.final_url == f"{server.base}/image.png"
    assert [(h.url, h.status, h.address, h.location) for h in result.hops] == [
        (f"{server.base}/image.png", 200, "127.0.0.1", None)]
    assert before <= result.started_at <= datetime.now(UTC) and result.elapsed >= 0
    assert server.hits["/image.png"] == 1


def test_request_says_who_we_are_and_carries_no_credentials():
    fetcher = loopback_fetcher(user_agent=user_agent("https://hotline.example/verifier"))
    with serving() as server:
        fetcher.fetch(f"{server.base}/headers")   # answers with Set-Cookie
        fetcher.fetch(f"{server.base}/image.png")
    first, second = (headers for _, headers in server.requests)
    assert first["User-Agent"] == f"Balise-Verifier/{__version__} (+https://hotline.example/verifier)"
    assert first["Accept-Encoding"] == "identity"
    assert "Cookie" not in second and "Authorization" not in first and "Authorization" not in second


def test_user_agent_contact_comes_from_settings():
    from balise.settings import Settings

    policy = FetchPolicy.from_settings(Settings(fetch_user_agent_contact="https://hotline.example/bot",
                                                fetch_allow_networks="127.0.0.1/32", fetch_max_redirects=2))
    assert policy.user_agent == f"Balise-Verifier/{__version__} (+https://hotline.example/bot)"
    assert [str(n) for n in policy.allow_networks] == ["127.0.0.1/32"] and policy.max_redirects == 2


def test_endless_body_is_cut_at_the_cap():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher(max_bytes=256 * 1024).fetch(f"{server.base}/endless")
    assert caught.value.code == "too_large" and "262144" in caught.value.message
    assert caught.value.hops[0].status == 200


def test_huge_content_length_is_refused_before_reading():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(f"{server.base}/huge-length")
    assert caught.value.code == "too_large" and "announces 1000000000000 bytes" in caught.value.message


def test_per_call_cap_overrides_the_policy():
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher().fetch(f"{server.base}/image.png", max_bytes=100)
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("route", ["/slow-body", "/slow-headers"])
def test_trickling_server_is_cut_at_the_total_deadline(route):
    # One byte every 0.2 s never trips the 5 s read timeout: only the total deadline stops it.
    with serving() as server:
        with pytest.raises(FetchRefused) as caught:
            loopback_fetcher(read_timeout=5.0, total_timeout=1.0).fetch(f"{server.base}{route}")
    assert caught.value.code == "timeout" and "1 s" in caught.value.message
    assert classify(caught.value).state == "unreachable"


@pytest.mark.parametrize("status", [404, 410, 451])
def test_missing_content_is_classified_gone(status):
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/status/{status}")
    assert result.status == status
    assert classify(result).state == "gone" and classify(result).reason == f"http_{status}"


@pytest.mark.parametrize(("status", "state"), [(500, "unreachable"), (503, "unreachable"), (403, "error"),
                                               (429, "error")])
def test_other_statuses_are_not_taken_for_removal(status, state):
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/status/{status}")
    assert classify(result).state == state


def test_same_and_changed_content_are_told_apart():
    with serving() as server:
        result = loopback_fetcher().fetch(f"{server.base}/image.png")
    same = classify(result, expected_sha256=hashlib.sha256(PNG).hexdigest().upper())
    changed = classify(result, expected_sha256="0" * 64)
    assert (same.state, same.reason, same.same_content) == ("served", "same_content", True)
    assert (changed.state, changed.reason, changed.same_content) == ("served", "changed", False)


def test_connection_refused_is_classified_unreachable():
    # Nothing listening may be a server restart: removal is not concluded from it.
    port = closed_port()
    with pytest.raises(FetchFailed) as caught:
        loopback_fetcher().fetch(f"http://127.0.0.1:{port}/image.png")
    assert caught.value.code == "connection_refused"
    assert classify(caught.value).state == "unreachable"


@pytest.mark.parametrize(("answer", "code", "state"), [("nxdomain", "dns_nxdomain", "gone"),
                                                       ("no_address", "dns_no_address", "gone"),
                                                       ("temporary", "dns_temporary", "unreachable")])
def test_dns_failures_are_classified(answer, code, state):
    with pytest.raises(FetchFailed) as caught:
        loopback_fetcher(StaticResolver({"removed.example.test": answer})).fetch("http://removed.example.test/x")
    assert caught.value.code == code and classify(caught.value).state == state


def test_non_http_server_is_a_protocol_failure():
    garbage = GarbageServer("127.0.0.1")
    try:
        with pytest.raises(FetchFailed) as caught:
            loopback_fetcher().fetch(f"http://127.0.0.1:{garbage.port}/")
    finally:
        garbage.close()
    assert caught.value.code == "protocol" and classify(caught.value).state == "error"


def test_tls_uses_the_host_name_while_connecting_to_the_vetted_address(tmp_path):
    server_tls, client_tls = tls_contexts("benign.example.test", tmp_path)
    resolver = StaticResolver({"benign.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    fetcher = loopback_fetcher(resolver, client_tls)
    with serving(tls=server_tls) as server:
        result = fetcher.fetch(f"https://benign.example.test:{server.port}/image.png")
        with pytest.raises(FetchFailed) as wrong_name:
            fetcher.fetch(f"https://other.example.test:{server.port}/image.png")
    assert result.body == PNG and result.hops[0].address == "127.0.0.1"
    assert wrong_name.value.code == "tls" and "other.example.test" in wrong_name.value.message


def test_name_is_resolved_once_per_hop_so_a_changed_answer_is_never_used():
    class RebindingResolver(StaticResolver):
        """Answers the allowed address first, a metadata address afterwards."""

        def resolve(self, host, timeout):
            first = super().resolve(host, timeout)
            self._table[host] = ["169.254.169.254"]
            return first

    resolver = RebindingResolver({"rebind.example.test": ["127.0.0.1"]})
    with serving() as server:
        result = loopback_fetcher(resolver).fetch(f"http://rebind.example.test:{server.port}/image.png")
    assert result.body == PNG and result.address == "127.0.0.1"
    assert resolver.calls == {"rebind.example.test": 1}
