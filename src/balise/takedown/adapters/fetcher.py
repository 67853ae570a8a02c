"""Safe fetcher for reported URLs: hash what they serve, later verify that it was removed.

A reported URL is hostile input. It may point at the centre's own network (a metadata
service, an admin page on 10.x), hide such an address behind a number trick
(``http://2130706433/``), a DNS answer, a redirect, or a DNS answer that changes between the
check and the connection (DNS rebinding); it may serve an endless body or trickle one byte
per second. This module refuses all of that with a stable error code.

How a fetch goes, hop by hop:

1. :func:`check_url` parses the URL the way browsers do (WHATWG host rules: backslashes are
   slashes, ``127.1``, ``0x7f.1`` and ``2130706433`` are IPv4 addresses, percent-encoded
   hosts are decoded), refuses what is not plain ``http``/``https`` without credentials, and
   converts the host with IDNA 2008 (UTS #46 mapping, as browsers do). It keeps the Unicode
   and the ASCII host and flags mixed-script or Latin-look-alike labels (flagged, not refused).
2. The host is resolved once through a :class:`Resolver` port (default: ``getaddrinfo``).
   If any address of the answer is special-use (private, loopback, link-local, shared,
   multicast, reserved, unspecified, IPv4-mapped/NAT64/6to4 forms of those, cloud metadata)
   and not permitted by the allow-list, the fetch is refused before any connection.
3. The HTTP request goes through ``httpcore`` with a network backend of our own
   (:class:`_PinnedBackend`) that can only open a TCP connection to the vetted addresses of
   that one host. The HTTP client never resolves a name, so a second DNS answer cannot
   change where we connect; TLS still runs on that socket with the URL's host name for SNI
   and certificate verification, because httpcore passes the origin host to ``start_tls``.
   We use httpcore directly (not httpx) because httpx's transport does not take a network
   backend; httpcore is httpx's own engine, so nothing new is installed.
4. Redirects are never followed by the client: each ``Location`` is checked like a new URL
   (steps 1-3), with a maximum number of hops and loop detection.
5. Every socket operation gets ``min(its own timeout, time left until the total deadline)``,
   so a server that trickles bytes is cut at the total deadline, headers included. The body
   is streamed and the fetch stops as soon as it passes ``max_bytes`` (a larger
   ``Content-Length`` is refused before reading).

Nothing is executed or parsed (the body is only hashed), no cookie is kept, no credential is
ever sent, ``Accept-Encoding: identity`` asks for the bytes as stored, and the User-Agent
says who we are: ``Balise-Verifier/<version> (+<contact URL>)``.

Errors: :class:`FetchRefused` (our policy said no) and :class:`FetchFailed` (the network or
the server failed), both with a stable ``code``. :func:`classify` turns a result or an error
into ``served | gone | unreachable | error`` for removal verification.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import ipaddress
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import httpcore
import idna

from balise import __version__
from balise.domain.addresses import IPAddress, IPNetwork, allowed_by, parse_networks, special_use

MAX_URL_LENGTH = 8192
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024


# Errors ---------------------------------------------------------------------------------------


class FetchError(Exception):
    """Base of both fetch errors. ``code`` is stable (for programs), ``message`` for people."""

    kind: str = "error"

    def __init__(self, code: str, message: str, *, url: str | None = None,
                 address: str | None = None, category: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.url = url
        self.address = address
        self.category = category
        self.hops: tuple[Hop, ...] = ()
        self.requested_url: str | None = None
        self.started_at: datetime | None = None
        self.elapsed: float | None = None


class FetchRefused(FetchError):
    """Our policy refused: a bad URL, a forbidden address, too many redirects, too large,
    too slow. Codes: ``malformed``, ``too_long``, ``scheme``, ``userinfo``, ``no_host``,
    ``host``, ``port``, ``idna``, ``ip_literal``, ``private_address``, ``too_many_redirects``,
    ``redirect_loop``, ``too_large``, ``timeout``."""

    kind = "refused"


class FetchFailed(FetchError):
    """The network or the server failed. Codes: ``dns_nxdomain``, ``dns_no_address``,
    ``dns_temporary``, ``dns_timeout``, ``dns_error``, ``connection_refused``,
    ``connect_timeout``, ``connect_error``, ``read_timeout``, ``network``, ``tls``,
    ``protocol``."""

    kind = "failed"


# URLs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetURL:
    """A checked URL. ``url`` is what is requested: ASCII host, default port dropped,
    non-ASCII and spaces in path and query percent-encoded, fragment removed."""

    original: str
    url: str
    scheme: Literal["http", "https"]
    host: str            # ASCII: A-labels, or the address text (IPv6 without brackets)
    host_unicode: str    # U-labels, or the address text
    port: int
    target: str          # path and query, as sent on the request line
    ip: IPAddress | None  # when the host is an address (however it was written)
    # idn, mapped, percent_encoded, numeric_disguise, mixed_script, latin_lookalike
    host_flags: tuple[str, ...] = ()

    @property
    def authority(self) -> str:
        return _authority(self.scheme, self.host, self.port, self.ip)


def _authority(scheme: str, host: str, port: int, ip: IPAddress | None) -> str:
    if ip is not None and ip.version == 6:
        host = f"[{host}]"
    return host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"


def _backslashes_to_slashes(text: str) -> str:
    """Browsers read a backslash as a slash before the query of an http(s) URL."""
    end = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=len(text))
    return text[:end].replace("\\", "/") + text[end:]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LDH = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# Characters percent-encoded in path and query besides non-ASCII (WHATWG path set).
_ENCODE = frozenset(' "<>`{}')


def _refuse(code: str, message: str, url: str) -> FetchRefused:
    return FetchRefused(code, message, url=url)


def check_url(url: str, *, max_length: int = MAX_URL_LENGTH) -> TargetURL:
    """Parse and check a URL without any network access. Raises :class:`FetchRefused`."""
    if not isinstance(url, str):
        raise _refuse("malformed", f"a URL must be text, not {type(url).__name__}", repr(url))
    text = url.strip(" \t\r\n\f\v")
    if len(text) > max_length:
        raise _refuse("too_long", f"the URL has {len(text)} characters; at most {max_length} are fetched", text[:200])
    if not text:
        raise _refuse("malformed", "the URL is empty", url)
    bad = _CONTROL.search(text)
    if bad:
        raise _refuse("malformed", f"the URL contains the control character U+{ord(bad.group()):04X} "
                      f"at position {bad.start()}", text)
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
    if not scheme_match:
        raise _refuse("scheme", "the URL has no scheme; only http:// and https:// URLs are fetched", text)
    scheme = scheme_match.group(1).lower()
    if scheme not in ("http", "https"):
        raise _refuse("scheme", f"the scheme {scheme!r} is not fetched; only http and https are", text)
    text = _backslashes_to_slashes(text)
    rest = text[len(scheme) + 1:]
    if not rest.startswith("//"):
        raise _refuse("no_host", "the URL has no host (expected scheme://host/...)", text)
    try:
        parts = urlsplit(scheme + ":" + rest)
    except ValueError as exc:  # bad IPv6 brackets, characters that NFKC-normalise to / ? # @ :
        if "Invalid IPv6 URL" in str(exc):
            raise _refuse("host", "the IPv6 address in the URL has no closing ']'", text) from None
        if "does not appear to be" in str(exc):
            raise _refuse("ip_literal", f"the host in brackets is not a valid IPv6 address: {exc}", text) from None
        raise _refuse("host", str(exc), text) from None
    netloc = parts.netloc
    if "@" in netloc:
        raise _refuse("userinfo", "the URL contains a user name or password; credentials are never sent", text)
    host_text, port = _split_host_port(netloc, scheme, text)
    host, host_unicode, ip, flags = _check_host(host_text, text)
    target = _encode(parts.path or "/") + ("?" + _encode(parts.query) if parts.query or text.endswith("?") else "")
    normalized = f"{scheme}://{_authority(scheme, host, port, ip)}{target}"
    if len(normalized) > max_length:
        raise _refuse("too_long", f"the URL has {len(normalized)} characters once encoded; at most {max_length} "
                      "are fetched", normalized[:200])
    return TargetURL(original=url, url=normalized, scheme=scheme, host=host,  # type: ignore[arg-type]
                     host_unicode=host_unicode, port=port, target=target, ip=ip, host_flags=flags)


def _split_host_port(netloc: str, scheme: str, url: str) -> tuple[str, int]:
    default = 443 if scheme == "https" else 80
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise _refuse("host", "the IPv6 address in the URL has no closing ']'", url)
        host, after = netloc[: end + 1], netloc[end + 1:]
        if after and not after.startswith(":"):
            raise _refuse("host", f"unexpected {after!r} after the IPv6 address", url)
        port_text = after[1:] if after else ""
    elif ":" in netloc:
        host, port_text = netloc.rsplit(":", 1)
    else:
        host, port_text = netloc, ""
    if not host:
        raise _refuse("no_host", "the URL has no host", url)
    if port_text == "":
        return host, default
    if not port_text.isascii() or not port_text.isdigit():
        raise _refuse("port", f"the port {port_text!r} is not a number", url)
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _refuse("port", f"the port {port} is outside 1-65535", url)
    return host, port


def _check_host(raw: str, url: str) -> tuple[str, str, IPAddress | None, tuple[str, ...]]:
    if raw.startswith("["):
        inner = raw[1:-1]
        if "%" in inner:
            raise _refuse("host", "IPv6 zone identifiers are not allowed in a URL to fetch", url)
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _refuse("ip_literal", f"{inner!r} is not a valid IPv6 address", url) from None
        return str(ip6), str(ip6), ip6, ()
    try:
        decoded = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("idna", "the host is percent-encoded bytes that are not UTF-8", url) from None
    try:
        mapped = idna.uts46_remap(decoded, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise _refuse("idna", f"the host {decoded!r} is not a valid internationalised name: {exc}", url) from None
    mapped = mapped.lower()
    ip = _whatwg_ipv4(mapped, url)
    if ip is not None:
        # 127.1, 0x7f.0.0.1, 2130706433: the address is judged, the disguise is noted.
        return str(ip), str(ip), ip, (("numeric_disguise",) if str(ip) != raw else ())
    flags: list[str] = []
    if decoded != raw:
        flags.append("percent_encoded")
    if mapped != decoded.lower():
        flags.append("mapped")
    trailing_dot = mapped.endswith(".")
    labels = (mapped[:-1] if trailing_dot else mapped).split(".")
    ascii_labels, unicode_labels = [], []
    for label in labels:
        if not label:
            raise _refuse("host", f"the host {decoded!r} has an empty label", url)
        if label.isascii() and not label.startswith("xn--"):
            if not _LDH.match(label):
                bad = next((c for c in label if not (c.isalnum() or c in "-_")), None)
                detail = f"the character {bad!r}" if bad else "a hyphen at the start or end, or more than 63 characters"
                code = "host" if bad else "idna"
                raise _refuse(code, f"the host label {label!r} has {detail}, which host names cannot have", url)
            ascii_labels.append(label)
            unicode_labels.append(label)
            continue
        try:
            if label.startswith("xn--"):
                ulabel = idna.decode(label)
                alabel = idna.encode(ulabel).decode("ascii")
                if alabel != label:
                    raise idna.IDNAError(f"{label!r} is not the canonical A-label of {ulabel!r}")
            else:
                alabel = idna.encode(label).decode("ascii")
                ulabel = label
        except (idna.IDNAError, UnicodeError) as exc:
            raise _refuse("idna", f"the host label {label!r} is not valid IDNA 2008: {exc}", url) from None
        ascii_labels.append(alabel)
        unicode_labels.append(ulabel)
        if "idn" not in flags:
            flags.append("idn")
        for flag in _script_flags(ulabel):
            if flag not in flags:
                flags.append(flag)
    host = ".".join(ascii_labels) + ("." if trailing_dot else "")
    if len(host.rstrip(".")) > 253:
        raise _refuse("idna", f"the host name has {len(host)} characters; at most 253 are allowed", url)
    return host, ".".join(unicode_labels) + ("." if trailing_dot else ""), None, tuple(flags)


def _whatwg_ipv4(host: str, url: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host stands for under the WHATWG URL rules, None if it is a name.

    A host whose last label is a number (decimal, 0x-hex or 0-octal) is an address; then each
    label is a number and the last fills the remaining bytes (``127.1`` is 127.0.0.1)."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]
    if _ipv4_number(parts[-1]) is None and not (parts[-1] and parts[-1].isascii() and parts[-1].isdigit()):
        return None
    if len(parts) > 4:
        raise _refuse("ip_literal", f"{host!r} ends in a number but has more than four parts", url)
    numbers = []
    for part in parts:
        value = _ipv4_number(part)
        if value is None:
            raise _refuse("ip_literal", f"{host!r} ends in a number but {part!r} is not a number", url)
        numbers.append(value)
    for value in numbers[:-1]:
        if value > 255:
            raise _refuse("ip_literal", f"{host!r}: the part {value} is larger than 255", url)
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise _refuse("ip_literal", f"{host!r}: the last part {numbers[-1]} is too large for an IPv4 address", url)
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int | None:
    if not part or not part.isascii():
        return None
    base, digits = 10, part
    if part[:2] in ("0x", "0X"):
        base, digits = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        base, digits = 8, part[1:]
    if digits == "":
        return 0
    try:
        return int(digits, base) if re.fullmatch(r"[0-9a-fA-F]+", digits) else None
    except ValueError:
        return None


def _encode(component: str) -> str:
    out = []
    for char in component:
        if char in _ENCODE or ord(char) > 0x7E:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return "".join(out)


# Characters of Cyrillic and Greek that look like Latin letters in most fonts.
_LATIN_LOOKALIKES = frozenset("аеорсухіјѕԁԛԝӏһвкмнтьοανρικτυχεѕ")
# Script combinations UTS #39 ("highly restrictive") accepts in one label.
_ALLOWED_MIXES = ({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}, {"LATIN", "HAN", "BOPOMOFO"}, {"LATIN", "HAN", "HANGUL"})


def _script(char: str) -> str | None:
    """The script of a letter, approximated by the first word of its Unicode name (the
    standard library has no script property); None for digits, marks and punctuation."""
    if not char.isalpha():
        return None
    first = unicodedata.name(char, "UNKNOWN").split(" ")[0].split("-")[0]
    return "HAN" if first == "CJK" else first


def _script_flags(label: str) -> list[str]:
    scripts = {s for s in (_script(c) for c in label) if s}
    flags = []
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        flags.append("mixed_script")
    letters = [c for c in label if c.isalpha()]
    if scripts & {"CYRILLIC", "GREEK"} and letters and all(c.isascii() or c in _LATIN_LOOKALIKES for c in letters):
        flags.append("latin_lookalike")
    return flags


# DNS ------------------------------------------------------------------------------------------


class ResolveFailed(Exception):
    """A name could not be resolved. ``code``: nxdomain, no_address, temporary, timeout, error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Resolver(Protocol):
    def resolve(self, host: str, timeout: float) -> Sequence[IPAddress]:
        """All addresses of ``host`` (ASCII), or raise :class:`ResolveFailed`."""
        ...


_DNS_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="balise-dns")


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), bounded in time: the call runs in
    a small thread pool because ``getaddrinfo`` itself cannot be given a timeout."""

    def resolve(self, host: str, timeout: float) -> Sequence[IPAddress]:
        future = _DNS_POOL.submit(socket.getaddrinfo, host, None, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=max(timeout, 0.001))
        except concurrent.futures.TimeoutError:
            raise ResolveFailed("timeout", f"no DNS answer for {host} within {timeout:.1f} s") from None
        except socket.gaierror as exc:
            code = {socket.EAI_NONAME: "nxdomain", getattr(socket, "EAI_NODATA", -5): "no_address",
                    getattr(socket, "EAI_ADDRFAMILY", -9): "no_address", socket.EAI_AGAIN: "temporary"}.get(
                exc.errno, "error")
            raise ResolveFailed(code, f"{host}: {exc.strerror}") from None
        except (UnicodeError, OSError) as exc:
            raise ResolveFailed("error", f"{host}: {exc}") from None
        addresses: list[IPAddress] = []
        for family, _, _, _, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise ResolveFailed("no_address", f"{host} has no IPv4 or IPv6 address")
        return addresses


class StaticResolver:
    """A fixed table of names, like a hosts file: for tests and for pinning names.

    A name mapped to a ResolveFailed code string (``"nxdomain"``...) fails with it; an
    unknown name is ``nxdomain``. ``calls`` counts lookups per name."""

    def __init__(self, table: dict[str, Iterable[str] | str]) -> None:
        self._table = {name.lower().rstrip("."): value for name, value in table.items()}
        self.calls: dict[str, int] = {}

    def resolve(self, host: str, timeout: float) -> Sequence[IPAddress]:
        name = host.lower().rstrip(".")
        self.calls[name] = self.calls.get(name, 0) + 1
        value = self._table.get(name)
        if value is None:
            raise ResolveFailed("nxdomain", f"{host}: name not known")
        if isinstance(value, str):
            raise ResolveFailed(value, f"{host}: {value}")
        return [ipaddress.ip_address(a) for a in value]


# Policy and results ---------------------------------------------------------------------------


def user_agent(contact: str | None) -> str:
    return f"Balise-Verifier/{__version__}" + (f" (+{contact})" if contact else "")


@dataclass(frozen=True)
class FetchPolicy:
    allow_networks: tuple[IPNetwork, ...] = ()
    max_bytes: int = 32 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_redirects: int = 5
    user_agent: str = field(default_factory=lambda: user_agent(None))
    max_url_length: int = MAX_URL_LENGTH

    @classmethod
    def from_settings(cls, settings: Any) -> FetchPolicy:
        return cls(
            allow_networks=parse_networks(settings.fetch_allow_networks),
            max_bytes=settings.fetch_max_bytes,
            connect_timeout=settings.fetch_connect_timeout_seconds,
            read_timeout=settings.fetch_read_timeout_seconds,
            total_timeout=settings.fetch_total_timeout_seconds,
            max_redirects=settings.fetch_max_redirects,
            user_agent=user_agent(settings.fetch_user_agent_contact),
        )


@dataclass(frozen=True)
class Hop:
    """One request made: its URL, the answer's status, the address we connected to and the
    ``Location`` it pointed to (absolute), if any."""

    url: str
    status: int
    address: str
    location: str | None = None


@dataclass(frozen=True)
class FetchResult:
    requested_url: str
    target: TargetURL           # the requested URL as checked (Unicode and ASCII host, flags)
    final_url: str
    hops: tuple[Hop, ...]
    status: int
    content_type: str | None
    content_encoding: str | None
    headers: tuple[tuple[str, str], ...]
    size: int
    sha256: str
    md5: str
    body: bytes = field(repr=False)
    elapsed: float
    started_at: datetime

    @property
    def address(self) -> str:
        """The address that served the final answer."""
        return self.hops[-1].address


# The network backend --------------------------------------------------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.seconds = seconds
        self.hit = False

    def clamp(self, timeout: float | None) -> tuple[float, bool]:
        left = self.at - time.monotonic()
        if left <= 0:
            self.hit = True
            raise httpcore.ReadTimeout("total time limit reached")
        if timeout is None or left < timeout:
            return left, True
        return timeout, False


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every operation ends by the fetch's total deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def _bounded(self, call: Any, timeout: float | None, *args: Any) -> Any:
        bounded, clamped = self._deadline.clamp(timeout)
        try:
            return call(*args, timeout=bounded)
        except httpcore.TimeoutException:
            if clamped:
                self._deadline.hit = True
            raise

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._bounded(self._inner.read, timeout, max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._bounded(self._inner.write, timeout, buffer)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        bounded, clamped = self._deadline.clamp(timeout)
        try:
            inner = self._inner.start_tls(ssl_context, server_hostname, timeout=bounded)
        except httpcore.TimeoutException:
            if clamped:
                self._deadline.hit = True
            raise
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses vetted for one host; never resolves a name."""

    def __init__(self, host: str, addresses: Sequence[IPAddress], deadline: _Deadline) -> None:
        self._host = host
        self._addresses = list(addresses)
        self._deadline = deadline
        self._tcp = httpcore.SyncBackend()
        self.connected: IPAddress | None = None

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"refusing to connect to {host!r}: only {self._host!r} was vetted")
        last: Exception | None = None
        for address in self._addresses:
            bounded, clamped = self._deadline.clamp(timeout)
            try:
                stream = self._tcp.connect_tcp(str(address), port, timeout=bounded, socket_options=socket_options)
            except httpcore.ConnectTimeout as exc:
                if clamped:
                    self._deadline.hit = True
                    raise
                last = exc
                continue
            except httpcore.ConnectError as exc:
                last = exc
                continue
            self.connected = address
            return _DeadlineStream(stream, self._deadline)
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used by the fetcher")


# The fetcher ----------------------------------------------------------------------------------


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system store, read once per process (~20 ms each time); a context is safe to share
    between threads and is never changed after this."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Fetcher:
    """Fetches one URL at a time under a :class:`FetchPolicy`. Thread-safe: a fetch shares
    no state with another."""

    def __init__(self, policy: FetchPolicy | None = None, resolver: Resolver | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self.resolver: Resolver = resolver or SystemResolver()
        self.ssl_context = ssl_context or default_ssl_context()

    @classmethod
    def from_settings(cls, settings: Any, resolver: Resolver | None = None,
                      ssl_context: ssl.SSLContext | None = None) -> Fetcher:
        return cls(FetchPolicy.from_settings(settings), resolver, ssl_context)

    def fetch(self, url: str, *, accept: str = "*/*", max_bytes: int | None = None) -> FetchResult:
        """GET ``url`` following redirects under the policy. Raises :class:`FetchRefused` or
        :class:`FetchFailed`; an HTTP error status (404, 500...) is a result, not an error."""
        started_at = datetime.now(UTC)
        started = time.monotonic()
        deadline = _Deadline(self.policy.total_timeout)
        cap = self.policy.max_bytes if max_bytes is None else max_bytes
        hops: list[Hop] = []
        target: TargetURL | None = None
        try:
            target = first = check_url(url, max_length=self.policy.max_url_length)
            seen = {target.url}
            while True:
                result = self._one_hop(target, accept, cap, deadline, hops)
                if isinstance(result, TargetURL):
                    if len(hops) > self.policy.max_redirects:
                        raise FetchRefused("too_many_redirects", f"more than {self.policy.max_redirects} redirects",
                                           url=result.url)
                    if result.url in seen:
                        raise FetchRefused("redirect_loop", f"{target.url} redirects back to {result.url}",
                                           url=result.url)
                    seen.add(result.url)
                    target = result
                    continue
                status, address, headers, body = result
                header = _header_lookup(headers)
                return FetchResult(
                    requested_url=url, target=first, final_url=target.url, hops=tuple(hops), status=status,
                    content_type=header("content-type"), content_encoding=header("content-encoding"),
                    headers=headers, size=len(body), sha256=hashlib.sha256(body).hexdigest(),
                    md5=hashlib.md5(body, usedforsecurity=False).hexdigest(), body=body,
                    elapsed=time.monotonic() - started, started_at=started_at)
        except FetchError as exc:
            exc.hops = tuple(hops)
            exc.requested_url = url
            exc.started_at = started_at
            exc.elapsed = time.monotonic() - started
            if exc.url is None and target is not None:
                exc.url = target.url
            raise

    def _vet(self, target: TargetURL, deadline: _Deadline) -> list[IPAddress]:
        if target.ip is not None:
            addresses: Sequence[IPAddress] = [target.ip]
        else:
            try:
                bounded, clamped = deadline.clamp(self.policy.connect_timeout)
            except httpcore.ReadTimeout:
                raise self._deadline_error(target) from None
            try:
                addresses = self.resolver.resolve(target.host.rstrip("."), bounded)
            except ResolveFailed as exc:
                if exc.code == "timeout" and clamped:
                    raise self._deadline_error(target) from None
                raise FetchFailed(f"dns_{exc.code}", str(exc), url=target.url) from None
            if not addresses:
                raise FetchFailed("dns_no_address", f"{target.host} has no address", url=target.url)
        for address in addresses:
            category = special_use(address)
            if category is not None and not allowed_by(address, self.policy.allow_networks):
                where = "is" if target.ip is not None else f"{target.host} resolves to"
                raise FetchRefused("private_address", f"{where} {address} ({category.replace('_', '-')} address); "
                                   "only public addresses are fetched", url=target.url, address=str(address),
                                   category=category)
        return list(addresses)

    def _deadline_error(self, target: TargetURL) -> FetchRefused:
        return FetchRefused("timeout", f"the total time limit of {self.policy.total_timeout:g} s was reached",
                            url=target.url)

    def _one_hop(self, target: TargetURL, accept: str, cap: int, deadline: _Deadline, hops: list[Hop]
                 ) -> TargetURL | tuple[int, str, tuple[tuple[str, str], ...], bytes]:
        addresses = self._vet(target, deadline)
        backend = _PinnedBackend(target.host.rstrip(".") if target.ip is None else target.host, addresses, deadline)
        origin = httpcore.Origin(target.scheme.encode(), backend._host.encode("ascii"), target.port)
        connection = httpcore.HTTPConnection(origin=origin, ssl_context=self.ssl_context, network_backend=backend)
        request_headers = [
            (b"Host", target.authority.encode("ascii")),
            (b"User-Agent", self.policy.user_agent.encode("ascii", "replace")),
            (b"Accept", accept.encode("ascii")),
            (b"Accept-Encoding", b"identity"),
            (b"Connection", b"close"),
        ]
        request_url = httpcore.URL(scheme=target.scheme.encode(), host=origin.host, port=target.port,
                                   target=target.target.encode("ascii"))
        timeouts = {"connect": self.policy.connect_timeout, "read": self.policy.read_timeout,
                    "write": self.policy.read_timeout, "pool": self.policy.connect_timeout}
        try:
            with _closing(connection):
                with connection.stream("GET", request_url, headers=request_headers,
                                       extensions={"timeout": timeouts}) as response:
                    address = str(backend.connected)
                    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers)
                    header = _header_lookup(headers)
                    location_raw = _raw_header(response.headers, b"location")
                    if response.status in REDIRECT_STATUSES and location_raw is not None:
                        location = _resolve_location(target.url, location_raw)
                        hops.append(Hop(target.url, response.status, address, location))
                        return check_url(location, max_length=self.policy.max_url_length)
                    hops.append(Hop(target.url, response.status, address, None))
                    length = header("content-length")
                    if length is not None and length.strip().isdigit() and int(length) > cap:
                        raise FetchRefused("too_large", f"the answer announces {int(length)} bytes; at most {cap} "
                                           "are fetched", url=target.url)
                    body = bytearray()
                    for chunk in response.iter_stream():
                        body += chunk
                        if len(body) > cap:
                            raise FetchRefused("too_large", f"the answer is larger than {cap} bytes; fetching "
                                               "stopped there", url=target.url)
                    return response.status, address, headers, bytes(body)
        except FetchError:
            raise
        except httpcore.TimeoutException as exc:
            if deadline.hit:
                raise self._deadline_error(target) from None
            if isinstance(exc, httpcore.ConnectTimeout):
                raise FetchFailed("connect_timeout", f"no connection to {target.authority} within "
                                  f"{self.policy.connect_timeout:g} s", url=target.url) from None
            raise FetchFailed("read_timeout", f"{target.authority} sent nothing for {self.policy.read_timeout:g} s",
                              url=target.url) from None
        except httpcore.ProtocolError as exc:
            raise FetchFailed("protocol", f"{target.authority} did not answer in HTTP/1.1: {exc}",
                              url=target.url) from None
        except httpcore.NetworkError as exc:
            raise _network_failure(exc, target) from None


@contextlib.contextmanager
def _closing(connection: httpcore.HTTPConnection) -> Iterator[None]:
    try:
        yield
    finally:
        connection.close()


def _network_failure(exc: Exception, target: TargetURL) -> FetchFailed:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or str(cause)
            return FetchFailed("tls", f"TLS with {target.host} failed: {reason}", url=target.url)
        if isinstance(cause, ConnectionRefusedError):
            return FetchFailed("connection_refused", f"{target.authority} refused the connection", url=target.url)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpcore.ConnectError):
        return FetchFailed("connect_error", f"no connection to {target.authority}: {exc}", url=target.url)
    return FetchFailed("network", f"the connection to {target.authority} failed: {exc}", url=target.url)


def _header_lookup(headers: tuple[tuple[str, str], ...]) -> Any:
    def lookup(name: str) -> str | None:
        for key, value in headers:
            if key.lower() == name:
                return value
        return None
    return lookup


def _raw_header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value.decode("latin-1")
    return None


def _resolve_location(base: str, location: str) -> str:
    return urljoin(base, _backslashes_to_slashes(location.strip()))


# Removal verification -------------------------------------------------------------------------

VerdictState = Literal["served", "gone", "unreachable", "error"]

_GONE_STATUSES = frozenset({404, 410, 451})
# A refused connection may be a server restarting: removal is not concluded from it.
_GONE_FAILURES = frozenset({"dns_nxdomain", "dns_no_address"})
_UNREACHABLE_FAILURES = frozenset({"connection_refused", "dns_temporary", "dns_timeout", "connect_timeout",
                                   "connect_error", "read_timeout", "network"})


@dataclass(frozen=True)
class Verdict:
    """What a fetch says about a reported URL. ``same_content`` compares the served body with
    an expected SHA-256 (None when no body or no expectation)."""

    state: VerdictState
    reason: str
    status: int | None = None
    same_content: bool | None = None


def classify(outcome: FetchResult | FetchError, expected_sha256: str | None = None) -> Verdict:
    """``served`` (2xx; ``reason`` ``same_content`` or ``changed`` when ``expected_sha256`` is
    given), ``gone`` (404/410/451, NXDOMAIN, a name without address), ``unreachable``
    (connection refused, timeouts, network failures, 5xx: try again later) or ``error`` (our
    policy refused, TLS or protocol failure, any other status: a person must look)."""
    if isinstance(outcome, FetchResult):
        status = outcome.status
        if 200 <= status < 300:
            if expected_sha256 is None:
                return Verdict("served", f"http_{status}", status)
            same = outcome.sha256 == expected_sha256.lower()
            return Verdict("served", "same_content" if same else "changed", status, same)
        if status in _GONE_STATUSES:
            return Verdict("gone", f"http_{status}", status)
        if status >= 500:
            return Verdict("unreachable", f"http_{status}", status)
        return Verdict("error", f"http_{status}", status)
    if isinstance(outcome, FetchFailed):
        if outcome.code in _GONE_FAILURES:
            return Verdict("gone", outcome.code)
        if outcome.code in _UNREACHABLE_FAILURES:
            return Verdict("unreachable", outcome.code)
        return Verdict("error", outcome.code)
    if outcome.code == "timeout":
        return Verdict("unreachable", outcome.code)
    return Verdict("error", outcome.code)


__all__ = [
    "FetchError", "FetchFailed", "FetchPolicy", "FetchRefused", "FetchResult", "Fetcher", "Hop", "ResolveFailed",
    "Resolver", "StaticResolver", "SystemResolver", "TargetURL", "Verdict", "check_url", "classify",
    "default_ssl_context", "user_agent",
]
