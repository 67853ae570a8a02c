"""The abuse contact of the network that hosts an address, through RDAP.

RDAP (RFC 9082 queries, RFC 9083 JSON answers) is the structured successor of WHOIS. Which
server knows an address is said by a bootstrap registry (RFC 9224: IANA's ``ipv4.json`` and
``ipv6.json``). Balise ships a small copy mapping blocks to the five Regional Internet
Registries (``rdap_bootstrap/``); ``BALISE_RDAP_BOOTSTRAP`` names another directory or an
``http(s)`` base URL holding the two files (e.g. a current copy of IANA's).

A lookup:

1. picks the most specific bootstrap entry for the address (an https URL when one is given);
2. ``GET <base>ip/<address>`` with ``Accept: application/rdap+json`` through the safe
   fetcher, so the same address refusals, size cap and time limits apply; HTTP redirects
   (an RIR referring to another) are followed by the fetcher, re-checked at each hop;
3. reads the ``ip network`` object: handle, name, country, start and end address, CIDRs
   (``cidr0_cidrs`` or computed from the range), parent handle;
4. finds the entity with the ``abuse`` role, at any depth of ``entities`` (shallowest
   first), and reads its jCard (RFC 7095): name, e-mail addresses, telephone numbers. If the
   abuse entity carries no vCard but a ``self`` link, that link is fetched; if the network
   names no abuse entity but has an ``up`` link, the parent network is asked. At most
   ``max_queries`` requests per lookup.

Answers are kept through a small cache port (:class:`RdapCache`): a found network under
each of its CIDRs (so any address of the same network is answered without a request), for
``ttl`` seconds; a "not found" under the address for the shorter ``negative_ttl``; and a
429's ``Retry-After`` as a back-off per server, during which no request is sent to it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from balise.domain.addresses import IPAddress, IPNetwork, special_use
from balise.takedown.adapters.fetcher import FetchFailed, FetchRefused, FetchResult

RDAP_MEDIA_TYPES = ("application/rdap+json", "application/json")
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_TTL = 7 * 24 * 3600.0
DEFAULT_NEGATIVE_TTL = 3600.0
DEFAULT_MAX_QUERIES = 4


class RdapError(Exception):
    """An RDAP lookup failed. Codes: ``invalid_ip``, ``special_address``, ``no_bootstrap``,
    ``bootstrap_invalid``, ``not_found``, ``rate_limited`` (``retry_after`` in seconds when
    the server said), ``server_error``, ``http_status``, ``content_type``,
    ``malformed_json``, ``missing_object``, ``too_large``, ``refused`` and ``unavailable``
    (the fetcher's code is in ``fetch_code``)."""

    def __init__(self, code: str, message: str, *, url: str | None = None, retry_after: float | None = None,
                 fetch_code: str | None = None, from_cache: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.url = url
        self.retry_after = retry_after
        self.fetch_code = fetch_code
        self.from_cache = from_cache


# Ports ----------------------------------------------------------------------------------------


class Fetch(Protocol):
    """What RDAP needs of the safe fetcher."""

    def fetch(self, url: str, *, accept: str = "*/*", max_bytes: int | None = None) -> FetchResult: ...


class RdapCache(Protocol):
    """Keyed JSON-able values with a time to live. ``get`` returns None for a missing or
    expired key."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any], ttl_seconds: float) -> None: ...


class MemoryRdapCache:
    """In-process cache; thread-safe; at most ``max_entries`` (expired, then oldest, go)."""

    def __init__(self, max_entries: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._items[key]
                return None
            return json.loads(json.dumps(item[1]))

    def put(self, key: str, value: dict[str, Any], ttl_seconds: float) -> None:
        with self._lock:
            now = self._clock()
            if len(self._items) >= self._max and key not in self._items:
                for stale in [k for k, (expires, _) in self._items.items() if expires <= now]:
                    del self._items[stale]
                while len(self._items) >= self._max:
                    del self._items[next(iter(self._items))]
            self._items[key] = (now + ttl_seconds, json.loads(json.dumps(value)))

    def __len__(self) -> int:
        return len(self._items)


# Results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbuseContact:
    handle: str | None
    name: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    kind: str | None          # vCard kind: org, individual, group
    roles: tuple[str, ...]
    source_url: str           # the RDAP URL the contact was read from


@dataclass(frozen=True)
class RdapNetwork:
    query_ip: str
    handle: str | None
    name: str | None
    country: str | None
    start_address: str | None
    end_address: str | None
    cidrs: tuple[str, ...]
    ip_version: str | None
    type: str | None
    parent_handle: str | None
    port43: str | None
    abuse: AbuseContact | None
    source_url: str           # the final URL of the network answer (after redirects)
    bootstrap_url: str        # the base URL the bootstrap registry named
    retrieved_at: str         # ISO 8601, UTC, when the server answered
    from_cache: bool = False
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RdapNetwork:
        abuse = data.get("abuse")
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "abuse"}
        contact = None
        if abuse:
            contact = AbuseContact(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in abuse.items()})
        return cls(abuse=contact, **values)


# Bootstrap ------------------------------------------------------------------------------------


class Bootstrap:
    """The RFC 9224 registries for IPv4 and IPv6, as (network, base URLs) entries."""

    def __init__(self, entries: list[tuple[IPNetwork, tuple[str, ...]]]) -> None:
        self.entries = sorted(entries, key=lambda entry: entry[0].prefixlen, reverse=True)

    @classmethod
    def from_documents(cls, *documents: tuple[str, bytes]) -> Bootstrap:
        entries: list[tuple[IPNetwork, tuple[str, ...]]] = []
        for name, raw in documents:
            entries.extend(_parse_bootstrap(name, raw))
        return cls(entries)

    @classmethod
    def default(cls) -> Bootstrap:
        package = resources.files("balise.takedown.adapters") / "rdap_bootstrap"
        return cls.from_documents(*((f"rdap_bootstrap/{n}", (package / n).read_bytes())
                                    for n in ("ipv4.json", "ipv6.json")))

    @classmethod
    def from_directory(cls, path: str | Path) -> Bootstrap:
        documents = []
        for name in ("ipv4.json", "ipv6.json"):
            file = Path(path) / name
            try:
                documents.append((str(file), file.read_bytes()))
            except OSError as exc:
                raise RdapError("bootstrap_invalid", f"cannot read the bootstrap file {file}: {exc.strerror}") from None
        return cls.from_documents(*documents)

    @classmethod
    def from_url(cls, base: str, fetcher: Fetch) -> Bootstrap:
        documents = []
        for name in ("ipv4.json", "ipv6.json"):
            url = base.rstrip("/") + "/" + name
            try:
                result = fetcher.fetch(url, accept="application/json", max_bytes=4 * 1024 * 1024)
            except (FetchRefused, FetchFailed) as exc:
                raise RdapError("bootstrap_invalid", f"cannot fetch the bootstrap file {url}: {exc.message}",
                                url=url, fetch_code=exc.code) from None
            if result.status != 200:
                raise RdapError("bootstrap_invalid", f"the bootstrap file {url} answered HTTP {result.status}", url=url)
            documents.append((url, result.body))
        return cls.from_documents(*documents)

    @classmethod
    def load(cls, location: str | None, fetcher: Fetch) -> Bootstrap:
        """The shipped copy (None), a directory, or an http(s) base URL."""
        if not location:
            return cls.default()
        if location.startswith(("http://", "https://")):
            return cls.from_url(location, fetcher)
        return cls.from_directory(location)

    def base_for(self, address: IPAddress) -> str | None:
        for network, urls in self.entries:
            if network.version == address.version and address in network:
                https = [u for u in urls if u.startswith("https://")]
                chosen = (https or list(urls))[0]
                return chosen if chosen.endswith("/") else chosen + "/"
        return None


def _parse_bootstrap(name: str, raw: bytes) -> list[tuple[IPNetwork, tuple[str, ...]]]:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RdapError("bootstrap_invalid", f"{name} is not JSON: {exc}") from None
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, list):
        raise RdapError("bootstrap_invalid", f"{name} has no \"services\" list (RFC 9224)")
    entries = []
    for index, service in enumerate(services):
        if (not isinstance(service, list) or len(service) != 2 or not all(isinstance(part, list) for part in service)
                or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in service[1])
                or not service[1]):
            raise RdapError("bootstrap_invalid", f"{name}: service {index} is not [[networks...], [http(s) URLs...]]")
        for text in service[0]:
            try:
                network = ipaddress.ip_network(text, strict=False)
            except (ValueError, TypeError):
                raise RdapError("bootstrap_invalid", f"{name}: service {index} lists {text!r}, not a network") from None
            entries.append((network, tuple(service[1])))
    return entries


# jCard and entities ---------------------------------------------------------------------------


def _vcard_properties(entity: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and card[0] == "vcard" and isinstance(card[1], list)):
        return
    for prop in card[1]:
        if isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str):
            params = prop[1] if isinstance(prop[1], dict) else {}
            yield prop[0].lower(), params, prop[3] if len(prop) == 4 else prop[3:]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        parts = [v for v in (_text(item) for item in value) if v]
        return " ".join(parts) or None
    return None


def _contact(entity: dict[str, Any], source_url: str) -> AbuseContact:
    name = kind = None
    emails: list[str] = []
    phones: list[str] = []
    for prop, _params, value in _vcard_properties(entity):
        text = _text(value)
        if text is None:
            continue
        if prop == "fn" and name is None:
            name = text
        elif prop == "email":
            address = text.removeprefix("mailto:")
            if "@" in address and address not in emails:
                emails.append(address)
        elif prop == "tel":
            number = text.removeprefix("tel:")
            if number not in phones:
                phones.append(number)
        elif prop == "kind":
            kind = text
    roles = tuple(r for r in entity.get("roles", []) if isinstance(r, str))
    handle = entity.get("handle") if isinstance(entity.get("handle"), str) else None
    return AbuseContact(handle, name, tuple(emails), tuple(phones), kind, roles, source_url)


def find_abuse_entity(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The entity with the ``abuse`` role nearest to the top of ``obj`` (breadth first)."""
    level = [e for e in obj.get("entities", []) if isinstance(e, dict)]
    depth = 0
    while level and depth < 8:
        for entity in level:
            roles = entity.get("roles")
            if isinstance(roles, list) and "abuse" in roles:
                return entity
        level = [child for entity in level for child in entity.get("entities", []) if isinstance(child, dict)]
        depth += 1
    return None


def _link(obj: dict[str, Any], rel: str) -> str | None:
    for link in obj.get("links", []) or []:
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("href"), str):
            media = link.get("type")
            if media is None or media in RDAP_MEDIA_TYPES:
                return link["href"]
    return None


def _cidrs(network: dict[str, Any], start: str | None, end: str | None) -> tuple[str, ...]:
    found = []
    for item in network.get("cidr0_cidrs", []) or []:
        if not isinstance(item, dict):
            continue
        prefix = item.get("v4prefix") or item.get("v6prefix")
        try:
            found.append(str(ipaddress.ip_network(f"{prefix}/{int(item.get('length'))}", strict=False)))
        except (ValueError, TypeError):
            continue
    if not found and start and end:
        try:
            first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
            found = [str(n) for n in ipaddress.summarize_address_range(first, last)]  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return ()
    return tuple(found)


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


# The client -----------------------------------------------------------------------------------


class RdapClient:
    """Looks up the network and abuse contact of an address. Thread-safe."""

    def __init__(self, fetcher: Fetch, bootstrap: Bootstrap | Callable[[], Bootstrap] | None = None,
                 cache: RdapCache | None = None, *, ttl: float = DEFAULT_TTL,
                 negative_ttl: float = DEFAULT_NEGATIVE_TTL, max_queries: int = DEFAULT_MAX_QUERIES,
                 max_bytes: int = DEFAULT_MAX_BYTES, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._fetcher = fetcher
        self._bootstrap_source = bootstrap if bootstrap is not None else Bootstrap.default
        self._bootstrap: Bootstrap | None = bootstrap if isinstance(bootstrap, Bootstrap) else None
        self._bootstrap_lock = threading.Lock()
        self.cache: RdapCache = cache if cache is not None else MemoryRdapCache()
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_queries = max_queries
        self.max_bytes = max_bytes
        self._now = now

    @classmethod
    def from_settings(cls, settings: Any, fetcher: Fetch, cache: RdapCache | None = None) -> RdapClient:
        location = settings.rdap_bootstrap
        return cls(fetcher, lambda: Bootstrap.load(location, fetcher), cache,
                   ttl=settings.rdap_cache_ttl_seconds, negative_ttl=settings.rdap_negative_cache_ttl_seconds)

    @property
    def bootstrap(self) -> Bootstrap:
        if self._bootstrap is None:
            with self._bootstrap_lock:
                if self._bootstrap is None:
                    source = self._bootstrap_source
                    self._bootstrap = source() if callable(source) else source
        return self._bootstrap

    def lookup(self, ip: str | IPAddress) -> RdapNetwork:
        try:
            address = ipaddress.ip_address(str(ip).strip().strip("[]"))
        except ValueError:
            raise RdapError("invalid_ip", f"{str(ip)!r} is not an IPv4 or IPv6 address") from None
        category = special_use(address)
        if category is not None:
            raise RdapError("special_address", f"{address} is a {category.replace('_', '-')} address; "
                            "no registry holds it")
        cached = self._cached(address)
        if cached is not None:
            return cached
        base = self.bootstrap.base_for(address)
        if base is None:
            raise RdapError("no_bootstrap", f"the bootstrap registry names no RDAP server for {address}")
        backoff = self.cache.get(f"rdap:backoff:{base}")
        if backoff is not None:
            raise RdapError("rate_limited", f"{base} asked us to wait; not asking again before the back-off ends",
                            url=base, retry_after=backoff.get("retry_after"), from_cache=True)
        queries = [0]
        url = f"{base}ip/{address}"
        try:
            final_url, network = self._get(url, "ip network", base, queries)
        except RdapError as exc:
            if exc.code == "not_found":
                self.cache.put(f"rdap:ip:{address}", {"code": exc.code, "message": exc.message, "url": exc.url},
                               self.negative_ttl)
            raise
        retrieved_at = self._now().isoformat()
        result = self._network(address, network, final_url, base, retrieved_at, queries)
        # A server that answers a network not holding the address is cached for that address only.
        holds = any(address in ipaddress.ip_network(cidr) for cidr in result.cidrs)
        keys = [f"rdap:net:{cidr}" for cidr in result.cidrs] if holds else [f"rdap:ip:{address}"]
        for key in keys:
            self.cache.put(key, {"network": result.to_json()}, self.ttl)
        return result

    def _cached(self, address: IPAddress) -> RdapNetwork | None:
        negative = self.cache.get(f"rdap:ip:{address}")
        if negative is not None:
            if "network" in negative:
                return _from_cache(negative["network"], address)
            raise RdapError(negative.get("code", "not_found"), negative.get("message", "not found (cached)"),
                            url=negative.get("url"), from_cache=True)
        bits = address.max_prefixlen
        for length in range(bits, 0, -1):
            network = ipaddress.ip_network(f"{address}/{length}", strict=False)
            hit = self.cache.get(f"rdap:net:{network}")
            if hit is not None and "network" in hit:
                return _from_cache(hit["network"], address)
        return None

    def _get(self, url: str, object_class: str, base: str, queries: list[int]) -> tuple[str, dict[str, Any]]:
        queries[0] += 1
        try:
            result = self._fetcher.fetch(url, accept="application/rdap+json", max_bytes=self.max_bytes)
        except FetchRefused as exc:
            if exc.code == "too_large":
                raise RdapError("too_large", f"the RDAP answer of {url} is larger than {self.max_bytes} bytes",
                                url=exc.url or url, fetch_code=exc.code) from None
            raise RdapError("refused", f"the fetcher refused {exc.url or url}: {exc.message}", url=exc.url or url,
                            fetch_code=exc.code) from None
        except FetchFailed as exc:
            raise RdapError("unavailable", f"{exc.url or url}: {exc.message}", url=exc.url or url,
                            fetch_code=exc.code) from None
        final = result.final_url
        if result.status == 404:
            raise RdapError("not_found", _error_text(result) or f"{final} has no record", url=final)
        if result.status == 429:
            retry_after = _retry_after(result, self._now())
            if retry_after is not None:
                self.cache.put(f"rdap:backoff:{base}", {"retry_after": retry_after}, retry_after)
            wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            raise RdapError("rate_limited", f"{final} is rate limiting us (HTTP 429){wait}", url=final,
                            retry_after=retry_after)
        if result.status >= 500:
            raise RdapError("server_error", f"{final} answered HTTP {result.status}", url=final)
        if result.status != 200:
            detail = _error_text(result)
            raise RdapError("http_status", f"{final} answered HTTP {result.status}" + (f": {detail}" if detail else ""),
                            url=final)
        media = (result.content_type or "").split(";")[0].strip().lower()
        if media not in RDAP_MEDIA_TYPES:
            raise RdapError("content_type", f"{final} answered {media or 'no content type'!r}, "
                            "not application/rdap+json", url=final)
        try:
            document = json.loads(result.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RdapError("malformed_json", f"{final} answered bytes that are not UTF-8 (at byte {exc.start})",
                            url=final) from None
        except json.JSONDecodeError as exc:
            raise RdapError("malformed_json", f"{final} answered malformed JSON: {exc.msg} at line {exc.lineno} "
                            f"column {exc.colno}", url=final) from None
        if not isinstance(document, dict):
            raise RdapError("missing_object", f"{final} answered a JSON {type(document).__name__}, not an RDAP object",
                            url=final)
        found = document.get("objectClassName")
        if found != object_class:
            what = f"an object of class {found!r}" if found else "an object without objectClassName"
            raise RdapError("missing_object", f"{final} answered {what}, expected {object_class!r}", url=final)
        return final, document

    def _network(self, address: IPAddress, network: dict[str, Any], url: str, base: str, retrieved_at: str,
                 queries: list[int]) -> RdapNetwork:
        start, end = _str(network, "startAddress"), _str(network, "endAddress")
        notes: list[str] = []
        abuse = self._abuse(network, url, base, queries, notes)
        return RdapNetwork(
            query_ip=str(address), handle=_str(network, "handle"), name=_str(network, "name"),
            country=_str(network, "country"), start_address=start, end_address=end,
            cidrs=_cidrs(network, start, end), ip_version=_str(network, "ipVersion"), type=_str(network, "type"),
            parent_handle=_str(network, "parentHandle"), port43=_str(network, "port43"), abuse=abuse,
            source_url=url, bootstrap_url=base, retrieved_at=retrieved_at, notes=tuple(notes))

    def _abuse(self, network: dict[str, Any], url: str, base: str, queries: list[int],
               notes: list[str]) -> AbuseContact | None:
        current, current_url = network, url
        while True:
            entity = find_abuse_entity(current)
            if entity is not None:
                contact = _contact(entity, current_url)
                self_link = _link(entity, "self")
                if not contact.emails and self_link and queries[0] < self.max_queries:
                    try:
                        entity_url, full = self._get(self_link, "entity", base, queries)
                    except RdapError as exc:
                        notes.append(f"abuse entity {contact.handle} could not be read: {exc.code}")
                        return contact
                    merged = dict(full)
                    merged.setdefault("roles", entity.get("roles", []))
                    return _contact(merged, entity_url)
                return contact
            parent = _link(current, "up")
            if parent is None:
                notes.append("no abuse contact in the registry answer")
                return None
            if queries[0] >= self.max_queries:
                notes.append(f"no abuse contact within {self.max_queries} queries")
                return None
            try:
                current_url, current = self._get(parent, "ip network", base, queries)
            except RdapError as exc:
                notes.append(f"parent network {parent} could not be read: {exc.code}")
                return None


def _from_cache(data: dict[str, Any], address: IPAddress) -> RdapNetwork:
    network = RdapNetwork.from_json(data)
    values = network.to_json()
    values.update(query_ip=str(address), from_cache=True)
    return RdapNetwork.from_json(values)


def _error_text(result: FetchResult) -> str | None:
    """The title and description of an RDAP error object (RFC 9083 section 6), if any."""
    try:
        document = json.loads(result.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    parts = [document.get("title")] + list(document.get("description") or [])
    text = " ".join(p for p in parts if isinstance(p, str) and p)
    return text[:500] or None


def _retry_after(result: FetchResult, now: datetime) -> float | None:
    value = next((v for k, v in result.headers if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
