"""Sending a request with the fast path (web/fast_paths.py) and again without it."""

from __future__ import annotations

from typing import Any


def both(client: Any, method: str, path: str, **kwargs: Any) -> list[Any]:
    """The answers to the same request with the fast path on, then off, from one application."""
    fast = client.app.state.fast_paths
    answers = []
    for enabled in (True, False):
        fast.enabled = enabled
        try:
            answers.append(client.request(method, path, **kwargs))
        finally:
            fast.enabled = True
    return answers
