"""Offline IP address -> country, network and operator, with a note when the operator is a
CDN or reverse proxy (the real host is then behind it, and the abuse notice goes to the CDN
first, asking it to name or notify the origin).

Data: the files shipped inside the ``geoip2fast`` package (MaxMind GeoLite2 Country + ASN,
converted; ``source`` in each answer names the edition and its date). Nothing is downloaded
at run time. IPv4 addresses are looked up in ``geoip2fast-asn.dat.gz``, IPv6 addresses in
``geoip2fast-asn-ipv6.dat.gz``; each file is loaded on first use, once, under a lock.

geoip2fast keeps its tables in module globals, so two data files loaded in one module would
overwrite each other. Each file is therefore loaded into its own private copy of the
geoip2fast module. Importing geoip2fast also sets ``PYTHONWARNINGS`` and ``PYTHONIOENCODING``
in ``os.environ``; those two variables are put back as they were.

Measured on the 2-core development machine (Python 3.11, geoip2fast 1.2.2):

* load: IPv4 file 0.19 s and about 80 MiB; IPv6 file (which also holds IPv4) 0.3 s and
  about 105 MiB more, loaded only when the first IPv6 address is looked up;
* lookup: about 25 µs per address once loaded, about 10 µs of it in geoip2fast
  (100,000 random IPv4 addresses in 2.6 s).

The CDN list is by operator (ASN holder) name, because the data carries names, not AS
numbers. ``cdn_kind`` is ``"cdn"`` for networks that only front other sites (Cloudflare,
Akamai, Fastly...) and ``"cloud"`` for operators whose same network also hosts sites
directly (Amazon: CloudFront and EC2 share AMAZON-02; Google; Microsoft: Azure Front Door and
Azure), so the address may be the origin itself.
"""

from __future__ import annotations

import functools
import importlib.util
import ipaddress
import os
import re
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from balise.domain.addresses import IPAddress, embedded_ipv4, special_use

IPV4_FILE = "geoip2fast-asn.dat.gz"
IPV6_FILE = "geoip2fast-asn-ipv6.dat.gz"

CdnKind = Literal["cdn", "cloud"]

# (provider, kind, operator-name pattern matched in full, case-insensitive). Names as they
# appear in the shipped data, e.g. "CLOUDFLARENET", "Datacamp Limited" (CDN77's network).
CDN_NETWORKS: tuple[tuple[str, CdnKind, str], ...] = (
    ("cloudflare", "cdn", r"cloudflarenet(-.*)?|cloudflare(,)? inc\.?|cloudflare [a-z]+, llc"),
    ("akamai", "cdn", r"akamai(-as|-asn\d*|-test|-nominum-asn)?|akamai international b\.v\.|akamai technologies.*"),
    ("fastly", "cdn", r"fastly(-.*)?"),
    ("amazon", "cloud", r"amazon-02|amazon-as|amazon-aes|amazon-fc|amazon data services .*|amazon\.com(, inc\.)?"),
    ("google", "cloud", r"google|google-2|google cloud networking|google-cloud-platform|google ireland limited"
                        r"|google (asia pacific|singapore) pte\. ltd\.|google switzerland gmbh"),
    ("microsoft", "cloud", r"microsoft(-corp-.*|-gp-as)?|microsoft corp(oration)?|microsoft limited"),
    ("bunny", "cdn", r"bunnyway, informacijske storitve d\.o\.o\."),
    ("stackpath", "cdn", r"stackpath(-cdn|-j2dns)?|stackpath llc|highwinds.*"),
    ("imperva", "cdn", r"incapsula|imperva(-.*)?|incapsula inc"),
    ("sucuri", "cdn", r"sucuri(-sec)?"),
    ("ddos-guard", "cdn", r"ddos-guard( ltd| corp\.?)?"),
    ("edgio", "cdn", r"edgecast(-.*)?|edgio,? inc\.?|edgio korea ltd\.|limelight( networks)?.*"),
    ("cdn77", "cdn", r"datacamp limited|cdn77.*"),
    ("gcore", "cdn", r"g-core labs s\.a\.|gcore.*"),
    ("qrator", "cdn", r"qrator labs.*"),
    ("stormwall", "cdn", r"stormwall s\.r\.o\."),
    ("myra", "cdn", r"myra security gmbh"),
    ("link11", "cdn", r"link11 gmbh"),
    ("medianova", "cdn", r"medianova internet hizmetleri ve ticaret anonim sirketi"),
    ("cdnetworks", "cdn", r"cdnetworks(us-\d+)?"),
)
_CDN_PATTERNS = tuple((name, kind, re.compile(pattern, re.IGNORECASE)) for name, kind, pattern in CDN_NETWORKS)


@dataclass(frozen=True)
class NetworkInfo:
    """Where an address is, by the offline data. ``country`` is ISO 3166-1 alpha-2 (None for
    special-use addresses and addresses the data does not cover); ``network_cidr`` is the
    routed prefix of the operator when known, else the country block; ``organisation`` the
    operator (AS holder) name."""

    ip: str
    country: str | None
    network_cidr: str | None
    organisation: str | None
    is_private: bool
    cdn: str | None = None
    cdn_kind: CdnKind | None = None
    private_category: str | None = None  # loopback, private, shared, metadata ... (see addresses.py)
    source: str | None = None  # the data edition, e.g. "MAXMIND:GeoLite2-CountryASN-IPv4-en-20240618"


class GeoLookupError(ValueError):
    """The text is not an IP address."""


@functools.lru_cache(maxsize=4096)
def cdn_for(organisation: str | None) -> tuple[str, CdnKind] | None:
    """The CDN or reverse-proxy provider an operator name belongs to, with its kind."""
    if not organisation:
        return None
    for name, kind, pattern in _CDN_PATTERNS:
        if pattern.fullmatch(organisation.strip()):
            return name, kind
    return None


def _private_geoip2fast() -> ModuleType:
    """A fresh copy of the geoip2fast module, with its own globals."""
    saved = {k: os.environ.get(k) for k in ("PYTHONWARNINGS", "PYTHONIOENCODING")}
    try:
        # Finding the submodule imports the package, which imports the submodule once.
        spec = importlib.util.find_spec("geoip2fast.geoip2fast")
        if spec is None or spec.loader is None:
            raise RuntimeError("the geoip2fast package is not installed")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return module


class GeoLocator:
    """Thread-safe; each data file is loaded on the first lookup that needs it."""

    def __init__(self, ipv4_file: str = IPV4_FILE, ipv6_file: str = IPV6_FILE) -> None:
        self._files = {4: ipv4_file, 6: ipv6_file}
        self._readers: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _reader(self, version: int) -> Any:
        reader = self._readers.get(version)
        if reader is None:
            with self._lock:
                reader = self._readers.get(version)
                if reader is None:
                    module = _private_geoip2fast()
                    reader = module.GeoIP2Fast(geoip2fast_data_file=self._files[version])
                    self._readers[version] = reader
        return reader

    def lookup(self, ip: str | IPAddress) -> NetworkInfo:
        try:
            address = ipaddress.ip_address(str(ip).strip().strip("[]"))
        except ValueError:
            raise GeoLookupError(f"{str(ip)!r} is not an IPv4 or IPv6 address") from None
        category = special_use(address)
        if category is not None:
            return NetworkInfo(ip=str(address), country=None, network_cidr=None, organisation=None,
                               is_private=True, private_category=category)
        # An IPv4-mapped, NAT64 or 6to4 address is looked up as the IPv4 address it carries.
        inner = embedded_ipv4(address)
        looked_up = inner if inner is not None else address
        reader = self._reader(looked_up.version)
        detail = reader.lookup(str(looked_up))
        country = detail.country_code if re.fullmatch(r"[A-Z]{2}", detail.country_code or "") else None
        organisation, network = None, None
        if detail.asn_name and detail.asn_cidr:
            asn_network = _network(detail.asn_cidr)
            # geoip2fast's own range check is wrong for IPv4 in its IPv6 file: check again.
            if looked_up in asn_network:
                organisation, network = detail.asn_name, str(asn_network)
        if network is None and detail.cidr:
            network = str(_network(detail.cidr))
        cdn = cdn_for(organisation)
        return NetworkInfo(
            ip=str(address), country=country, network_cidr=network, organisation=organisation,
            is_private=bool(detail.is_private), cdn=cdn[0] if cdn else None, cdn_kind=cdn[1] if cdn else None,
            source=getattr(reader, "source_info", None))


@functools.lru_cache(maxsize=65536)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


_default: GeoLocator | None = None
_default_lock = threading.Lock()


def default_locator() -> GeoLocator:
    global _default
    with _default_lock:
        if _default is None:
            _default = GeoLocator()
        return _default


def lookup(ip: str | IPAddress) -> NetworkInfo:
    """Look ``ip`` up with the process-wide locator (loaded on first use)."""
    return default_locator().lookup(ip)
