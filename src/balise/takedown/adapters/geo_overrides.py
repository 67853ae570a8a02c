"""Networks the shipped registry data cannot place: private and lab networks (a hotline's test
site, the loopback demo), or corrections an operator knows better. A JSON list in the file
named by BALISE_GEO_OVERRIDES_FILE:

    [{"network": "127.0.0.0/8", "country": "NL", "organisation": "Demo hosting (loopback)",
      "abuse_email": "abuse@demo-hosting.example"}]

The most specific network containing an address wins; everything else goes to the registry
data (location) and to RDAP (abuse contact), which both refuse to place special-use
addresses.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

from balise.takedown.ports import AbuseContact, AbuseDirectory, Location

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class GeoOverridesError(ValueError):
    pass


class Override:
    def __init__(self, network: Network, location: Location, abuse: AbuseContact | None) -> None:
        self.network, self.location, self.abuse = network, location, abuse


def load_overrides(path: Path) -> list[Override]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeoOverridesError(f"BALISE_GEO_OVERRIDES_FILE {path}: {exc}") from exc
    if not isinstance(data, list):
        raise GeoOverridesError(f"BALISE_GEO_OVERRIDES_FILE {path}: expected a JSON list")
    entries = []
    for n, entry in enumerate(data, 1):
        try:
            network = ipaddress.ip_network(entry["network"], strict=False)
            country = entry.get("country")
            if country is not None and (not isinstance(country, str) or len(country) != 2 or not country.isupper()):
                raise ValueError("country must be an ISO 3166 alpha-2 code such as NL")
            email = entry.get("abuse_email")
            if email is not None and (not isinstance(email, str) or "@" not in email or len(email) > 320):
                raise ValueError("abuse_email must be an e-mail address")
            location = Location(country=country, network=str(network), organisation=entry.get("organisation"),
                                cdn=entry.get("cdn"))
            abuse = AbuseContact(email=email, name=entry.get("organisation"), handle="override") if email else None
            entries.append(Override(network, location, abuse))
        except (KeyError, TypeError, ValueError) as exc:
            raise GeoOverridesError(f"BALISE_GEO_OVERRIDES_FILE {path}, entry {n}: {exc}") from exc
    # Most specific first.
    return sorted(entries, key=lambda e: -e.network.prefixlen)


def _find(overrides: list[Override], address: str) -> Override | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for entry in overrides:
        if ip.version == entry.network.version and ip in entry.network:
            return entry
    return None


class OverridingLocator:
    def __init__(self, base: Callable[[str], Location], overrides: list[Override]) -> None:
        self._base = base
        self._overrides = overrides

    def locate(self, address: str) -> Location:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return Location(None, None, None, None)
        entry = _find(self._overrides, address)
        return entry.location if entry is not None else self._base(address)


class OverridingAbuseDirectory:
    def __init__(self, base: AbuseDirectory, overrides: list[Override]) -> None:
        self._base = base
        self._overrides = overrides

    def abuse_contact(self, address: str) -> AbuseContact:
        entry = _find(self._overrides, address)
        if entry is not None and entry.abuse is not None:
            return entry.abuse
        return self._base.abuse_contact(address)
