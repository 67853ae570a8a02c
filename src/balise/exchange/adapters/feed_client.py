"""Fetch one page of another installation's exchange feed (HTTP), no redirects followed."""

from __future__ import annotations

import httpx

from balise.exchange.ports import FeedFetchError, FetchedPage

MAX_PAGE_BYTES = 64 * 1024 * 1024


def fetch_page(base_url: str, list_name: str, since: int, api_key: str, *, limit: int = 1000,
               timeout_s: float = 30.0) -> FetchedPage:
    url = f"{base_url.rstrip('/')}/api/v1/exchange/{list_name}"
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client, client.stream(
                "GET", url, params={"since": since, "limit": limit},
                headers={"Authorization": f"Bearer {api_key}"}) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    raise FeedFetchError(f"the page is larger than {MAX_PAGE_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise FeedFetchError(f"{url}: {exc}") from None
    if response.status_code != 200:
        raise FeedFetchError(f"{url} answered {response.status_code}: {body[:300].decode('utf-8', 'replace')}")
    return FetchedPage(body=body, signature=response.headers.get("balise-signature", ""))
