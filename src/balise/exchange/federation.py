"""Referrals of URL reports between Balise installations (docs/federation.md).

A **partner** is another installation, a centre or a hotline: its name, country, base URL and
Ed25519 public key (whose key id is how it names itself). A reported URL hosted in a partner's
country is **referred** to it, by the routing step or by staff: the referral carries the URL,
our assessment, the classification and the reference of the evidence package — never content.
It is delivered by a durable job as a signed ``POST /api/v1/referrals``; the partner checks the
signature, the time stamp and the nonce, opens a report in its queue and acknowledges with its
own id. When the partner has decided (removed, and when; or not illegal there) its outcome
comes back the same way (``POST /api/v1/referrals/{id}/outcome``) and closes our leg, which
the notice-and-takedown figures count.

Every request refused is audited (``referral:refuse``) and leaves nothing else behind.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    EvidencePackage,
    FederationNonce,
    FederationPartner,
    Item,
    ReferralReceived,
    ReferralSent,
    Report,
    Takedown,
    UrlHosting,
)
from balise.domain.audit import AuditEvent
from balise.domain.federation import (
    FRESHNESS,
    KEY_ID_RE,
    MAX_BODY,
    NONCE_HEADER,
    NONCE_RE,
    SENDER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    FederationRuleError,
    check_base_url,
    check_country,
    check_name,
    is_fresh,
    parse_timestamp,
    signed_message,
    timestamp_text,
)
from balise.domain.packages import key_id_of
from balise.exchange.ports import PartnerAnswer, PartnerUnreachable
from balise.governance.audit import AuditTrail
from balise.jobs.queue import JobQueue, PermanentJobFailure

SEND_JOB = "referral.send"
OUTCOME_JOB = "referral.outcome"
SYSTEM = Actor.system("federation")
REFERRALS_PATH = "/api/v1/referrals"
FORMAT_VERSION = 1


class FederationError(ValueError):
    """A partner or referral that cannot be made or closed; the message says why."""


class Signer(Protocol):
    key_id: str

    def sign(self, data: bytes) -> bytes: ...


PostSigned = Callable[[str, bytes, dict[str, str]], PartnerAnswer]


@dataclass(frozen=True)
class Refusal(Exception):
    """A federation request refused: the HTTP status, the error code and why."""

    status: int
    code: str
    message: str


def _public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.strip().encode())
    except ValueError as exc:
        raise FederationError(f"public_key: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise FederationError("public_key: not an Ed25519 key")
    return key


def _key_id(key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key_id_of(key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal[1]
    recipient: str = Field(max_length=64)


class ReferralIn(_Body):
    referral_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    url: str = Field(min_length=1, max_length=8000)
    hosting_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    report_type: Literal["known_csam", "new_csam", "solicitation"] | None = None
    assessment: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    evidence_package: dict[str, Any] | None = None
    urgent: bool = False


class OutcomeIn(_Body):
    outcome: Literal["removed", "not_illegal"]
    removed_at: AwareDatetime | None = None
    closed_at: AwareDatetime
    receiver_reference: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    return f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"


class FederationPartners:
    """The partner installations (``balise exchange partner …``)."""

    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock

    def add(self, session: Session, actor: Actor, *, name: str, country: str, base_url: str, public_key_pem: str,
            share_content: bool = False) -> FederationPartner:
        try:
            name, country, base_url = check_name(name), check_country(country), check_base_url(base_url)
        except FederationRuleError as exc:
            raise FederationError(str(exc)) from None
        key_id = _key_id(_public_key(public_key_pem))
        if self.get(session, name) is not None:
            raise FederationError(f"name: a partner {name!r} exists")
        other = session.execute(select(FederationPartner.name).where(FederationPartner.key_id == key_id)).scalar()
        if other:
            raise FederationError(f"public_key: partner {other!r} has this key already")
        now = self._clock()
        row = FederationPartner(name=name, country=country, base_url=base_url,
                                public_key_pem=public_key_pem.strip() + "\n", key_id=key_id,
                                share_content=share_content, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        self._audit.record(session, AuditEvent.FEDERATION_PARTNER_ADD, actor, "federation_partner", str(row.id),
                           f"add partner installation {name}",
                           {"name": name, "country": country, "base_url": base_url, "key_id": key_id,
                            "share_content": share_content})
        return row

    def set(self, session: Session, actor: Actor, name: str, *, country: str | None = None,
            base_url: str | None = None, public_key_pem: str | None = None,
            share_content: bool | None = None) -> FederationPartner:
        row = self.get(session, name, lock=True)
        if row is None:
            raise FederationError(f"no partner {name!r}")
        changes: dict[str, Any] = {}
        try:
            if country is not None:
                changes["country"] = check_country(country)
            if base_url is not None:
                changes["base_url"] = check_base_url(base_url)
        except FederationRuleError as exc:
            raise FederationError(str(exc)) from None
        if public_key_pem is not None:
            key_id = _key_id(_public_key(public_key_pem))
            other = session.execute(select(FederationPartner.name).where(
                FederationPartner.key_id == key_id, FederationPartner.id != row.id)).scalar()
            if other:
                raise FederationError(f"public_key: partner {other!r} has this key already")
            changes["public_key_pem"], changes["key_id"] = public_key_pem.strip() + "\n", key_id
        if share_content is not None:
            changes["share_content"] = share_content
        changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if not changes:
            raise FederationError("nothing to change: give a new country, URL, key or sharing")
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = self._clock()
        self._audit.record(session, AuditEvent.FEDERATION_PARTNER_SET, actor, "federation_partner", str(row.id),
                           f"change partner installation {row.name}",
                           {k: v for k, v in changes.items() if k != "public_key_pem"})
        return row

    def remove(self, session: Session, actor: Actor, name: str) -> None:
        row = self.get(session, name, lock=True)
        if row is None:
            raise FederationError(f"no partner {name!r}")
        open_sent = session.execute(select(func.count()).select_from(ReferralSent).where(
            ReferralSent.partner_id == row.id, ReferralSent.status.in_(("pending", "acknowledged")))).scalar_one()
        if open_sent:
            raise FederationError(f"partner {name!r} has {open_sent} open referral(s): wait for their outcome")
        self._audit.record(session, AuditEvent.FEDERATION_PARTNER_REMOVE, actor, "federation_partner", str(row.id),
                           f"remove partner installation {row.name}", {"name": row.name, "key_id": row.key_id})
        session.delete(row)

    def get(self, session: Session, name: str, lock: bool = False) -> FederationPartner | None:
        query = select(FederationPartner).where(FederationPartner.name == name.strip())
        return session.execute(query.with_for_update() if lock else query).scalar_one_or_none()

    def for_country(self, session: Session, country: str) -> FederationPartner | None:
        return session.execute(select(FederationPartner).where(FederationPartner.country == country)
                               .order_by(FederationPartner.id).limit(1)).scalar_one_or_none()

    def list(self, session: Session) -> list[FederationPartner]:
        return list(session.execute(select(FederationPartner).order_by(FederationPartner.name)).scalars())


class Referrals:
    def __init__(self, new_session: Callable[[], Session], partners: FederationPartners, audit: AuditTrail,
                 clock: Callable[[], datetime], jobs: JobQueue, signer: Callable[[], Signer], post: PostSigned,
                 file_report: Callable[..., Any]) -> None:
        self._new_session = new_session
        self._partners = partners
        self._audit = audit
        self._clock = clock
        self._jobs = jobs
        self._signer = signer
        self._post = post
        # file_report(document, partner_name, also_store) files the referral as a report here.
        self._file_report = file_report

    # -- sending ---------------------------------------------------------------------------

    def refer(self, session: Session, actor: Actor, report_id: uuid.UUID, partner_name: str,
              reason: str) -> list[ReferralSent]:
        """Refer the report's URLs (those not assessed legal nor referred yet) to a partner;
        each is sent by a job queued in this transaction."""
        reason = (reason or "").strip()
        if not reason:
            raise FederationError("reason: say why the report is referred")
        if len(reason) > 2000:
            raise FederationError("reason: at most 2,000 characters")
        partner = self._partners.get(session, partner_name)
        if partner is None:
            raise FederationError(f"no partner {partner_name!r} (see balise exchange partner list)")
        report = session.get(Report, report_id, with_for_update=True)
        if report is None:
            raise FederationError(f"no report {report_id}")
        if report.redacted_at is not None:
            raise FederationError("the report is redacted: nothing left to refer")
        made = [self.refer_item(session, actor, report, item, partner, reason) for item in self.referable(session, report)]
        if not made:
            raise FederationError("the report has no URL left to refer (none, assessed legal, or referred already)")
        return made

    def referable(self, session: Session, report: Report) -> list[Item]:
        done = set(session.execute(select(ReferralSent.item_id).where(ReferralSent.report_id == report.id)).scalars())
        return [i for i in report.items if i.kind == "url" and i.url and i.outcome != "not_illegal"
                and not (i.media_metadata or {}).get("found_on") and i.id not in done]

    def refer_item(self, session: Session, actor: Actor, report: Report, item: Item, partner: FederationPartner,
                   reason: str) -> ReferralSent:
        ref = ReferralSent(partner_id=partner.id, partner_name=partner.name, report_id=report.id, item_id=item.id,
                           url=item.url, status="pending", reason=reason, created_by=actor.label or actor.id,
                           created_at=self._clock())
        session.add(ref)
        session.flush()
        takedown = session.get(Takedown, item.id)
        if takedown is not None and takedown.status == "pending":
            # The partner takes the URL to its hosts: no host notice from here.
            takedown.status = "referred"
        self._jobs.enqueue(session, SEND_JOB, {"referral_id": str(ref.id)}, dedupe_key=f"referral:{ref.id}")
        self._audit.record(session, AuditEvent.REFERRAL_SEND, actor, "referral", str(ref.id),
                           f"refer a reported URL to partner {partner.name}",
                           {"partner": partner.name, "country": partner.country, "report_id": str(report.id),
                            "item_id": str(item.id), "reason": reason})
        return ref

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        signer = self._signer()
        stamp, nonce = timestamp_text(self._clock()), secrets.token_urlsafe(24)
        signature = signer.sign(signed_message(method, path, signer.key_id, stamp, nonce, body))
        return {SENDER_HEADER: signer.key_id, TIMESTAMP_HEADER: stamp, NONCE_HEADER: nonce,
                SIGNATURE_HEADER: "ed25519=" + base64.b64encode(signature).decode("ascii")}

    def _referral_body(self, session: Session, ref: ReferralSent, partner: FederationPartner) -> bytes:
        report = session.get(Report, ref.report_id)
        item = session.get(Item, ref.item_id)
        hosting = session.get(UrlHosting, ref.item_id)
        package = session.execute(select(EvidencePackage).where(EvidencePackage.report_id == ref.report_id)
                                  .order_by(EvidencePackage.created_at.desc()).limit(1)).scalar_one_or_none()
        doc = {"version": FORMAT_VERSION, "recipient": partner.key_id, "referral_id": str(ref.id), "url": ref.url,
               "hosting_country": hosting.hosted_country if hosting else None,
               "report_type": report.report_type if report else None,
               "assessment": {"report_outcome": report.outcome if report else None,
                              "item_outcome": item.outcome if item else None,
                              "assessed_at": _iso(report.decided_at) if report else None},
               "classification": item.classification if item else None,
               "evidence_package": ({"id": str(package.id), "sha256": package.sha256, "key_id": package.key_id}
                                    if package else None),
               "urgent": bool(report.urgent) if report else False}
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    def handle_send(self, payload: dict[str, Any]) -> None:
        """The job: deliver one referral; retried with backoff while the partner cannot be
        reached; refused for good when the partner says so."""
        ref_id = uuid.UUID(payload["referral_id"])
        with self._new_session() as session:
            ref = session.get(ReferralSent, ref_id)
            if ref is None or ref.status != "pending":
                return
            partner = session.get(FederationPartner, ref.partner_id) if ref.partner_id else None
            if partner is None or ref.url is None:
                why = "the partner was removed" if partner is None else "the report was redacted"
                self._give_up(ref_id, why, None)
                raise PermanentJobFailure(why)
            body = self._referral_body(session, ref, partner)
            url = partner.base_url + REFERRALS_PATH
        try:
            answer = self._post(url, body, self._headers("POST", REFERRALS_PATH, body))
        except PartnerUnreachable as exc:
            raise RuntimeError(f"partner not reached, will retry: {exc}") from None
        data = answer.json()
        if answer.status in (200, 201) and isinstance(data.get("referral_id"), str):
            with self._new_session() as session, session.begin():
                ref = session.get(ReferralSent, ref_id, with_for_update=True)
                if ref is None or ref.status != "pending":
                    return
                now = self._clock()
                ref.status, ref.acknowledged_at = "acknowledged", now
                ref.receiver_reference, ref.error = str(data["referral_id"])[:64], None
                takedown = session.get(Takedown, ref.item_id)
                if takedown is not None:
                    # The partner was told: the NTD figures measure removal from here.
                    takedown.host_notified_at = takedown.host_notified_at or now
                    if takedown.status in ("pending", "referred", "no_contact"):
                        takedown.status = "referred"
                self._audit.record(session, AuditEvent.REFERRAL_ACKNOWLEDGED, SYSTEM, "referral", str(ref_id),
                                   f"partner {ref.partner_name} acknowledged the referral",
                                   {"receiver_reference": ref.receiver_reference})
            return
        error = f"{answer.status} {data.get('error') if isinstance(data.get('error'), str) else ''}"
        if answer.status in (401, 403, 422):
            self._give_up(ref_id, f"refused by the partner: {error.strip()}", answer.status)
            raise PermanentJobFailure(f"refused by the partner: {error.strip()}")
        raise RuntimeError(f"partner answered {error.strip()}, will retry")

    def _give_up(self, ref_id: uuid.UUID, why: str, status: int | None) -> None:
        with self._new_session() as session, session.begin():
            ref = session.get(ReferralSent, ref_id, with_for_update=True)
            if ref is None:
                return
            ref.status, ref.error = "refused", why
            takedown = session.get(Takedown, ref.item_id)
            if takedown is not None and takedown.status == "referred":
                # Back to routing's hands: a person decides where the URL goes now.
                takedown.status = "no_contact"
            self._audit.record(session, AuditEvent.REFERRAL_SEND_REFUSED, SYSTEM, "referral", str(ref_id),
                               "the referral could not be delivered", {"why": why, "http_status": status})

    # -- checking a signed request ---------------------------------------------------------

    def _refuse(self, refusal: Refusal, sender: str | None, path: str, partner: str | None) -> Refusal:
        with self._new_session() as session, session.begin():
            self._audit.record(session, AuditEvent.REFERRAL_REFUSE, SYSTEM, "federation_request", path[:200],
                               f"refuse a federation request: {refusal.code}",
                               {"code": refusal.code, "why": refusal.message, "sender": (sender or "")[:64] or None,
                                "partner": partner})
        return refusal

    def _verify(self, session: Session, method: str, path: str, headers: Mapping[str, str],
                body: bytes) -> tuple[FederationPartner, str, str]:
        """The partner who signed the request, its key id and the nonce; raises a Refusal."""
        sender = headers.get(SENDER_HEADER.lower()) or ""
        stamp = headers.get(TIMESTAMP_HEADER.lower()) or ""
        nonce = headers.get(NONCE_HEADER.lower()) or ""
        signature = headers.get(SIGNATURE_HEADER.lower()) or ""
        if not KEY_ID_RE.fullmatch(sender):
            raise Refusal(422, "invalid_request", f"{SENDER_HEADER}: the sender's key id is required")
        try:
            seconds = parse_timestamp(stamp)
        except FederationRuleError as exc:
            raise Refusal(422, "invalid_request", str(exc)) from None
        if not NONCE_RE.fullmatch(nonce):
            raise Refusal(422, "invalid_request", f"{NONCE_HEADER}: 16 to 64 characters of A-Z a-z 0-9 _ -")
        if len(body) > MAX_BODY:
            raise Refusal(422, "invalid_request", f"the body is larger than {MAX_BODY} bytes")
        partner = session.execute(select(FederationPartner).where(FederationPartner.key_id == sender)).scalar()
        if partner is None:
            raise Refusal(403, "unknown_partner", f"no partner installation has the key {sender}")
        try:
            raw = base64.b64decode(signature.removeprefix("ed25519="), validate=True)
            _public_key(partner.public_key_pem).verify(raw, signed_message(method, path, sender, stamp, nonce, body))
        except (InvalidSignature, ValueError):
            raise Refusal(401, "bad_signature", f"the signature does not verify with the key of {partner.name}") from None
        if not is_fresh(seconds, self._clock()):
            raise Refusal(422, "stale_timestamp", f"{TIMESTAMP_HEADER} is more than {int(FRESHNESS.total_seconds() // 60)}"
                                                  " minutes from our clock")
        if session.get(FederationNonce, (sender, nonce)) is not None:
            raise Refusal(409, "replayed", "this request was received already (its nonce was used)")
        return partner, sender, nonce

    def _parse(self, model: type[_Body], body: bytes) -> Any:
        try:
            doc = model.model_validate_json(body)
        except ValidationError as exc:
            raise Refusal(422, "invalid_request", _first_error(exc)) from None
        if doc.recipient != self._signer().key_id:
            raise Refusal(422, "wrong_recipient", "the request is for another installation "
                                                  f"({doc.recipient[:64]}), not this one")
        return doc

    def _use_nonce(self, session: Session, sender: str, nonce: str) -> None:
        now = self._clock()
        session.execute(delete(FederationNonce).where(FederationNonce.seen_at < now - 2 * FRESHNESS))
        session.add(FederationNonce(sender_key_id=sender, nonce=nonce, seen_at=now))
        session.flush()

    # -- receiving a referral --------------------------------------------------------------

    def receive(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """``POST /api/v1/referrals``: a partner refers a URL to us. Returns the status and the
        acknowledgement; raises a Refusal (audited)."""
        path, sender, name = REFERRALS_PATH, None, None
        try:
            with self._new_session() as session:
                partner, sender, nonce = self._verify(session, "POST", path, headers, body)
                name, partner_id = partner.name, partner.id
                doc: ReferralIn = self._parse(ReferralIn, body)
                existing = session.execute(select(ReferralReceived).where(
                    ReferralReceived.sender_key_id == sender,
                    ReferralReceived.sender_reference == doc.referral_id)).scalar_one_or_none()
            if existing is not None:
                # The sender's retry of a referral we hold (our answer was lost): same answer.
                with self._new_session() as session, session.begin():
                    self._use_nonce(session, sender, nonce)
                return 200, self._ack(existing.id)
            received_id = uuid.uuid4()

            def also_store(session: Session, report: Report) -> None:
                self._use_nonce(session, sender, nonce)
                details = doc.model_dump(mode="json", exclude={"version", "recipient", "url", "referral_id"})
                session.add(ReferralReceived(
                    id=received_id, partner_id=partner_id, partner_name=name, sender_key_id=sender,
                    sender_reference=doc.referral_id, report_id=report.id, url=doc.url, details=details,
                    status="open", received_at=self._clock()))
                self._audit.record(session, AuditEvent.REFERRAL_RECEIVE, Actor.system(f"partner:{sender}"),
                                   "referral_received", str(received_id), f"referral from partner {name}",
                                   {"partner": name, "sender_reference": doc.referral_id,
                                    "report_id": str(report.id)})

            try:
                self._file_report(self._document(doc, name), name, also_store)
            except IntegrityError:
                raise Refusal(409, "replayed", "this request was received already (its nonce was used)") from None
            except FederationError as exc:
                raise Refusal(422, "invalid_request", str(exc)) from None
            return 201, self._ack(received_id)
        except Refusal as refusal:
            raise self._refuse(refusal, sender or headers.get(SENDER_HEADER.lower()), path, name) from None

    def _ack(self, received_id: uuid.UUID) -> dict[str, Any]:
        return {"referral_id": str(received_id), "receiver": self._signer().key_id, "status": "received"}

    @staticmethod
    def _document(doc: ReferralIn, partner_name: str) -> dict[str, Any]:
        """The report filed here for the referral: the URL to assess, and what the partner said."""
        said = [f"Referred by the partner installation {partner_name} (referral {doc.referral_id})."]
        assessment = doc.assessment or {}
        if assessment.get("item_outcome") or assessment.get("report_outcome"):
            said.append(f"Their assessment: {assessment.get('item_outcome') or assessment.get('report_outcome')}"
                        + (f" on {assessment['assessed_at']}" if assessment.get("assessed_at") else "") + ".")
        if doc.classification:
            said.append("Their classification: " + ", ".join(f"{k} {v}" for k, v in sorted(doc.classification.items())) + ".")
        if doc.hosting_country:
            said.append(f"Hosted in {doc.hosting_country} by their inspection.")
        if doc.evidence_package:
            said.append(f"Their evidence package {doc.evidence_package.get('id')} "
                        f"(SHA-256 {doc.evidence_package.get('sha256')}), on request from them.")
        return {"reported_at": _iso(datetime.now(timezone.utc)), "type": doc.report_type or "new_csam",
                "service": {"type": "other"},
                "awareness": {"source": "other", "detail": f"referral from partner installation {partner_name}"},
                "content_removed": False, "urgent": doc.urgent, "additional_info": " ".join(said)[:10_000],
                "items": [{"kind": "url", "url": doc.url}]}

    # -- the outcome -----------------------------------------------------------------------

    def close(self, session: Session, actor: Actor, received_id: uuid.UUID, outcome: str,
              removed_at: datetime | None = None) -> ReferralReceived:
        """Our decision on a referral received: removed (when) or not illegal here. The outcome
        goes back to the partner by a job queued in this transaction."""
        if outcome not in ("removed", "not_illegal"):
            raise FederationError("outcome: removed or not_illegal")
        ref = session.get(ReferralReceived, received_id, with_for_update=True)
        if ref is None:
            raise FederationError(f"no referral received {received_id}")
        if ref.status != "open":
            raise FederationError(f"referral {received_id} is closed already ({ref.outcome})")
        now = self._clock()
        if outcome == "removed":
            removed_at = removed_at or now
            if removed_at > now or removed_at < ref.received_at:
                raise FederationError("removed_at: between the referral's receipt and now")
        elif removed_at is not None:
            raise FederationError("removed_at: only with the outcome removed")
        ref.status, ref.outcome, ref.removed_at, ref.closed_at = "closed", outcome, removed_at, now
        ref.closed_by = actor.label or actor.id
        self._jobs.enqueue(session, OUTCOME_JOB, {"received_id": str(ref.id)}, dedupe_key=f"referral-outcome:{ref.id}")
        self._audit.record(session, AuditEvent.REFERRAL_CLOSE, actor, "referral_received", str(ref.id),
                           f"outcome of a referral from {ref.partner_name}",
                           {"outcome": outcome, "removed_at": _iso(removed_at)})
        return ref

    def handle_outcome(self, payload: dict[str, Any]) -> None:
        """The job: send our outcome back to the referring partner."""
        received_id = uuid.UUID(payload["received_id"])
        with self._new_session() as session:
            ref = session.get(ReferralReceived, received_id)
            if ref is None or ref.status != "closed" or ref.outcome_sent_at is not None:
                return
            partner = session.get(FederationPartner, ref.partner_id) if ref.partner_id else None
            if partner is None or partner.key_id != ref.sender_key_id:
                raise PermanentJobFailure("the referring partner was removed or changed its key")
            path = f"{REFERRALS_PATH}/{ref.sender_reference}/outcome"
            body = json.dumps({"version": FORMAT_VERSION, "recipient": partner.key_id, "outcome": ref.outcome,
                               "removed_at": _iso(ref.removed_at), "closed_at": _iso(ref.closed_at),
                               "receiver_reference": str(ref.id)}, separators=(",", ":"), sort_keys=True).encode()
            url, name = partner.base_url + path, partner.name
        try:
            answer = self._post(url, body, self._headers("POST", path, body))
        except PartnerUnreachable as exc:
            raise RuntimeError(f"partner not reached, will retry: {exc}") from None
        code = answer.json().get("error")
        code = code if isinstance(code, str) else None
        if answer.status == 200 or (answer.status == 409 and code == "already_closed"):
            with self._new_session() as session, session.begin():
                ref = session.get(ReferralReceived, received_id, with_for_update=True)
                if ref is not None and ref.outcome_sent_at is None:
                    ref.outcome_sent_at = self._clock()
                    self._audit.record(session, AuditEvent.REFERRAL_OUTCOME_SEND, SYSTEM, "referral_received",
                                       str(received_id), f"outcome sent back to partner {name}",
                                       {"outcome": ref.outcome, "http_status": answer.status})
            return
        if answer.status in (401, 403, 404, 422):
            raise PermanentJobFailure(f"the partner refused the outcome: {answer.status} {code or ''}".strip())
        raise RuntimeError(f"partner answered {answer.status}, will retry")

    def receive_outcome(self, referral_id: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """``POST /api/v1/referrals/{id}/outcome``: the partner we referred to says what it did."""
        path, sender, name = f"{REFERRALS_PATH}/{referral_id}/outcome", None, None
        try:
            with self._new_session() as session, session.begin():
                partner, sender, nonce = self._verify(session, "POST", path, headers, body)
                name = partner.name
                doc: OutcomeIn = self._parse(OutcomeIn, body)
                try:
                    ref_uuid = uuid.UUID(referral_id)
                except ValueError:
                    ref_uuid = None
                ref = session.get(ReferralSent, ref_uuid, with_for_update=True) if ref_uuid else None
                if ref is None or ref.partner_id != partner.id:
                    # Another partner's referral is as unknown to this one as a made-up id.
                    raise Refusal(404, "unknown_referral", f"no referral {referral_id[:64]} was sent to {name}")
                if ref.status == "closed":
                    raise Refusal(409, "already_closed", f"referral {referral_id} is closed already ({ref.outcome})")
                if doc.outcome == "removed" and doc.removed_at is None:
                    raise Refusal(422, "invalid_request", "removed_at: required with the outcome removed")
                self._use_nonce(session, sender, nonce)
                now = self._clock()
                removed_at = doc.removed_at if doc.outcome == "removed" else None
                if removed_at is not None and removed_at > now + FRESHNESS:
                    raise Refusal(422, "invalid_request", "removed_at: in the future")
                ref.status, ref.outcome, ref.removed_at, ref.closed_at = "closed", doc.outcome, removed_at, now
                ref.receiver_reference = ref.receiver_reference or doc.receiver_reference
                takedown = session.get(Takedown, ref.item_id)
                if takedown is not None:
                    if removed_at is not None:
                        takedown.status, takedown.removed_at = "removed", removed_at
                    else:
                        takedown.status = "not_removed"
                    takedown.host_notified_at = takedown.host_notified_at or ref.acknowledged_at or ref.created_at
                self._audit.record(session, AuditEvent.REFERRAL_OUTCOME_RECEIVE, Actor.system(f"partner:{sender}"),
                                   "referral", str(ref.id), f"outcome from partner {name}",
                                   {"outcome": doc.outcome, "removed_at": _iso(removed_at),
                                    "receiver_reference": doc.receiver_reference})
            return {"referral_id": str(ref.id), "status": "closed", "outcome": doc.outcome}
        except IntegrityError:
            # The same request twice at once: the other one stored the nonce first.
            raise self._refuse(Refusal(409, "replayed", "this request was received already (its nonce was used)"),
                               sender, path, name) from None
        except Refusal as refusal:
            raise self._refuse(refusal, sender or headers.get(SENDER_HEADER.lower()), path, name) from None

    # -- lists -----------------------------------------------------------------------------

    def sent(self, session: Session, limit: int = 200) -> list[ReferralSent]:
        return list(session.execute(select(ReferralSent).order_by(ReferralSent.created_at.desc()).limit(limit)).scalars())

    def received(self, session: Session, limit: int = 200) -> list[ReferralReceived]:
        return list(session.execute(select(ReferralReceived).order_by(ReferralReceived.received_at.desc())
                                    .limit(limit)).scalars())

    def figures(self, session: Session) -> dict[str, int]:
        """Both sides of referrals for the NTD figures."""
        def count(model: Any, *where: Any) -> int:
            return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

        return {"referred_to_partners": count(ReferralSent),
                "removed_by_partners": count(ReferralSent, ReferralSent.outcome == "removed"),
                "referrals_received": count(ReferralReceived),
                "removed_for_partners": count(ReferralReceived, ReferralReceived.outcome == "removed")}
