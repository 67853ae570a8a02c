"""Entity values (domain/entities.py): each kind is recognised, checked (checksums, numbering
plans) and written in one normal form; a value that fails is kept as unvalidated text with the
reason, never as the entity it looks like. Vectors: BIP-173/BIP-350 (bech32, bech32m), EIP-55,
the IBAN registry's German example; Monero addresses are made here from fixed keys."""

from __future__ import annotations

import pytest

from balise.domain import entities as E
from balise.domain.entities import EntityKind, Problem


def test_bitcoin_base58check_bech32_and_bech32m():
    assert E.crypto("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").detail == {"network": "mainnet", "type": "p2pkh"}
    assert E.crypto("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy").detail["type"] == "p2sh"
    segwit = E.crypto("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")  # upper case is allowed, stored lower
    assert segwit.valid and segwit.value == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    taproot = E.crypto("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")
    assert taproot.valid and taproot.detail["type"] == "p2tr"
    bad = E.crypto("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3")
    assert not bad.valid and bad.problem is Problem.BAD_CHECKSUM and bad.kind is EntityKind.BITCOIN
    assert E.crypto("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5").problem is Problem.BAD_CHECKSUM
    # A version-1 program written with the bech32 (not bech32m) checksum is refused (BIP-350).
    assert not E.crypto("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx").valid
    assert not E.crypto("bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").valid  # mixed case


def test_ethereum_eip55():
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert E.crypto(good).valid and E.crypto(good).detail["checksum"] == "eip55"
    lower = E.crypto(good.lower())
    assert lower.valid and lower.value == good and lower.detail["checksum"] == "absent"
    wrong = E.crypto(good[:-1] + "D")
    assert not wrong.valid and wrong.problem is Problem.BAD_CHECKSUM
    assert E.crypto("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe").problem is not None  # 39 digits


def test_monero_keccak_checksum():
    address = E.monero_address(18, bytes(range(32)), bytes(range(32, 64)))
    assert len(address) == 95 and address[0] == "4"
    found = E.crypto(address)
    assert found.kind is EntityKind.MONERO and found.valid and found.detail == {"network": "mainnet", "type": "standard"}
    sub = E.crypto(E.monero_address(42, bytes(32), bytes(range(32))))
    assert sub.valid and sub.detail["type"] == "subaddress"
    tampered = address[:50] + ("A" if address[50] != "A" else "B") + address[51:]
    assert not E.crypto(tampered).valid and E.crypto(tampered).problem is Problem.BAD_CHECKSUM


def test_iban_card_and_payment_accounts():
    assert E.payment("DE89 3704 0044 0532 0130 00")[0].value == "DE89370400440532013000"
    bad = E.payment("DE89 3704 0044 0532 0130 01")[0]
    assert bad.kind is EntityKind.IBAN and not bad.valid and bad.problem is Problem.BAD_CHECKSUM
    card = E.payment("4111 1111 1111 1111")[0]
    assert card.kind is EntityKind.CARD_BIN and card.value == "411111"
    wrong_card = E.payment("4111 1111 1111 1112")[0]
    assert not wrong_card.valid and "1112" not in wrong_card.value  # the full number is never kept
    paypal = E.payment("PayPal: Demo.Shop@Example.org")
    assert [e.value for e in paypal] == ["paypal:demo.shop@example.org", "demo.shop@example.org"]
    assert E.payment("https://www.paypal.me/DemoShop")[0].value == "paypal:demoshop"
    assert not E.payment("some words")[0].valid


def test_email_phone_ip_url():
    assert E.email("Someone@EXAMPLE.org").value == "someone@example.org"
    assert E.email("not an address").problem is Problem.BAD_SYNTAX
    assert E.phone("+33 6 12 34 56 78").value == "+33612345678"
    assert E.phone("0033 6 12 34 56 78").value == "+33612345678"
    assert E.phone("06 12 34 56 78", "FR").value == "+33612345678"
    assert E.phone("06 12 34 56 78").problem is Problem.NO_COUNTRY_CODE
    assert E.phone("+33 12").problem is Problem.NOT_A_NUMBER
    assert E.ip("::ffff:192.0.2.1").value == "192.0.2.1"
    assert E.ip("2001:DB8::1").value == "2001:db8::1"
    assert not E.ip("300.1.1.1").valid
    url, host = E.url("HTTPS://Example.COM:443/a?b=1#frag")
    assert (url.value, host.kind, host.value) == ("https://example.com/a?b=1", EntityKind.DOMAIN, "example.com")
    assert E.url("http://bücher.example/x")[1].value == "xn--bcher-kva.example"
    assert not E.url("javascript:alert(1)")[0].valid


def test_free_text_yields_only_values_that_check_out():
    text = ("pay 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 not 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3, "
            "iban DE89 3704 0044 0532 0130 00, call +33 6 12 34 56 78, https://demo.example/p.")
    values = {(e.kind.value, e.value) for e in E.in_text(text)}
    assert ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2") in values
    assert not any("NVN3" in v for _, v in values)
    assert {("iban", "DE89370400440532013000"), ("phone", "+33612345678"), ("domain", "demo.example"),
            ("url", "https://demo.example/p")} <= values


def test_a_valid_value_and_its_unvalidated_twin_never_share_a_key():
    good = E.crypto("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
    assert good.key != E.search_key("bitcoin", good.value, valid=False)
    assert good.key in {e.key for e in E.interpretations(" 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 ")}


@pytest.mark.parametrize("purpose", ["", "why", None, "x" * 501])
def test_a_search_needs_a_purpose(purpose):
    with pytest.raises(ValueError, match="purpose"):
        E.check_purpose(purpose)
