"""The takedown capability's ports and the values that cross them. Its adapters (fetcher, geo,
RDAP, delivery by mail/webhook/export) implement these and import nothing from its services,
so no database object and no service type reaches an adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Fetched:
    """One fetch, whatever happened. ``outcome``: served, gone, unreachable, refused, error."""

    outcome: str
    detail: str | None = None
    http_status: int | None = None
    final_url: str | None = None
    host: str | None = None
    # The host as read by a person (U-labels) and what the URL check noticed about it
    # (idn, mixed_script, latin_lookalike, mapped, percent_encoded, numeric_disguise).
    host_unicode: str | None = None
    host_flags: list[str] = field(default_factory=list)
    address: str | None = None
    addresses: list[str] = field(default_factory=list)
    content_type: str | None = None
    body: bytes | None = None


@dataclass(frozen=True)
class Location:
    country: str | None
    network: str | None
    organisation: str | None
    cdn: str | None


@dataclass(frozen=True)
class AbuseContact:
    email: str | None
    name: str | None
    handle: str | None


class UrlFetcher(Protocol):
    def fetch(self, url: str) -> Fetched: ...


class Locator(Protocol):
    def locate(self, address: str) -> Location: ...


class AbuseDirectory(Protocol):
    def abuse_contact(self, address: str) -> AbuseContact:
        """Raises LookupError with a readable reason when there is none."""
        ...


class DeliveryProblem(Exception):
    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        # Seconds the recipient asked us to wait (SMTP 4xx text, HTTP Retry-After), if it said.
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language: str


@dataclass(frozen=True)
class Outgoing:
    """What a delivery adapter needs; no database object crosses the port."""

    reference: str
    kind: str
    channel: str
    recipient: str | None
    subject: str
    body: str
    language: str
    partner_name: str | None
    partner_slug: str | None
    webhook_secret: str | None
    package_path: str | None
    package_id: str | None
    package_sha256: str | None
    report_id: str | None  # None for an order's notice that no report concerns
    order_id: str | None = None


class Deliverer(Protocol):
    def deliver(self, outgoing: Outgoing) -> dict[str, Any]:
        """Deliver or raise DeliveryProblem; returns the receipt (may be empty)."""
        ...
