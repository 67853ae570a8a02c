"""Indicator lists of other Balise installations pulled here with deltas (docs/federation.md):
a subscription names the partner's base URL, the list, the partner's public signing key and our
API key there (sealed in the database). A pull reads the partner's exchange feed from the last
version held, checks every page's Ed25519 signature against the partner's key, and imports the
entries (additions, changes, deletions) page by page, each page in one transaction with its
new checkpoint: a pull stopped half-way resumes from the last page imported. A page that does
not verify, or that goes back before the checkpoint (a replay), is refused and audited.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import ExchangeSubscription
from balise.adapters.secretbox import SecretBox
from balise.detection.formats import Candidate, ImportReport, make_candidate
from balise.detection.indicators import Indicators
from balise.domain.audit import AuditEvent
from balise.domain.indicators import Algorithm, IndicatorKind, InvalidIndicator, parse_vpdq_compact
from balise.exchange.feed import parse_list
from balise.exchange.ports import FeedFetchError, FetchedPage
from balise.governance.audit import AuditTrail

log = logging.getLogger("balise.exchange")

FetchPage = Callable[[str, str, int, str], FetchedPage]


class SubscriptionError(ValueError):
    """A subscription that cannot be made or a page that is refused; the message says why."""


@dataclass
class PullResult:
    pages: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    version: int = 0


def _public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise SubscriptionError(f"the partner's public key is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SubscriptionError("the partner's public key is not an Ed25519 key")
    return key


def _candidates(entries: list[Any], report: ImportReport) -> Iterator[Candidate]:
    for n, e in enumerate(entries):
        report.read += 1
        try:
            if not isinstance(e, dict):
                raise InvalidIndicator("an entry must be an object")
            algorithm = Algorithm(str(e.get("signal_type", "")))
            row = {"kind": e.get("kind"), "status": "deleted" if e.get("deleted") else e.get("status"),
                   "classification": e.get("classification"), "quality": e.get("quality"),
                   "media_type": e.get("media_type")}
            frames = None
            if algorithm is Algorithm.VPDQ:
                frames = e.get("frames") or parse_vpdq_compact(str(e.get("signal_value", "")))
            yield make_candidate(n, algorithm, "" if frames else str(e.get("signal_value", "")),
                                 IndicatorKind.KNOWN_CSAM, row, frames, balise=True)
        except (InvalidIndicator, ValueError) as exc:
            report.reject(n, f"entries[{n}]: {exc}")


class Subscriptions:
    def __init__(self, indicators: Indicators, audit: AuditTrail, box: SecretBox, clock: Callable[[], datetime],
                 fetch_page: FetchPage) -> None:
        self._indicators = indicators
        self._audit = audit
        self._box = box
        self._clock = clock
        self._fetch = fetch_page

    def subscribe(self, session: Session, actor: Actor, *, name: str, base_url: str, list_name: str,
                  public_key_pem: str, api_key: str) -> ExchangeSubscription:
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise SubscriptionError("name: 1 to 100 characters")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SubscriptionError("base_url: an http(s) URL with a host")
        try:
            parse_list(list_name)
        except ValueError as exc:
            raise SubscriptionError(f"list: {exc}") from None
        _public_key(public_key_pem)
        if not api_key.strip() or any(c.isspace() for c in api_key.strip()):
            raise SubscriptionError("api_key: the API key the partner issued, without spaces")
        if session.execute(select(ExchangeSubscription.id).where(ExchangeSubscription.name == name)).first():
            raise SubscriptionError(f"name: a subscription {name!r} exists")
        row = ExchangeSubscription(name=name, base_url=base_url.rstrip("/"), list_name=list_name,
                                   public_key_pem=public_key_pem.strip() + "\n",
                                   api_key_sealed=self._box.seal(api_key.strip()), version=0,
                                   created_at=self._clock())
        session.add(row)
        session.flush()
        self._audit.record(session, AuditEvent.EXCHANGE_SUBSCRIBE, actor, "exchange_subscription", str(row.id),
                           f"subscribe to {list_name} of {row.base_url}", {"name": name, "list": list_name})
        return row

    def pull(self, transaction: Callable[[], Any], actor: Actor, name: str, max_pages: int = 1000) -> PullResult:
        """Pull until the partner has nothing more (or ``max_pages``), one transaction a page."""
        result = PullResult()
        while result.pages < max_pages:
            with transaction() as session:
                sub = session.execute(select(ExchangeSubscription).where(ExchangeSubscription.name == name)).scalar_one_or_none()
                if sub is None:
                    raise SubscriptionError(f"no subscription {name!r}")
                base_url, list_name, since = sub.base_url, sub.list_name, sub.version
                api_key, pem = self._box.open(sub.api_key_sealed), sub.public_key_pem
            page = self._fetch(base_url, list_name, since, api_key)
            more = self._apply(transaction, actor, name, since, page, pem, result)
            result.pages += 1
            if not more:
                break
        return result

    def pull_all(self, transaction: Callable[[], Any], actor: Actor) -> dict[str, PullResult | str]:
        """Pull every subscription (the periodic ``exchange.pull`` job). One partner that cannot
        be reached, or whose page is refused, does not hold up the others: its error is logged
        (a refused page is also audited by ``pull``) and it is tried again at the next run."""
        with transaction() as session:
            names = [sub.name for sub in self.list(session)]
        results: dict[str, PullResult | str] = {}
        for name in names:
            try:
                results[name] = self.pull(transaction, actor, name)
            except (SubscriptionError, FeedFetchError) as exc:
                log.warning("exchange pull of %s failed: %s", name, exc)
                results[name] = str(exc)
        return results

    def _refuse(self, transaction: Callable[[], Any], actor: Actor, sub_id: int, why: str) -> None:
        with transaction() as session:
            self._audit.record(session, AuditEvent.EXCHANGE_PULL_REFUSED, actor, "exchange_subscription", str(sub_id),
                               f"page refused: {why}", {})
        raise SubscriptionError(f"page refused, nothing imported: {why}")

    def _apply(self, transaction: Callable[[], Any], actor: Actor, name: str, since: int, page: FetchedPage,
               pem: str, result: PullResult) -> bool:
        with transaction() as session:
            sub_id = session.execute(select(ExchangeSubscription.id).where(ExchangeSubscription.name == name)).scalar_one()
        try:
            signature = base64.b64decode(page.signature.removeprefix("ed25519="), validate=True)
            _public_key(pem).verify(signature, page.body)
        except (InvalidSignature, ValueError):
            self._refuse(transaction, actor, sub_id, "the signature does not verify with the partner's key")
        try:
            doc = json.loads(page.body)
            entries, until, more = doc["entries"], int(doc["until"]), bool(doc["more"])
            if doc.get("since") != since or not isinstance(entries, list):
                raise ValueError("not the page asked for")
        except (ValueError, KeyError, TypeError) as exc:
            self._refuse(transaction, actor, sub_id, f"not a feed page of version {since} ({exc})")
        if until < since:
            self._refuse(transaction, actor, sub_id, f"replayed: the page ends at version {until}, before {since}")
        with transaction() as session:
            sub = session.execute(select(ExchangeSubscription).where(ExchangeSubscription.id == sub_id)
                                  .with_for_update()).scalar_one()
            if sub.version != since:
                # Another pull moved on meanwhile: this page is stale, not ours to import.
                return sub.version < until and more
            report = ImportReport(unit="item")
            self._indicators.import_candidates(session, actor, _candidates(entries, report), report,
                                               fmt="exchange", source=f"exchange:{name}")
            sub.version, sub.pulled_at = until, self._clock()
            self._audit.record(session, AuditEvent.EXCHANGE_PULL, actor, "exchange_subscription", str(sub_id),
                               f"pull {sub.list_name} of {sub.base_url}",
                               {"since": since, "until": until, "imported": report.imported,
                                "updated": report.updated, "rejected": report.rejected})
        result.imported += report.imported
        result.updated += report.updated
        result.unchanged += report.unchanged
        result.rejected += report.rejected
        result.version = until
        return more

    def list(self, session: Session) -> list[ExchangeSubscription]:
        return list(session.execute(select(ExchangeSubscription).order_by(ExchangeSubscription.name)).scalars())
