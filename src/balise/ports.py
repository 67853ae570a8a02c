"""Small interfaces the services depend on. Each has a real adapter and a local one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol


class Clock(Protocol):
    def __call__(self) -> datetime: ...


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    key_id: str
    created: bool  # False when the object was already in the vault


class BlobVault(Protocol):
    """Encrypted, content-addressed object storage. Only the evidence service holds one,
    so that every read of media goes through an audited call."""

    def put(self, sha256: str, stream: BinaryIO) -> StoredBlob: ...

    def read_chunks(self, sha256: str) -> Iterator[bytes]: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...


# Notice delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingEmail:
    """One plain-text message to one recipient. ``reference`` is the notice reference: the
    adapters derive the Message-ID from it, so a retried send carries the same Message-ID."""

    to: str
    subject: str
    body: str
    reference: str
    reply_to: str | None = None
    language: str | None = None  # Content-Language, e.g. "fr"


@dataclass(frozen=True)
class DeliveryResult:
    channel: str  # "smtp", "outbox" or "webhook"
    message_id: str  # the Message-ID of an email, the delivery id of a webhook
    response: str  # what the other side answered ("250 2.0.0 Ok", "HTTP 202"), or where it was written
    status: int | None = None  # SMTP or HTTP status code of the final answer
    receipt: dict[str, Any] | None = None  # a webhook receiver's JSON acknowledgement


class DeliveryError(Exception):
    """A send that did not happen. ``retryable`` says whether the same send may succeed later
    unchanged (connection refused, timeout, temporary rejection); otherwise something must
    change first (address, configuration, endpoint). ``retry_after`` is the delay in seconds
    the other side asked for, when it said one."""

    def __init__(self, retryable: bool, code: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.retryable = retryable
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Mailer(Protocol):
    def send(self, message: OutgoingEmail) -> DeliveryResult: ...


class WebhookSender(Protocol):
    def send(self, endpoint: str, secret: str, event_type: str, payload: dict[str, Any],
             delivery_id: str) -> DeliveryResult: ...
