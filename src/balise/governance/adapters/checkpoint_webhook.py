"""Deliver each checkpoint to a partner (another centre, a supervisory authority) by HTTP POST,
so that a copy exists that nobody at the centre can change (docs/oversight.md)."""

from __future__ import annotations

import base64

import httpx


class CheckpointWebhook:
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_s

    def __call__(self, name: str, document: bytes, token: bytes | None) -> None:
        """POST ``{"name", "checkpoint" (the file, base64), "timestamp_token" (DER, base64, or
        null)}``; any answer but 2xx raises."""
        body = {"name": name, "checkpoint": base64.b64encode(document).decode("ascii"),
                "timestamp_token": base64.b64encode(token).decode("ascii") if token else None}
        response = httpx.post(self._url, json=body, timeout=self._timeout, headers={"x-balise-checkpoint": name})
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"{self._url} answered HTTP {response.status_code}")
