"""Cross-report entities (docs/intelligence.md): the values that link one report to another —
accounts, e-mail addresses, phone numbers, IP addresses, URLs and domains, payment identifiers,
crypto-currency addresses and file names — recognised, checked and written one way.

Pure rules: no database, no network. A value is *valid* only when its checksum or syntax holds
(an IBAN's mod-97, a Bitcoin address's base58check or bech32/bech32m checksum, an Ethereum
address's EIP-55 capitals, a Monero address's Keccak checksum, a phone number's numbering plan);
a value that fails is kept as *unvalidated text* with the reason, and is never linked as if it
were the entity it looks like. A card number is reduced to its BIN (first six digits) at once:
the full number is never stored here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MAX_TEXT = 500  # what is kept of an unvalidated value
MAX_VALUE = 8192  # a URL may be long; a search key is a digest anyway


class EntityKind(StrEnum):
    ACCOUNT = "account"
    EMAIL = "email"
    PHONE = "phone"
    IP = "ip"
    URL = "url"
    DOMAIN = "domain"
    IBAN = "iban"
    CARD_BIN = "card_bin"
    PAYMENT_ACCOUNT = "payment_account"
    BITCOIN = "bitcoin"
    ETHEREUM = "ethereum"
    MONERO = "monero"
    FILE_NAME = "file_name"


PAYMENT_KINDS = frozenset({EntityKind.IBAN, EntityKind.CARD_BIN, EntityKind.PAYMENT_ACCOUNT})
CRYPTO_KINDS = frozenset({EntityKind.BITCOIN, EntityKind.ETHEREUM, EntityKind.MONERO})


class Problem(StrEnum):
    """Why a value is kept as unvalidated text (shown in words by web/ui/labels.py)."""

    BAD_CHECKSUM = "bad_checksum"
    BAD_SYNTAX = "bad_syntax"
    UNKNOWN_FORMAT = "unknown_format"
    NO_COUNTRY_CODE = "no_country_code"
    NOT_A_NUMBER = "not_a_number"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class Entity:
    """One recognised value. ``value`` is the normal form when ``valid``; otherwise the text as
    given (bounded), with ``problem`` saying what failed and ``kind`` what it was taken for."""

    kind: EntityKind
    value: str
    valid: bool = True
    problem: Problem | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return search_key(self.kind, self.value, self.valid)


def search_key(kind: EntityKind | str, value: str, valid: bool = True) -> str:
    """The index key: a digest of the kind and the normal form for a valid entity; for an
    unvalidated one, of its text in lower case under a separate name space, so that it can be
    found by what was typed and never collides with a valid entity."""
    if valid:
        material = f"{EntityKind(kind).value}\x00{value}"
    else:
        material = f"unvalidated\x00{' '.join(value.split()).lower()}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(str(text).split()))


def _unvalidated(kind: EntityKind, text: str, problem: Problem, **detail: Any) -> Entity:
    return Entity(kind, _clean(text)[:MAX_TEXT], valid=False, problem=problem, detail=detail)


# -- e-mail, phone, IP -------------------------------------------------------------------------

def email(text: str) -> Entity:
    from email_validator import EmailNotValidError, validate_email

    cleaned = _clean(text)
    if len(cleaned) > 320:
        return _unvalidated(EntityKind.EMAIL, cleaned, Problem.TOO_LONG)
    try:
        checked = validate_email(cleaned, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return _unvalidated(EntityKind.EMAIL, cleaned, Problem.BAD_SYNTAX)
    # Mail systems treat the local part without regard to case in practice.
    return Entity(EntityKind.EMAIL, checked.normalized.lower())


def phone(text: str, region: str | None = None) -> Entity:
    """E.164. Without a leading + the number is read in ``region`` (the report's country);
    without one either, it cannot be placed and stays unvalidated."""
    import phonenumbers

    cleaned = _clean(text)
    if len(cleaned) > 64:
        return _unvalidated(EntityKind.PHONE, cleaned, Problem.TOO_LONG)
    if not cleaned.startswith(("+", "00")) and not region:
        return _unvalidated(EntityKind.PHONE, cleaned, Problem.NO_COUNTRY_CODE)
    candidate = "+" + cleaned[2:] if cleaned.startswith("00") else cleaned
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return _unvalidated(EntityKind.PHONE, cleaned, Problem.NOT_A_NUMBER)
    if not phonenumbers.is_valid_number(number):
        return _unvalidated(EntityKind.PHONE, cleaned, Problem.NOT_A_NUMBER)
    region_code = phonenumbers.region_code_for_number(number)
    return Entity(EntityKind.PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                  detail={"country": region_code} if region_code else {})


def ip(text: str) -> Entity:
    cleaned = _clean(text)
    try:
        address = ipaddress.ip_address(cleaned.strip("[]"))
    except ValueError:
        return _unvalidated(EntityKind.IP, cleaned, Problem.BAD_SYNTAX)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return Entity(EntityKind.IP, str(address), detail={"version": address.version})


# -- URLs, domains, accounts, file names -------------------------------------------------------

_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


def domain(text: str) -> Entity:
    cleaned = _clean(text).rstrip(".").lower()
    try:
        host = cleaned.encode("idna").decode("ascii") if not cleaned.isascii() else cleaned
    except UnicodeError:
        return _unvalidated(EntityKind.DOMAIN, cleaned, Problem.BAD_SYNTAX)
    if not _HOST_RE.match(host) or host.replace(".", "").isdigit():
        return _unvalidated(EntityKind.DOMAIN, cleaned, Problem.BAD_SYNTAX)
    return Entity(EntityKind.DOMAIN, host)


def url(text: str) -> list[Entity]:
    """The URL in one normal form (lower-case scheme and host, IDNA host, no default port, no
    fragment) and its host as a domain (or IP address)."""
    cleaned = _clean(text)
    if len(cleaned) > MAX_VALUE:
        return [_unvalidated(EntityKind.URL, cleaned, Problem.TOO_LONG)]
    try:
        parts = urlsplit(cleaned)
        port = parts.port
    except ValueError:
        return [_unvalidated(EntityKind.URL, cleaned, Problem.BAD_SYNTAX)]
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ftp") or not parts.hostname:
        return [_unvalidated(EntityKind.URL, cleaned, Problem.BAD_SYNTAX)]
    hostname = parts.hostname.rstrip(".")
    host_entity = ip(hostname) if _looks_like_ip(hostname) else domain(hostname)
    if not host_entity.valid:
        return [_unvalidated(EntityKind.URL, cleaned, Problem.BAD_SYNTAX)]
    host = f"[{host_entity.value}]" if ":" in host_entity.value else host_entity.value
    default = {"http": 80, "https": 443, "ftp": 21}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    normal = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return [Entity(EntityKind.URL, normal), host_entity]


def _looks_like_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def service_of(service_url: str | None, organisation: str | None) -> str:
    """Whose account: the host of the service's URL, or the reporting organisation's name."""
    if service_url:
        found = url(service_url)
        if len(found) == 2 and found[1].valid:
            return found[1].value.removeprefix("www.")
    return _clean(organisation or "unknown service").lower()[:200]


def account(service: str, identifier: str, *, case_sensitive: bool) -> Entity:
    """An account on a service: ``service:identifier`` (user names compared without case, user
    ids exactly)."""
    ident = _clean(identifier).lstrip("@")
    if not ident:
        return _unvalidated(EntityKind.ACCOUNT, identifier, Problem.BAD_SYNTAX)
    if len(ident) > MAX_TEXT:
        return _unvalidated(EntityKind.ACCOUNT, ident, Problem.TOO_LONG)
    ident = ident if case_sensitive else ident.lower()
    return Entity(EntityKind.ACCOUNT, f"{service}:{ident}", detail={"service": service})


def file_name(text: str) -> Entity | None:
    """The last component of a path as sent, Unicode-normalised; None when empty."""
    base = re.split(r"[\\/]", str(text))[-1]
    cleaned = unicodedata.normalize("NFC", base.strip())
    cleaned = "".join(c for c in cleaned if c.isprintable())
    if not cleaned:
        return None
    if len(cleaned) > MAX_TEXT:
        return _unvalidated(EntityKind.FILE_NAME, cleaned, Problem.TOO_LONG)
    return Entity(EntityKind.FILE_NAME, cleaned)


# -- payment identifiers -----------------------------------------------------------------------

#: Services whose accounts are named ``service:id`` in a payment identifier (PayPal-style).
PAYMENT_SERVICES = ("paypal", "venmo", "cashapp", "revolut", "wise", "skrill", "payoneer", "neteller",
                    "alipay", "wechatpay", "zelle", "applepay", "googlepay", "lydia", "paysafecard")
_PAYMENT_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(paypal\.me|venmo\.com|cash\.app|revolut\.me)/+@?([^/?#\s]+)",
                           re.I)
_LINK_SERVICE = {"paypal.me": "paypal", "venmo.com": "venmo", "cash.app": "cashapp", "revolut.me": "revolut"}


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban(text: str) -> Entity:
    from schwifty import IBAN
    from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException

    compact = re.sub(r"[\s-]", "", _clean(text)).upper()
    try:
        checked = IBAN(compact)
    except InvalidChecksumDigits:
        return _unvalidated(EntityKind.IBAN, compact, Problem.BAD_CHECKSUM)
    except SchwiftyException:
        return _unvalidated(EntityKind.IBAN, compact, Problem.BAD_SYNTAX)
    detail: dict[str, Any] = {"country": checked.country_code}
    try:
        if checked.bic is not None:
            detail["bic"] = str(checked.bic)
    except SchwiftyException:
        pass
    return Entity(EntityKind.IBAN, checked.compact, detail=detail)


def card(text: str) -> Entity:
    """A payment card: only its BIN is kept (first six digits), never the full number."""
    digits = re.sub(r"[\s-]", "", _clean(text))
    if not digits.isdigit():
        return _unvalidated(EntityKind.CARD_BIN, "", Problem.NOT_A_NUMBER)
    if 6 <= len(digits) <= 8:  # a BIN given as such
        return Entity(EntityKind.CARD_BIN, digits[:6])
    masked = digits[:6] + "…"
    if not 12 <= len(digits) <= 19:
        return _unvalidated(EntityKind.CARD_BIN, masked, Problem.NOT_A_NUMBER)
    if not luhn_ok(digits):
        return _unvalidated(EntityKind.CARD_BIN, masked, Problem.BAD_CHECKSUM)
    return Entity(EntityKind.CARD_BIN, digits[:6], detail={"length": len(digits)})


def payment(text: str) -> list[Entity]:
    """A payment identifier as a report gives it: an IBAN, a card number (its BIN), a
    ``service:id`` account, a payment link (paypal.me/…), or an e-mail address (an account
    of an unnamed payment service)."""
    cleaned = _clean(text)
    compact = re.sub(r"[\s-]", "", cleaned)
    if re.fullmatch(r"[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]{8,32}", compact):
        return [iban(compact)]
    if re.fullmatch(r"[0-9]{6,19}", compact):
        return [card(compact)]
    link = _PAYMENT_LINK.match(cleaned)
    if link:
        service = _LINK_SERVICE[link.group(1).lower()]
        return [Entity(EntityKind.PAYMENT_ACCOUNT, f"{service}:{link.group(2).lower()}", detail={"service": service})]
    named = re.fullmatch(r"([A-Za-z][A-Za-z ._-]{1,30}?)\s*:\s*(\S.*)", cleaned)
    if named:
        service = re.sub(r"[\s._-]", "", named.group(1).lower())
        if service in PAYMENT_SERVICES:
            ident = named.group(2).strip().lstrip("@$")
            found = email(ident) if "@" in ident else None
            ident = found.value if found is not None and found.valid else ident.lower()
            return [Entity(EntityKind.PAYMENT_ACCOUNT, f"{service}:{ident}"[:MAX_TEXT], detail={"service": service}),
                    *([found] if found is not None and found.valid else [])]
    if "@" in cleaned:
        found = email(cleaned)
        if found.valid:
            return [Entity(EntityKind.PAYMENT_ACCOUNT, f"email:{found.value}", detail={"service": "unnamed"}), found]
    return [_unvalidated(EntityKind.PAYMENT_ACCOUNT, cleaned, Problem.UNKNOWN_FORMAT)]


# -- crypto-currency addresses -----------------------------------------------------------------

def keccak256(data: bytes) -> bytes:
    from Crypto.Hash import keccak

    return keccak.new(data=data, digest_bits=256).digest()


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BTC_VERSIONS = {0x00: ("mainnet", "p2pkh"), 0x05: ("mainnet", "p2sh"),
                 0x6F: ("testnet", "p2pkh"), 0xC4: ("testnet", "p2sh")}
_BECH32_HRP = {"bc": "mainnet", "tb": "testnet", "bcrt": "regtest"}


def bitcoin(text: str) -> Entity:
    from embit import base58, bech32

    cleaned = _clean(text)
    lowered = cleaned.lower()
    hrp = lowered.rsplit("1", 1)[0] if "1" in lowered else ""
    if hrp in _BECH32_HRP and lowered.startswith(hrp + "1"):
        if cleaned != lowered and cleaned != cleaned.upper():
            return _unvalidated(EntityKind.BITCOIN, cleaned, Problem.BAD_SYNTAX)
        version, program = bech32.decode(hrp, lowered)
        if version is None:
            encoding, got, _data = bech32.bech32_decode(lowered)
            return _unvalidated(EntityKind.BITCOIN, cleaned, Problem.BAD_CHECKSUM if got is None else Problem.BAD_SYNTAX)
        kind = {0: "p2wpkh" if len(program) == 20 else "p2wsh", 1: "p2tr"}.get(version, f"witness v{version}")
        return Entity(EntityKind.BITCOIN, lowered, detail={"network": _BECH32_HRP[hrp], "type": kind})
    if not 25 <= len(cleaned) <= 35 or any(c not in _BASE58 for c in cleaned):
        return _unvalidated(EntityKind.BITCOIN, cleaned, Problem.BAD_SYNTAX)
    try:
        raw = base58.decode_check(cleaned)
    except Exception:  # embit raises a bare ValueError/IndexError family on a bad checksum
        return _unvalidated(EntityKind.BITCOIN, cleaned, Problem.BAD_CHECKSUM)
    if len(raw) != 21 or raw[0] not in _BTC_VERSIONS:
        return _unvalidated(EntityKind.BITCOIN, cleaned, Problem.UNKNOWN_FORMAT)
    network, kind = _BTC_VERSIONS[raw[0]]
    return Entity(EntityKind.BITCOIN, cleaned, detail={"network": network, "type": kind})


def eip55(address_hex: str) -> str:
    """The EIP-55 form of 40 hexadecimal digits: a letter is a capital when the matching nibble
    of the Keccak-256 of the lower-case address is 8 or more."""
    lowered = address_hex.lower()
    digest = keccak256(lowered.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lowered))


def ethereum(text: str) -> Entity:
    cleaned = _clean(text)
    if not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", cleaned):
        return _unvalidated(EntityKind.ETHEREUM, cleaned, Problem.BAD_SYNTAX)
    body = cleaned[2:]
    normal = eip55(body)
    if body in (body.lower(), body.upper()):
        # No checksum was written: the address is well formed; it is indexed in EIP-55 form.
        return Entity(EntityKind.ETHEREUM, normal, detail={"checksum": "absent"})
    if "0x" + body != normal:
        return _unvalidated(EntityKind.ETHEREUM, cleaned, Problem.BAD_CHECKSUM)
    return Entity(EntityKind.ETHEREUM, normal, detail={"checksum": "eip55"})


_XMR_BLOCK = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}  # encoded chars -> bytes
_XMR_PREFIXES = {18: ("mainnet", "standard"), 19: ("mainnet", "integrated"), 42: ("mainnet", "subaddress"),
                 53: ("testnet", "standard"), 54: ("testnet", "integrated"), 63: ("testnet", "subaddress"),
                 24: ("stagenet", "standard"), 25: ("stagenet", "integrated"), 36: ("stagenet", "subaddress")}


def monero_base58_decode(text: str) -> bytes:
    """Monero's base58: blocks of 11 characters for 8 bytes, a shorter last block."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start:start + 11]
        size = _XMR_BLOCK.get(len(block))
        if size is None:
            raise ValueError("bad block length")
        number = 0
        for char in block:
            index = _BASE58.find(char)
            if index < 0:
                raise ValueError("not base58")
            number = number * 58 + index
        if number >= 1 << (8 * size):
            raise ValueError("block overflow")
        out += number.to_bytes(size, "big")
    return bytes(out)


def monero_base58_encode(data: bytes) -> str:
    sizes = {v: k for k, v in _XMR_BLOCK.items()}
    out = []
    for start in range(0, len(data), 8):
        block = data[start:start + 8]
        number = int.from_bytes(block, "big")
        chars = []
        for _ in range(sizes[len(block)]):
            number, rest = divmod(number, 58)
            chars.append(_BASE58[rest])
        out.append("".join(reversed(chars)))
    return "".join(out)


def monero_address(prefix: int, public_spend: bytes, public_view: bytes) -> str:
    """A Monero address from its keys (for DEMO data and tests): varint prefix, keys, checksum."""
    body = _varint(prefix) + public_spend + public_view
    return monero_base58_encode(body + keccak256(body)[:4])


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def monero(text: str) -> Entity:
    cleaned = _clean(text)
    if len(cleaned) not in (95, 106):
        return _unvalidated(EntityKind.MONERO, cleaned, Problem.BAD_SYNTAX)
    try:
        raw = monero_base58_decode(cleaned)
    except ValueError:
        return _unvalidated(EntityKind.MONERO, cleaned, Problem.BAD_SYNTAX)
    body, checksum = raw[:-4], raw[-4:]
    if keccak256(body)[:4] != checksum:
        return _unvalidated(EntityKind.MONERO, cleaned, Problem.BAD_CHECKSUM)
    prefix, shift, used = 0, 0, 0
    for used, byte in enumerate(body, start=1):
        prefix |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    network = _XMR_PREFIXES.get(prefix)
    if network is None:
        return _unvalidated(EntityKind.MONERO, cleaned, Problem.UNKNOWN_FORMAT)
    return Entity(EntityKind.MONERO, cleaned, detail={"network": network[0], "type": network[1]})


def crypto(text: str) -> Entity:
    """A crypto-currency address, recognised by its shape and then checked."""
    cleaned = _clean(text)
    for prefix in ("bitcoin:", "ethereum:", "monero:"):  # payment URIs
        if cleaned.lower().startswith(prefix):
            cleaned = cleaned[len(prefix):].split("?")[0]
    if re.fullmatch(r"0[xX][0-9a-fA-F]{40}", cleaned):
        return ethereum(cleaned)
    if len(cleaned) in (95, 106) and cleaned[0] in "4589AB":
        return monero(cleaned)
    lowered = cleaned.lower()
    if lowered.startswith(("bc1", "tb1", "bcrt1")) or (cleaned[:1] in "123mn" and 25 <= len(cleaned) <= 35):
        return bitcoin(cleaned)
    return Entity(EntityKind.BITCOIN, cleaned[:MAX_TEXT], valid=False, problem=Problem.UNKNOWN_FORMAT,
                  detail={"currency": "unknown"})


# -- free text ---------------------------------------------------------------------------------

_TEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"\bhttps?://[^\s<>\"']{3,2000}", re.I)),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b")),
    ("crypto", re.compile(r"\b(?:0x[0-9a-fA-F]{40}|(?:bc1|tb1)[02-9ac-hj-np-z]{11,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34}"
                          r"|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?)\b")),
    ("iban", re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")),
    ("phone", re.compile(r"(?<![\w+])\+[1-9][0-9 ().-]{6,20}[0-9]")),
)
MAX_FREE_TEXT = 20_000


def in_text(text: str | None) -> list[Entity]:
    """The entities a free text names (a report's additional information, a public report's
    description). Only values that check out are taken from prose: a word that merely looks
    like an address is not recorded."""
    if not text:
        return []
    text = str(text)[:MAX_FREE_TEXT]
    found: list[Entity] = []
    for name, pattern in _TEXT_PATTERNS:
        for match in pattern.finditer(text):
            candidate = match.group(0).rstrip(".,;:)]}")
            if name == "url":
                found += url(candidate)
            elif name == "email":
                found.append(email(candidate))
            elif name == "crypto":
                found.append(crypto(candidate))
            elif name == "iban":
                found.append(iban(candidate))
            else:
                found.append(phone(candidate))
    return unique(e for e in found if e.valid)


def unique(entities: Iterable[Entity]) -> list[Entity]:
    seen: set[tuple[str, str, bool]] = set()
    out = []
    for entity in entities:
        mark = (entity.kind.value, entity.value, entity.valid)
        if mark not in seen:
            seen.add(mark)
            out.append(entity)
    return out


# -- search ------------------------------------------------------------------------------------

def interpretations(query: str, region: str | None = None) -> list[Entity]:
    """Every valid entity a typed search value may be (a string of digits may be a phone number
    and a card's BIN), plus the unvalidated text itself."""
    cleaned = _clean(query)
    found: list[Entity] = []
    if not cleaned:
        return found
    if "@" in cleaned:
        found.append(email(cleaned))
    if re.fullmatch(r"[+0-9 ().-]{6,40}", cleaned):
        found.append(phone(cleaned, region))
    found.append(ip(cleaned))
    if "://" in cleaned:
        found += url(cleaned)
    elif "." in cleaned and " " not in cleaned:
        found.append(domain(cleaned))
    found += payment(cleaned)
    found.append(crypto(cleaned))
    if ":" in cleaned:
        service, _, ident = cleaned.partition(":")
        found.append(account(service.strip().lower(), ident, case_sensitive=True))
        found.append(account(service.strip().lower(), ident, case_sensitive=False))
    name = file_name(cleaned)
    if name is not None:
        found.append(name)
    return unique(e for e in found if e.valid)


# -- who sees what -----------------------------------------------------------------------------

#: Staff roles that may search the entity index and see a report's neighbourhood.
SEARCH_ROLES = frozenset({"analyst", "senior-analyst", "le-liaison"})
#: The report states each role may see in a search or a graph; other reports are counted, not shown.
FORWARDED_STATES = frozenset({"forwarded_europol_and_state", "forwarded_europol_only"})


def visible_to(role: str, state: str) -> bool:
    if role in ("analyst", "senior-analyst"):
        return True
    if role in ("le-liaison", "partner"):
        return state in FORWARDED_STATES
    return False


MIN_PURPOSE = 5
MAX_PURPOSE = 500


def check_purpose(purpose: str | None) -> str:
    """A search's purpose: required, one line, at least a few characters."""
    text = " ".join((purpose or "").split())
    if len(text) < MIN_PURPOSE:
        raise ValueError(f"purpose: say why you search (at least {MIN_PURPOSE} characters)")
    if len(text) > MAX_PURPOSE:
        raise ValueError(f"purpose: at most {MAX_PURPOSE} characters")
    return text
