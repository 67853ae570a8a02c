"""POST a signed request to a partner installation (HTTP), no redirects followed, the answer
read up to a bound."""

from __future__ import annotations

import httpx

from balise.exchange.ports import PartnerAnswer, PartnerUnreachable

MAX_ANSWER_BYTES = 256 * 1024


def post_signed(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float = 30.0) -> PartnerAnswer:
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client, client.stream(
                "POST", url, content=body, headers={**headers, "Content-Type": "application/json"}) as response:
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) > MAX_ANSWER_BYTES:
                    break
    except httpx.HTTPError as exc:
        raise PartnerUnreachable(f"{url}: {exc}") from None
    return PartnerAnswer(response.status_code, answer[:MAX_ANSWER_BYTES])
