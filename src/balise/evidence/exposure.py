"""What of a reported item reaches the staff browser, enforced here rather than by the page.

* :meth:`Exposure.preview` — the default view: a blurred derivative (picture) or a contact
  sheet of blurred keyframes (video), made from content decrypted through the evidence vault
  (audited ``media:preview`` before a byte is decrypted). Only to the analyst holding an
  active claim on the item's report.
* :meth:`Exposure.four_eyes_preview` — the same blurred derivative, audited ``media:preview``
  with the purpose "four eyes", to a senior analyst other than the assessor while the item's
  new indicators wait for confirmation; no claim is needed, and nothing more (no reveal).
* :meth:`Exposure.reveal` — an analyst holding the claim states why (``media:reveal``); a
  single-use token bound to them, the item and that claim is issued, valid
  ``REVEAL_TOKEN_TTL``.
* :meth:`Exposure.revealed` — the token is spent (whatever happens next) and, if it holds,
  the item is decrypted (``media:read`` with the reveal's purpose) and given: a picture as an
  unblurred re-encoded derivative; anything else as the stored bytes, which the web layer
  sends only as an attachment.

Wellness (docs/workbench.md, "Wellness"): :meth:`Exposure.count` tells an analyst's reveals
today and this week, counted from the audit trail's ``media:reveal`` events (the record of
what was seen is the only record kept). When the installation sets a daily cap
(``BALISE_REVEAL_DAILY_CAP``), a reveal past it is refused (``exposure:cap_reached``, 403)
until a senior analyst lifts the cap for that analyst for the day (:meth:`Exposure.lift_cap`,
``exposure:cap_lift``).

Every refusal is audited (``media:refuse``, with the reason) and committed; nothing is served.

Kept sources: a picture's blurred view is made from its *source* — the picture upright,
downscaled, greyscale (or colour), not blurred — kept encrypted in the vault as an object of
its own (``media_derivatives``). The hashing job makes the greyscale source from the picture
its isolated child decodes anyway (:meth:`keep_source`); a picture hashed before, or a colour
view, gets its source made from the original at the first view and kept (``media:store``).
A view then costs the decrypt of a small PNG, a blur and an encode. The blur is applied per
request, at the viewer's strength. Nothing is written to disk in clear; the source goes with
its original when that is deleted. Video contact sheets are made from the video each time.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Item, ReportClaim, RevealToken, User
from balise.detection.adapters.hashing import sniff_media_type
from balise.detection.indicators import candidates_by_item, proposed_by
from balise.domain.audit import AuditEvent
from balise.domain.exposure import (
    FOUR_EYES_PURPOSE,
    FOUR_EYES_ROLE,
    PREVIEW_MAX_SIDE,
    REVEAL_TOKEN_KEEP,
    REVEAL_TOKEN_TTL,
    Display,
    ExposureCount,
    Refusal,
    TokenState,
    day_start,
    display_of,
    token_refusal,
    week_start,
)
from balise.evidence.adapters import derivatives
from balise.evidence.vault import EvidenceVault
from balise.governance.audit import AuditTrail

# The kinds of kept preview source (MediaDerivative.kind), and why one is stored.
SOURCE_GREY = "preview-grey"
SOURCE_COLOUR = "preview-colour"
SOURCE_PURPOSE = "source of the blurred preview, kept encrypted"


def source_kind(greyscale: bool) -> str:
    return SOURCE_GREY if greyscale else SOURCE_COLOUR


EXTENSIONS = {"video/mp4": "mp4", "video/webm": "webm", "video/x-msvideo": "avi"}


@dataclass(frozen=True)
class Viewer:
    """The analyst asking, and their derivative strength."""

    user_id: uuid.UUID
    username: str
    blur: int
    greyscale: bool = True

    @property
    def actor(self) -> Actor:
        return Actor.staff(str(self.user_id), self.username)


@dataclass(frozen=True)
class Served:
    """Bytes for the browser. ``raster`` bytes were encoded by Balise (a PNG or WebP); any
    other are stored bytes, to be sent only as an attachment of a type that runs nothing."""

    body: bytes
    media_type: str
    raster: bool
    filename: str | None = None


@dataclass(frozen=True)
class Refused:
    status: int
    reason: str


@dataclass(frozen=True)
class Reveal:
    token: str
    expires_at: datetime
    display: Display


class Exposure:
    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]], evidence: EvidenceVault,
                 audit: AuditTrail, clock: Callable[[], datetime], daily_cap: int = 0,
                 new_session: Callable[[], Session] | None = None) -> None:
        self._transaction = transaction
        self._new_session = new_session
        self.daily_cap = daily_cap
        self._evidence = evidence
        self._audit = audit
        self._clock = clock

    # -- the default view -------------------------------------------------------------------

    def preview(self, viewer: Viewer, item_id: uuid.UUID) -> Served | Refused:
        with self._transaction() as session:
            item = session.get(Item, item_id)
            if item is None or not item.vault_object:
                return Refused(404, "no content")
            report_id = item.report_id
            if not self._holds_claim(session, viewer, report_id):
                return self._refuse(session, viewer, item, Refusal.NO_CLAIM)
            display = _display(item)
            if display not in (Display.PICTURE, Display.VIDEO):
                # Nothing of a placeholder's content is decrypted for the viewer.
                return Refused(415, f"not shown: {display.value}")
            original = item.vault_object
            chunks, kept = self._preview_chunks(
                session, item, viewer, display, f"blurred preview while assessing report {report_id}",
                {"item": str(item.id), "report": str(report_id), "view": display.value, "blur": viewer.blur,
                 "greyscale": viewer.greyscale})
        # Decrypted and decoded after the commit: no transaction waits on a decoder.
        return self._blurred(viewer, display, b"".join(chunks), kept, original)

    def four_eyes_preview(self, viewer: Viewer, item_id: uuid.UUID) -> Served | Refused:
        """The blurred derivative for the senior analyst asked to confirm this item's new
        indicators. Only while they wait, only to a senior who did not assess the item; the
        claim rule of :meth:`preview` is unchanged for everyone and everything else."""
        with self._transaction() as session:
            item = session.get(Item, item_id)
            if item is None or not item.vault_object:
                return Refused(404, "no content")
            # The role as stored now, not as the caller says.
            asker = session.get(User, viewer.user_id)
            if asker is None or not asker.active or asker.role != FOUR_EYES_ROLE:
                return self._refuse(session, viewer, item, Refusal.NOT_SENIOR)
            group = candidates_by_item(session).get(str(item.id))
            if not group:
                return self._refuse(session, viewer, item, Refusal.NOT_AWAITING)
            if any(proposed_by(i) == str(viewer.user_id) for i in group):
                return self._refuse(session, viewer, item, Refusal.OWN_ASSESSMENT)
            display = _display(item)
            if display not in (Display.PICTURE, Display.VIDEO):
                return Refused(415, f"not shown: {display.value}")
            original = item.vault_object
            chunks, kept = self._preview_chunks(
                session, item, viewer, display, FOUR_EYES_PURPOSE,
                {"item": str(item.id), "report": str(item.report_id), "view": display.value, "blur": viewer.blur,
                 "greyscale": viewer.greyscale, "indicators": [i.id for i in group]})
        return self._blurred(viewer, display, b"".join(chunks), kept, original)

    def _preview_chunks(self, session: Session, item: Item, viewer: Viewer, display: Display, purpose: str,
                        details: dict[str, Any]) -> tuple[Any, bool]:
        """Audited ``media:preview``; a picture's kept source when there is one (True)."""
        assert item.vault_object
        if display is Display.PICTURE:
            return self._evidence.preview(session, item.vault_object, source_kind(viewer.greyscale), viewer.actor,
                                          purpose, details)
        return self._evidence.read(session, item.vault_object, viewer.actor, purpose, details,
                                   event=AuditEvent.MEDIA_PREVIEW), False

    def _blurred(self, viewer: Viewer, display: Display, data: bytes, kept: bool, original: str) -> Served | Refused:
        try:
            if display is Display.PICTURE and kept:
                body = derivatives.preview_from_source(data, blur=viewer.blur, greyscale=viewer.greyscale)
            elif display is Display.PICTURE:
                # Not kept yet (hashed before sources were kept, or a colour view): made from the
                # original this once, then kept encrypted for the next views.
                source = derivatives.picture_source(data, greyscale=viewer.greyscale)
                self._keep(original, source_kind(viewer.greyscale), source, viewer.actor)
                body = derivatives.preview_from_source(source, blur=viewer.blur, greyscale=viewer.greyscale)
            else:
                body = derivatives.video_contact_sheet(data, blur=viewer.blur, greyscale=viewer.greyscale)
        except derivatives.NotDecodable as exc:
            return Refused(415, f"not shown: {exc}")
        return Served(body, "image/png", raster=True)

    # -- kept sources ---------------------------------------------------------------------------

    def keep_source(self, session: Session, original: str, source: bytes, actor: Actor, kind: str = SOURCE_GREY) -> Any:
        """Keep ``source`` (a PNG made by :mod:`derivatives`) encrypted as ``original``'s source of
        ``kind``, in the caller's transaction; the stored blob (to discard if it rolls back)."""
        return self._evidence.keep_derivative(session, original, kind, source, PREVIEW_MAX_SIDE, actor, SOURCE_PURPOSE)

    def _keep(self, original: str, kind: str, source: bytes, actor: Actor) -> None:
        blob = None
        try:
            with self._transaction() as session:
                blob = self.keep_source(session, original, source, actor, kind)
        except (IntegrityError, FileNotFoundError):  # another view kept one first, or the original is gone
            if blob is not None and self._new_session is not None:
                self._evidence.discard(self._new_session, blob)

    # -- reveal -------------------------------------------------------------------------------

    def reveal(self, viewer: Viewer, item_id: uuid.UUID, purpose: str | None) -> Reveal | Refused:
        """Record the reveal and issue its token; the caller gives the browser the token only."""
        now = self._clock()
        with self._transaction() as session:
            item = session.get(Item, item_id)
            if item is None or not item.vault_object:
                return Refused(404, "no content")
            claim = self._claim(session, viewer, item.report_id)
            if claim is None:
                return self._refuse(session, viewer, item, Refusal.NO_CLAIM)
            if not purpose:
                return self._refuse(session, viewer, item, Refusal.NO_PURPOSE, status=400)
            counted = self.count(session, viewer.user_id)
            if counted.capped:
                self._audit.record(session, AuditEvent.EXPOSURE_CAP_REACHED, viewer.actor, "item", str(item.id),
                                   "reveal refused: daily cap reached",
                                   {"report": str(item.report_id), "revealed_today": counted.today,
                                    "cap": counted.cap, "day": now.date().isoformat()})
                return Refused(403, Refusal.DAILY_CAP.value)
            session.execute(delete(RevealToken).where(RevealToken.expires_at < now - REVEAL_TOKEN_KEEP))
            token = secrets.token_urlsafe(32)
            digest = _digest(token)
            expires_at = now + REVEAL_TOKEN_TTL
            session.add(RevealToken(digest=digest, user_id=viewer.user_id, item_id=item.id, report_id=item.report_id,
                                    claimed_at=claim.claimed_at, purpose=purpose, created_at=now,
                                    expires_at=expires_at))
            display = _display(item)
            self._audit.record(session, AuditEvent.MEDIA_REVEAL, viewer.actor, "item", str(item.id), purpose,
                               {"report": str(item.report_id), "sha256": item.sha256, "token": digest[:16],
                                "view": display.value, "expires_at": expires_at.isoformat()})
        return Reveal(token, expires_at, display)

    def revealed(self, viewer: Viewer, item_id: uuid.UUID, token: str) -> Served | Refused:
        now = self._clock()
        digest = _digest(token)
        with self._transaction() as session:
            row = session.get(RevealToken, digest, with_for_update=True)
            item = session.get(Item, item_id)
            if row is None:
                return self._refuse(session, viewer, item, Refusal.UNKNOWN_TOKEN, item_id=item_id)
            used_before = row.used_at
            # Spent now, whatever the outcome: a token tried by someone else is void for all.
            spent = session.execute(update(RevealToken).where(RevealToken.digest == digest,
                                                              RevealToken.used_at.is_(None))
                                    .values(used_at=now)).rowcount
            if not spent:
                used_before = used_before or now
            claim = session.get(ReportClaim, row.report_id)
            refusal = token_refusal(
                TokenState(row.user_id, row.item_id, row.claimed_at, row.expires_at, used_before,
                           claim.user_id if claim else None, claim.claimed_at if claim else None,
                           claim.expires_at if claim else None),
                user_id=viewer.user_id, item_id=item_id, now=now)
            if refusal is None and (item is None or not item.vault_object or item.report_id != row.report_id):
                refusal = Refusal.OTHER_ITEM
            if refusal is not None:
                return self._refuse(session, viewer, item, refusal, item_id=item_id, token=digest)
            assert item is not None and item.vault_object
            display = _display(item)
            filename = f"item-{item.id}"
            chunks = self._evidence.read(
                session, item.vault_object, viewer.actor, row.purpose,
                {"item": str(item.id), "report": str(item.report_id), "token": digest[:16],
                 "view": "unblurred" if display is Display.PICTURE else "attachment"})
        data = b"".join(chunks)
        if display is Display.PICTURE:
            try:
                return Served(derivatives.picture_unblurred(data), "image/webp", raster=True)
            except derivatives.NotDecodable:
                pass  # then as any other content: an attachment
        kind, mime = sniff_media_type(data[:64])
        media_type = mime if kind == "video" and display is Display.VIDEO and mime else "application/octet-stream"
        return Served(data, media_type, raster=False, filename=f"{filename}.{EXTENSIONS.get(media_type, 'bin')}")

    # -- wellness -----------------------------------------------------------------------------

    def count(self, session: Session, user_id: uuid.UUID, break_since: datetime | None = None) -> ExposureCount:
        """This user's reveals today and this week (UTC), and since ``break_since`` (their
        last dismissed break reminder, or the start of the day, whichever is later)."""
        now = self._clock()
        today, week = day_start(now), week_start(now)
        since = max(today, break_since) if break_since else today
        reveals = (select(func.count()).select_from(AuditRecord)
                   .where(AuditRecord.event_type == AuditEvent.MEDIA_REVEAL.value,
                          AuditRecord.actor_type == "staff", AuditRecord.actor_id == str(user_id)))
        lifted = False
        if self.daily_cap:
            lifted = session.execute(select(func.count()).select_from(AuditRecord).where(
                AuditRecord.event_type == AuditEvent.EXPOSURE_CAP_LIFT.value, AuditRecord.subject_type == "user",
                AuditRecord.subject_id == str(user_id), AuditRecord.occurred_at >= today)).scalar_one() > 0
        return ExposureCount(
            today=session.execute(reveals.where(AuditRecord.occurred_at >= today)).scalar_one(),
            week=session.execute(reveals.where(AuditRecord.occurred_at >= week)).scalar_one(),
            since_break=session.execute(reveals.where(AuditRecord.occurred_at >= since)).scalar_one(),
            cap=self.daily_cap, lifted=lifted)

    def lift_cap(self, session: Session, senior: Actor, analyst: User, reason: str) -> ExposureCount:
        """Let ``analyst`` reveal past the daily cap until the end of today (UTC), audited as
        ``exposure:cap_lift`` with the senior's reason. The caller checks the senior's role."""
        counted = self.count(session, analyst.id)
        self._audit.record(session, AuditEvent.EXPOSURE_CAP_LIFT, senior, "user", str(analyst.id), reason,
                           {"username": analyst.username, "revealed_today": counted.today, "cap": counted.cap,
                            "day": self._clock().date().isoformat()})
        return self.count(session, analyst.id)

    # -- helpers ------------------------------------------------------------------------------

    def _claim(self, session: Session, viewer: Viewer, report_id: uuid.UUID) -> ReportClaim | None:
        claim = session.get(ReportClaim, report_id)
        if claim is None or claim.user_id != viewer.user_id or claim.expires_at <= self._clock():
            return None
        return claim

    def _holds_claim(self, session: Session, viewer: Viewer, report_id: uuid.UUID) -> bool:
        return self._claim(session, viewer, report_id) is not None

    def _refuse(self, session: Session, viewer: Viewer, item: Item | None, reason: Refusal, *,
                item_id: uuid.UUID | None = None, token: str | None = None, status: int = 403) -> Refused:
        details: dict[str, Any] = {"reason": reason.value}
        if item is not None:
            details["report"] = str(item.report_id)
        if token:
            details["token"] = token[:16]
        self._audit.record(session, AuditEvent.MEDIA_REFUSE, viewer.actor, "item",
                           str(item.id if item is not None else item_id), "media request refused", details)
        return Refused(status, reason.value)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _display(item: Item) -> Display:
    return display_of(media_type=item.media_type, hash_status=item.hash_status,
                      vault_object=item.vault_object, polyglot=bool(item.polyglot))

