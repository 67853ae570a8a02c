"""Adapters between the network building blocks (safe fetcher, offline geolocation, RDAP,
mail, webhooks) and the narrow ports of the routing services."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from balise.adapters.db.models import RdapCacheEntry
from balise.takedown.ports import AbuseContact, DeliveryProblem, Fetched, Location, Outgoing

# A webhook carries the package itself up to this size; larger ones are fetched from the
# export directory (the notice says so).
MAX_INLINE_PACKAGE = 25 * 1024 * 1024


class OfflineResolver:
    """Names resolve only from a fixed table (BALISE_FETCH_RESOLVER=static); any other name
    fails as "dns_disabled", which removal verification never takes for a removal."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        from balise.takedown.adapters.fetcher import StaticResolver

        self._table = {name.lower().rstrip(".") for name in table}
        self._static = StaticResolver(table)  # type: ignore[arg-type]

    def resolve(self, host: str, timeout: float) -> Any:
        from balise.takedown.adapters.fetcher import ResolveFailed

        if host.lower().rstrip(".") not in self._table:
            raise ResolveFailed("disabled", f"{host}: DNS is off (BALISE_FETCH_RESOLVER=static) and the name is "
                                            "not in BALISE_FETCH_STATIC_HOSTS")
        return self._static.resolve(host, timeout)


class SafeUrlFetcher:
    """services.url_inspection.UrlFetcher over adapters.fetcher.Fetcher: never raises for what
    happened on the network; the outcome says it."""

    def __init__(self, fetcher: Any) -> None:
        self._fetcher = fetcher

    def fetch(self, url: str) -> Fetched:
        from balise.takedown.adapters.fetcher import FetchError, FetchRefused, check_url, classify

        host = host_unicode = None
        flags: list[str] = []
        try:
            target = check_url(url)
            host, host_unicode, flags = target.host, target.host_unicode, list(target.host_flags)
        except FetchError:
            pass
        where = {"host": host, "host_unicode": host_unicode, "host_flags": flags}
        try:
            result = self._fetcher.fetch(url)
        except FetchRefused as exc:
            return Fetched(outcome="refused", detail=f"{exc.code}: {exc}", **where)
        except FetchError as exc:
            verdict = classify(exc)
            return Fetched(outcome=verdict.state, detail=f"{exc.code}: {exc}", **where)
        verdict = classify(result)
        served = verdict.state == "served"
        return Fetched(outcome=verdict.state, detail=None if served else verdict.reason, http_status=result.status,
                       final_url=result.final_url, address=result.address,
                       addresses=list(dict.fromkeys(h.address for h in result.hops)),
                       content_type=result.content_type, body=result.body if served else None, **where)


def geo_location(locator: Any) -> Callable[[str], Location]:
    def locate(address: str) -> Location:
        info = locator.lookup(address)
        return Location(country=info.country, network=info.network_cidr, organisation=info.organisation,
                        cdn=info.cdn)

    return locate


class RdapAbuseDirectory:
    def __init__(self, client: Any) -> None:
        self._client = client

    def abuse_contact(self, address: str) -> AbuseContact:
        from balise.takedown.adapters.rdap import RdapError

        try:
            network = self._client.lookup(address)
        except RdapError as exc:
            raise LookupError(f"RDAP: {exc}") from exc
        abuse = network.abuse
        if abuse is None or not abuse.emails:
            raise LookupError(f"RDAP: no abuse e-mail for {network.handle or address}")
        return AbuseContact(email=abuse.emails[0], name=abuse.name or network.name, handle=network.handle)


class DbRdapCache:
    """RDAP answers cached in the database, shared by every worker. An entry past its expiry
    is a miss. Keys longer than the column (a long bootstrap URL in a back-off key) are stored
    under their SHA-256, so two long keys never share an entry."""

    def __init__(self, new_session: Callable[[], Session], clock: Callable[[], datetime]) -> None:
        self._new_session = new_session
        self._clock = clock

    @staticmethod
    def _key(key: str) -> str:
        return key if len(key) <= 100 else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._new_session() as session:
            entry = session.get(RdapCacheEntry, self._key(key))
            if entry is None or entry.expires_at <= self._clock():
                return None
            return dict(entry.value)

    def put(self, key: str, value: dict[str, Any], ttl_seconds: float) -> None:
        stored = self._key(key)
        with self._new_session() as session, session.begin():
            session.execute(delete(RdapCacheEntry).where(RdapCacheEntry.key == stored))
            session.add(RdapCacheEntry(key=stored, value=value,
                                       expires_at=self._clock() + timedelta(seconds=ttl_seconds)))


def reply_address(mail_from: str) -> str | None:
    address = parseaddr(mail_from)[1]
    return address or None


def email_sender(mailer: Any, reply_to: str | None) -> Callable[[Outgoing], dict[str, Any]]:
    def send(outgoing: Outgoing) -> dict[str, Any]:
        from balise.ports import DeliveryError, OutgoingEmail

        try:
            result = mailer.send(OutgoingEmail(to=outgoing.recipient or "", subject=outgoing.subject,
                                               body=outgoing.body, reference=outgoing.reference, reply_to=reply_to,
                                               language=outgoing.language))
        except DeliveryError as exc:
            raise DeliveryProblem(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from exc
        return {"channel": result.channel, "message_id": result.message_id, "response": result.response}

    return send


def webhook_sender(sender: Any) -> Callable[[Outgoing], dict[str, Any]]:
    def send(outgoing: Outgoing) -> dict[str, Any]:
        from balise.ports import DeliveryError

        payload: dict[str, Any] = {"reference": outgoing.reference, "kind": outgoing.kind,
                                   "language": outgoing.language, "subject": outgoing.subject,
                                   "body": outgoing.body, "report_id": outgoing.report_id}
        if outgoing.order_id:
            payload["order_id"] = outgoing.order_id
        if outgoing.package_path:
            package = Path(outgoing.package_path)
            payload["package"] = {"id": outgoing.package_id, "sha256": outgoing.package_sha256,
                                  "file_name": package.name, "size": package.stat().st_size}
            if package.stat().st_size <= MAX_INLINE_PACKAGE:
                payload["package"]["zip_base64"] = base64.b64encode(package.read_bytes()).decode("ascii")
        try:
            result = sender.send(outgoing.recipient, outgoing.webhook_secret, f"balise.{outgoing.kind}", payload,
                                 outgoing.reference)
        except DeliveryError as exc:
            raise DeliveryProblem(str(exc), retryable=exc.retryable, retry_after=exc.retry_after) from exc
        receipt = dict(result.receipt or {})
        acknowledged = receipt.get("received") is True
        return {"channel": "webhook", "response": result.response, "acknowledged": acknowledged,
                **({"receipt": receipt} if receipt else {})}

    return send

