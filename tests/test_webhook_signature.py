"""What a receiver's check of Balise-Signature accepts and refuses, and why."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

import pytest

from balise.takedown.adapters.webhook import InvalidWebhookSignature, signature_header, verify_webhook_signature

SECRET = "demo-endpoint-secret-not-secret"
BODY = b'{"event":"notice.host_notice","delivery":"d-1","data":{"demo":true}}'
T = 1_795_428_000


def test_a_good_signature_is_accepted_and_gives_its_timestamp():
    assert verify_webhook_signature(SECRET, signature_header(SECRET, T, BODY), BODY, now=T + 10) == T


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Written out independently, as a receiver in another language would.
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, T, BODY) == f"t={T},v1={expected}"
    assert verify_webhook_signature(SECRET.encode(), f"t={T},v1={expected}", BODY, now=T) == T


def test_now_may_be_a_datetime():
    now = datetime.fromtimestamp(T + 299, timezone.utc)
    assert verify_webhook_signature(SECRET, signature_header(SECRET, T, BODY), BODY, now=now) == T


def test_a_tampered_body_is_refused():
    header = signature_header(SECRET, T, BODY)
    with pytest.raises(InvalidWebhookSignature) as err:
        verify_webhook_signature(SECRET, header, BODY.replace(b"true", b"false"), now=T)
    assert err.value.reason == "mismatch"


def test_a_changed_timestamp_is_refused():
    v1 = signature_header(SECRET, T, BODY).split("v1=")[1]
    with pytest.raises(InvalidWebhookSignature) as err:
        verify_webhook_signature(SECRET, f"t={T + 60},v1={v1}", BODY, now=T + 60)
    assert err.value.reason == "mismatch"


def test_the_wrong_secret_is_refused():
    with pytest.raises(InvalidWebhookSignature) as err:
        verify_webhook_signature("another-secret", signature_header(SECRET, T, BODY), BODY, now=T)
    assert err.value.reason == "mismatch"


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_refused(age):
    with pytest.raises(InvalidWebhookSignature) as err:
        verify_webhook_signature(SECRET, signature_header(SECRET, T, BODY), BODY, now=T + age)
    assert err.value.reason == "stale"


def test_the_tolerance_is_configurable():
    header = signature_header(SECRET, T, BODY)
    assert verify_webhook_signature(SECRET, header, BODY, tolerance_s=3600, now=T + 3000) == T
    with pytest.raises(InvalidWebhookSignature):
        verify_webhook_signature(SECRET, header, BODY, tolerance_s=60, now=T + 61)


def test_one_matching_v1_among_several_is_enough():
    good = signature_header(SECRET, T, BODY).split("v1=")[1]
    assert verify_webhook_signature(SECRET, f"t={T},v1={'0' * 64},v1={good}", BODY, now=T) == T


def test_unknown_schemes_next_to_v1_are_ignored():
    assert verify_webhook_signature(SECRET, signature_header(SECRET, T, BODY) + ",v2=abc", BODY, now=T) == T


@pytest.mark.parametrize("header", [
    None,
    "",
    "garbage",
    f"t={T}",
    "v1=" + "a" * 64,
    f"t=abc,v1={'a' * 64}",
    f"t=-5,v1={'a' * 64}",
    f"t={T},v1=XYZ",
    f"t={T},v1={'A' * 64}",
    f"t={T},t={T},v1={'a' * 64}",
    f"t={T};v1={'a' * 64}",
])
def test_a_malformed_header_is_refused(header):
    with pytest.raises(InvalidWebhookSignature) as err:
        verify_webhook_signature(SECRET, header, BODY, now=T)
    assert err.value.reason == "malformed"


def test_the_body_must_be_the_raw_bytes():
    with pytest.raises(TypeError, match="raw request body"):
        verify_webhook_signature(SECRET, signature_header(SECRET, T, BODY), BODY.decode(), now=T)  # type: ignore[arg-type]


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="secret is empty"):
        verify_webhook_signature("", signature_header(SECRET, T, BODY), BODY, now=T)
