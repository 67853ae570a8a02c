"""Fetch a reported URL safely, find where it is hosted and who takes abuse notices there,
hash what it serves and match it against the indicators (INHOPE ICCAM: a reported URL is
crawled and what it serves is classified; earlier classifications are re-used).

What was fetched is kept in the evidence vault only when it matches an indicator; otherwise
only its hashes remain.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Item, Report, UrlHosting
from balise.detection.adapters.media_layout import locate
from balise.detection.matching_types import HashQuery
from balise.detection.media_hashing import distinct_matches, exact_queries, hash_private_copy, read_perceptual
from balise.domain.audit import AuditEvent
from balise.governance.audit import AuditTrail
from balise.takedown.ports import AbuseDirectory, Fetched, Locator, UrlFetcher

log = logging.getLogger("balise.urls")

URL_FETCH_JOB = "url.fetch"
SYSTEM = Actor.system("fetcher")


class Matcher(Protocol):
    def match(self, queries: list[HashQuery]) -> list[Any]: ...


class Evidence(Protocol):
    def store(self, session: Session, sha256: str, stream: Any, actor: Actor, purpose: str) -> Any: ...



class UrlInspector:
    def __init__(self, new_session: Callable[[], Session], audit: AuditTrail, clock: Callable[[], datetime], *,
                 fetcher: UrlFetcher, locator: Locator, abuse: AbuseDirectory, matcher: Matcher,
                 media_hasher: Callable[[str], dict[str, Any]], evidence: Evidence,
                 reuse: Callable[[Session, Item, datetime], None], tmp_dir: Path,
                 enqueue: Callable[[Session, Item], None] | None = None, max_page_media: int = 0) -> None:
        # A page's pictures and videos become items of their own (INHOPE: each is classified
        # separately), each inspected by its own job; enqueue queues that job.
        self._enqueue = enqueue
        self._max_page_media = max_page_media
        self._new_session = new_session
        self._audit = audit
        self._clock = clock
        self._fetcher = fetcher
        self._locator = locator
        self._abuse = abuse
        self._matcher = matcher
        self._hasher = media_hasher
        self._evidence = evidence
        self._reuse = reuse
        self._tmp = tmp_dir

    def handle(self, payload: dict[str, Any]) -> None:
        """The job. Idempotent: an item already inspected is left as it is."""
        item_id = uuid.UUID(payload["item_id"])
        with self._new_session() as session:
            item = session.get(Item, item_id)
            if item is None or item.kind != "url" or not item.url:
                return
            if session.get(UrlHosting, item_id) is not None:
                return
            url, report_id = item.url, item.report_id
            found_on = (item.media_metadata or {}).get("found_on")
        fetched = self._fetcher.fetch(url)
        location = self._locator.locate(fetched.address) if fetched.address else None
        contact, rdap_error = None, None
        if fetched.address:
            try:
                contact = self._abuse.abuse_contact(fetched.address)
            except LookupError as exc:
                rdap_error = str(exc)
        detection = self._detect(fetched)
        with self._new_session() as session, session.begin():
            # The report row is the lock that serialises the inspections of its items.
            report = session.get(Report, report_id, with_for_update=True)
            item = session.get(Item, item_id, with_for_update=True)
            if item is None or report is None or session.get(UrlHosting, item_id) is not None:
                return
            sha256 = hashlib.sha256(fetched.body).hexdigest() if fetched.body is not None else None
            hosting = UrlHosting(
                item_id=item.id, report_id=item.report_id, host=fetched.host,
                host_unicode=fetched.host_unicode, host_flags=list(fetched.host_flags) or None,
                address=fetched.address,
                addresses=fetched.addresses or None, hosted_country=location.country if location else None,
                network=location.network if location else None,
                organisation=location.organisation if location else None, cdn=location.cdn if location else None,
                abuse_email=contact.email if contact else None, abuse_name=contact.name if contact else None,
                rdap_handle=contact.handle if contact else None, rdap_error=rdap_error,
                fetch_status=fetched.outcome, fetch_error=fetched.detail, http_status=fetched.http_status,
                final_url=fetched.final_url, content_sha256=sha256, stored=False, fetched_at=self._clock())
            session.add(hosting)
            if detection is not None and item.sha256 is None:
                item.md5, item.sha1, item.sha256 = detection["md5"], detection["sha1"], sha256
                item.content_type, item.size = fetched.content_type, len(fetched.body or b"")
                item.media_type = detection["media_type"]
                item.hashes = detection["hashes"] or None
                item.hash_status = detection["status"]
                item.hash_error = detection.get("error")
                item.hash_notes = detection.get("notes") or None
                item.polyglot = bool(detection.get("polyglot"))
                item.matches = detection["matches"] or None
                item.matched = bool(detection["matches"])
                if item.matched and fetched.body is not None:
                    # Evidence of known material is kept (encrypted); anything else is not.
                    self._evidence.store(session, sha256, io.BytesIO(fetched.body), SYSTEM,
                                         "reported URL served known material")
                    item.vault_object = sha256
                    hosting.stored = True
                self._reuse(session, item, self._clock())
            found = self._page_media(fetched) if found_on is None else []
            added = self._add_found(session, report, item, found) if found else 0
            details: dict[str, Any] = {"outcome": fetched.outcome, "http_status": fetched.http_status,
                                       "hosted_country": hosting.hosted_country, "matched": item.matched,
                                       "page_media": added, "host_flags": list(fetched.host_flags)}
            if fetched.host_unicode and fetched.host_unicode != fetched.host:
                # A look-alike name is only recognisable in the form a person reads.
                details["host_unicode"] = fetched.host_unicode
            self._audit.record(session, AuditEvent.URL_FETCH, SYSTEM, "item", str(item.id), "inspect a reported URL",
                               details)

    def _page_media(self, fetched: Fetched) -> list[str]:
        """The pictures and videos an HTML page shows or links to, as absolute http(s) URLs,
        at most max_page_media. The page is parsed as data: nothing in it is run or fetched
        here (lxml, no network); each URL found is fetched later by the safe fetcher."""
        if self._max_page_media <= 0 or self._enqueue is None or fetched.outcome != "served" or not fetched.body:
            return []
        if (fetched.content_type or "").split(";")[0].strip().lower() not in ("text/html", "application/xhtml+xml"):
            return []
        return page_media_urls(fetched.body, fetched.final_url or "", self._max_page_media)

    def _add_found(self, session: Session, report: Report, page: Item, urls: list[str]) -> int:
        known = {i.url for i in report.items}
        position = max((i.position for i in report.items), default=-1)
        added = 0
        for url in urls:
            if url in known:
                continue
            position += 1
            child = Item(id=uuid.uuid4(), report_id=report.id, position=position, kind="url", url=url,
                         media_metadata={"found_on": page.url, "found_on_item": str(page.id)},
                         created_at=self._clock())
            session.add(child)
            session.flush()
            self._audit.record(session, AuditEvent.ITEM_CREATE, SYSTEM, "item", str(child.id),
                               "a picture or video found on a reported page", {"found_on_item": str(page.id)})
            assert self._enqueue is not None
            self._enqueue(session, child)
            known.add(url)
            added += 1
        return added

    def capture(self, item_id: uuid.UUID, actor: Actor, purpose: str) -> Fetched:
        """Fetch the URL again and keep what it serves in the evidence vault because an
        analyst asked (with the stated purpose), even if it matches nothing."""
        with self._new_session() as session:
            item = session.get(Item, item_id)
            if item is None or item.kind != "url" or not item.url:
                raise LookupError("no such URL item")
            url = item.url
        fetched = self._fetcher.fetch(url)
        if fetched.outcome != "served" or fetched.body is None:
            return fetched
        sha256 = hashlib.sha256(fetched.body).hexdigest()
        with self._new_session() as session, session.begin():
            item = session.get(Item, item_id, with_for_update=True)
            if item is None:
                raise LookupError("no such URL item")
            self._evidence.store(session, sha256, io.BytesIO(fetched.body), actor, purpose)
            if item.vault_object is None:
                item.vault_object = sha256
                item.sha256 = item.sha256 or sha256
                item.content_type = item.content_type or fetched.content_type
                item.size = item.size or len(fetched.body)
            hosting = session.get(UrlHosting, item_id)
            if hosting is not None:
                hosting.stored = True
            self._audit.record(session, AuditEvent.URL_FETCH, actor, "item", str(item.id), purpose,
                               {"outcome": fetched.outcome, "http_status": fetched.http_status, "kept": True})
        return fetched

    def _detect(self, fetched: Fetched) -> dict[str, Any] | None:
        if fetched.outcome != "served" or fetched.body is None:
            return None
        content_type = (fetched.content_type or "").split(";")[0].strip().lower()
        body = fetched.body
        # What the body is decides, as for an upload (media_layout.py); the server's word only
        # adds media the content does not reveal.
        located = locate(body).media_type
        media_type = located if located != "other" else (
            "image" if content_type.startswith("image/") else "video" if content_type.startswith("video/") else None)
        md5, sha1 = hashlib.md5(body).hexdigest(), hashlib.sha1(body).hexdigest()
        queries = exact_queries(md5, sha1, hashlib.sha256(body).hexdigest())
        result: dict[str, Any] = {"status": "not_applicable", "hashes": {}, "matches": [],
                                  "md5": md5, "sha1": sha1, "media_type": media_type or "other"}
        if media_type is not None:
            found = read_perceptual(hash_private_copy(self._hasher, self._tmp, "balise-fetch-", [body]))
            result["status"], result["hashes"] = found.status, found.hashes
            result["notes"], result["polyglot"] = found.notes, found.polyglot
            if found.error is not None:
                result["error"] = found.error
            queries += found.queries
        result["matches"], _ = distinct_matches(self._matcher.match(queries))
        return result


MEDIA_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif",
                  ".mp4", ".webm", ".mov", ".m4v", ".avi", ".mkv")


def page_media_urls(html: bytes, base: str, limit: int) -> list[str]:
    """Pictures and videos of a page: <img src/srcset>, <video src>, <source src>, <video poster>,
    and links to files with a picture or video suffix; absolute, http(s), without fragments,
    deduplicated, in page order, at most ``limit``."""
    from urllib.parse import urldefrag, urljoin, urlsplit

    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(no_network=True, recover=True,
                                                                      remove_comments=True))
    except (etree.ParserError, ValueError):
        return []
    candidates: list[str] = []
    for element in root.iter("img", "video", "source", "a"):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "img":
            candidates.append(element.get("src") or "")
            srcset = element.get("srcset") or ""
            candidates += [part.strip().split(" ")[0] for part in srcset.split(",") if part.strip()]
        elif tag in ("video", "source"):
            candidates += [element.get("src") or "", element.get("poster") or ""]
        elif tag == "a":
            href = element.get("href") or ""
            if urlsplit(href).path.lower().endswith(MEDIA_SUFFIXES):
                candidates.append(href)
    found: list[str] = []
    for raw in candidates:
        raw = raw.strip()
        if not raw or raw.startswith(("data:", "javascript:", "blob:")):
            continue
        try:
            url = urldefrag(urljoin(base, raw))[0]
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048 or url == base:
            continue
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            continue
        if url not in found:
            found.append(url)
        if len(found) >= limit:
            break
    return found
