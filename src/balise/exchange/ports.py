"""The values the exchange's adapters hand to its services."""

from __future__ import annotations

from dataclasses import dataclass


class FeedFetchError(RuntimeError):
    """The partner's feed could not be read (network, status, size): try again later."""


@dataclass(frozen=True)
class FetchedPage:
    body: bytes
    signature: str  # the Balise-Signature header, "ed25519=<base64>"


class PartnerUnreachable(RuntimeError):
    """A partner installation did not answer (network, timeout): try again later."""


@dataclass(frozen=True)
class PartnerAnswer:
    status: int
    body: bytes

    def json(self) -> dict[str, object]:
        import json

        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
