"""E-mail addresses and SMTP endpoints as values: what the settings check at start-up and the
mail adapters use. Pure parsing, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from typing import Literal
from urllib.parse import unquote, urlsplit

# ASCII addresses only: an internationalised address needs SMTPUTF8 end to end, which abuse
# desks cannot be relied on to offer; a domain can be given in its xn-- form.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
# "addr" or "Name <addr>" (the name optionally in double quotes).
_SENDER = re.compile(r'(?:"?([^"<>\\]*?)"?\s*<([^<>]+)>|([^<>\s]+))')

def is_address(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 254 and bool(_ADDRESS.match(value))


def parse_sender(value: str) -> Address:
    """``notices@centre.example`` or ``Balise Centre <notices@centre.example>``; ValueError
    says what is wrong."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise ValueError("must be one line: an address, or a name and <address>")
    match = _SENDER.fullmatch(value.strip())
    name, addr = (match.group(1) or "", match.group(2) or match.group(3)) if match else ("", "")
    if not is_address(addr):
        raise ValueError(f"{value!r} is not an email address like notices@centre.example "
                         f"or 'Centre name <notices@centre.example>'")
    return Address(display_name=name, addr_spec=addr)


Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


@dataclass(frozen=True)
class SmtpEndpoint:
    security: Security
    host: str
    port: int
    username: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpEndpoint:
        """ValueError naming what is wrong with the URL."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{url!r} is not a URL: {exc}") from exc
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(s + '://' for s in _SCHEMES)}, not {scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError(f"{url!r} names no host")
        if parts.password is not None:
            raise ValueError("the URL must not contain a password: put it in BALISE_SMTP_PASSWORD_FILE "
                             "(or BALISE_SMTP_PASSWORD)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{url!r} must be only scheme://[user@]host[:port]")
        security, default_port = _SCHEMES[scheme]
        return cls(security, parts.hostname, port or default_port, unquote(parts.username) if parts.username else None)

    def __str__(self) -> str:
        scheme = {v[0]: k for k, v in _SCHEMES.items()}[self.security]
        return f"{scheme}://{self.host}:{self.port}"
