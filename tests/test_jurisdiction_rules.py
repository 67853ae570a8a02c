"""Which Member State is likely to have jurisdiction, and when only Europol gets the report."""

from balise.domain.jurisdiction import Facts, HostedUrl, decide


def test_an_upload_from_a_member_state_decides_with_high_confidence() -> None:
    d = decide(Facts(uploaded_countries=["DE"], hosted=[HostedUrl("NL")]))
    assert (d.member_state, d.confidence, d.forward_to_state) == ("DE", "high", True)
    codes = {r["code"]: r for r in d.reasons}
    assert codes["uploaded_from"]["country"] == "DE" and codes["hosted_in"]["country"] == "NL"


def test_hosting_alone_is_not_sufficient_certainty() -> None:
    d = decide(Facts(hosted=[HostedUrl("NL")]))
    assert d.member_state == "NL" and d.confidence == "low" and not d.forward_to_state


def test_hosting_and_establishment_in_the_same_state_is_medium() -> None:
    d = decide(Facts(hosted=[HostedUrl("FR")], provider_country="FR"))
    assert (d.member_state, d.confidence, d.forward_to_state) == ("FR", "medium", True)


def test_a_cdn_hides_the_hosting_country() -> None:
    d = decide(Facts(hosted=[HostedUrl("US", cdn="Cloudflare"), HostedUrl("IE", cdn="Cloudflare")]))
    assert d.member_state is None and not d.forward_to_state
    assert any(r["code"] == "cdn" and "Cloudflare" in r["text"] for r in d.reasons)


def test_countries_outside_the_eu_never_receive_the_report() -> None:
    d = decide(Facts(uploaded_countries=["US"], geolocation_country="CA"))
    assert d.member_state is None and d.confidence == "none"
    assert all(r["weight"] == 0 for r in d.reasons)
    assert any("outside the EU" in str(r["text"]) for r in d.reasons)


def test_equal_indications_for_two_states_go_to_europol_only() -> None:
    d = decide(Facts(uploaded_countries=["DE", "FR"]))
    assert d.member_state is None and not d.forward_to_state
    assert any(r["code"] == "conflict" and "DE, FR" in r["text"] for r in d.reasons)


def test_a_second_strong_state_lowers_the_confidence() -> None:
    d = decide(Facts(uploaded_countries=["DE", "FR"], geolocation_country="DE"))
    assert (d.member_state, d.confidence) == ("DE", "medium")


def test_nothing_known_is_undetermined() -> None:
    d = decide(Facts())
    assert (d.member_state, d.confidence) == (None, "none")
    assert d.reasons[-1]["code"] == "undetermined"
