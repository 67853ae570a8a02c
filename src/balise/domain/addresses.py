"""Which IP addresses are special-use (not a public host on the internet), and why.

The safe fetcher refuses to connect to any of them unless an explicit allow-list permits it;
the geolocation adapter flags them as private. Python's ``ipaddress`` flags alone are not
enough: ``is_global`` is true for NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses that
embed a private IPv4 address, so those are unwrapped and the embedded address is judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Cloud instance-metadata services: reaching one from a server can leak its credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean ...
    "169.254.170.2",    # AWS ECS task metadata
    "169.254.169.253",  # AWS VPC DNS
    "169.254.169.123",  # AWS time sync
    "100.100.100.200",  # Alibaba Cloud
    "fd00:ec2::254",    # AWS IMDS over IPv6
    "fd00:ec2::253",    # AWS VPC DNS over IPv6
    "fd00:ec2::123",    # AWS time sync over IPv6
))

# (network, category), most specific first where they overlap.
_SPECIAL: tuple[tuple[IPNetwork, str], ...] = tuple((ipaddress.ip_network(n), c) for n, c in (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved"),            # IPv4-compatible (deprecated)
    ("64:ff9b:1::/48", "private"),    # local-use NAT64
    ("100::/64", "reserved"),         # discard-only
    ("2001::/23", "reserved"),        # IETF protocol assignments, Teredo
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private"),          # unique local
    ("fe80::/10", "link_local"),
    ("fec0::/10", "link_local"),      # site-local (deprecated)
    ("ff00::/8", "multicast"),
))

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The same table as integer ranges per IP version: a lookup is a few comparisons.
_RANGES: dict[int, tuple[tuple[int, int, str], ...]] = {
    version: tuple((int(n.network_address), int(n.broadcast_address), c) for n, c in _SPECIAL if n.version == version)
    for version in (4, 6)
}


def parse_ip(text: str) -> IPAddress | None:
    """The address written in ``text`` (no brackets, no zone), or None."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def special_use(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet host (``metadata``, ``loopback``, ``private``,
    ``link_local``, ``shared``, ``multicast``, ``unspecified``, ``documentation``,
    ``broadcast``, ``reserved``), or None for a public address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return special_use(inner)
    if address in METADATA_ADDRESSES:
        return "metadata"
    value = int(address)
    for first, last, category in _RANGES[address.version]:
        if first <= value <= last:
            return category
    # The IPv4 table covers every range Python calls non-global; IPv6 has more of them.
    if address.version == 6 and not address.is_global:
        return "reserved"
    return None


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from a comma-separated string (or an iterable of strings).

    Raises ValueError naming the entry that is not a network."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP network in CIDR notation (e.g. 127.0.0.1/32): {exc}") from None
    return tuple(networks)


def allowed_by(address: IPAddress, allow: Iterable[IPNetwork]) -> bool:
    """Whether an allow-list permits a special-use address. A metadata address is permitted
    only when the allow-list names it exactly (a /32 or /128), never by a wider network."""
    candidates = [address]
    inner = embedded_ipv4(address)
    if inner is not None:
        candidates.append(inner)
    for network in allow:
        for candidate in candidates:
            if candidate.version != network.version or candidate not in network:
                continue
            if candidate in METADATA_ADDRESSES and network.num_addresses != 1:
                continue
            return True
    return False
