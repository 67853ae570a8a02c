"""Exposure rules of the media viewer (docs/workbench.md, "Media viewer").

By default the browser gets only a derivative made on the server: small, blurred, greyscale
unless the analyst chose colour, re-encoded as a PNG without metadata, never the stored bytes.
An item is seen unblurred only through a reveal: the analyst holding an active claim on the
item's report states why, the reveal is recorded, and a single-use token, valid for
``REVEAL_TOKEN_TTL`` and bound to that analyst, that item and that claim, lets the browser
fetch it once. What can be shown at all is decided here from what the isolated hasher found
(an item it could not decode, or that is not a picture or video, is a placeholder).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

REVEAL_TOKEN_TTL = timedelta(seconds=60)
# Tokens that ended longer ago than this are deleted when a new one is issued.
REVEAL_TOKEN_KEEP = timedelta(hours=1)

# The default derivative: long side in pixels, and the blur chosen by the analyst's "blur
# strength" (settings, in pixels of a 640-pixel-wide picture, as the CSS blur it replaces),
# never below the floor.
PREVIEW_MAX_SIDE = 320
PREVIEW_MIN_BLUR = 16
PREVIEW_MAX_BLUR = 40
BLUR_REFERENCE_SIDE = 640
# A video's default view: a contact sheet of this many blurred keyframes.
CONTACT_SHEET_FRAMES = 6
CONTACT_SHEET_COLUMNS = 3
CONTACT_SHEET_THUMB = 200
# An unblurred picture is re-encoded too (no metadata, no trailing data), at most this long.
REVEALED_MAX_SIDE = 2048

# Hashing outcomes meaning the isolated hasher decoded the content completely.
DECODED = ("ok", "low_quality")
MIN_TYPED_PURPOSE = 5


class Display(StrEnum):
    """How the report page shows an item's content."""

    PICTURE = "picture"  # a blurred derivative
    VIDEO = "video"  # a contact sheet of blurred keyframes
    PENDING = "pending"  # still being checked by the hasher: nothing shown yet
    PLACEHOLDER = "placeholder"  # not a picture or video Balise decoded: type and hashes only
    NONE = "none"  # no stored content (hash-only item, URL not kept)


class Refusal(StrEnum):
    """Why a request for an item's content was refused (403, audited as media:refuse)."""

    NO_CLAIM = "no_claim"
    UNKNOWN_TOKEN = "unknown_token"
    TOKEN_USED = "token_used"
    TOKEN_EXPIRED = "token_expired"
    OTHER_USER = "other_user"
    OTHER_ITEM = "other_item"
    CLAIM_CHANGED = "claim_changed"
    NO_PURPOSE = "no_purpose"
    # The four-eyes view (a senior's blurred look at an item awaiting their confirmation).
    NOT_SENIOR = "not_senior"
    NOT_AWAITING = "not_awaiting_confirmation"
    OWN_ASSESSMENT = "own_assessment"
    # Wellness: the analyst reached the installation's daily cap of reveals, not lifted today.
    DAILY_CAP = "daily_cap"


# The purpose recorded when a senior analyst sees the blurred derivative of an item whose
# new indicators wait for their confirmation: they hold no claim on the report, and need none.
FOUR_EYES_PURPOSE = "four eyes"
FOUR_EYES_ROLE = "senior-analyst"


# Purposes an analyst picks from when revealing an item (or types another, at least
# MIN_TYPED_PURPOSE characters). Recorded in English in the audit trail.
REVEAL_PURPOSES = {
    "classify": "classify the item",
    "age": "estimate the age of the people shown",
    "compare": "compare with a match or a near-duplicate",
    "identify": "look for clues to identify a victim, an offender or a place",
    "check_file": "check that the file is what the report says",
}


def display_of(*, media_type: str | None, hash_status: str | None,
               vault_object: str | None, polyglot: bool = False) -> Display:
    if not vault_object:
        return Display.NONE
    if hash_status == "pending":
        return Display.PENDING
    # Hashed as the picture it also is, so that it matches; but never rendered, not even as a
    # derivative: whatever reads it next (a browser, an archive tool) may see the other format.
    if polyglot:
        return Display.PLACEHOLDER
    if hash_status in DECODED and media_type == "image":
        return Display.PICTURE
    if hash_status in DECODED and media_type == "video":
        return Display.VIDEO
    return Display.PLACEHOLDER


def stated_purpose(choice: str, typed: str) -> str | None:
    """The purpose to record: a listed one (with what was typed as detail), or what was typed
    when it says enough; None when there is no usable purpose."""
    typed = " ".join(typed.split())[:500]
    if choice in REVEAL_PURPOSES:
        return REVEAL_PURPOSES[choice] + (f": {typed}" if typed else "")
    if len(typed) >= MIN_TYPED_PURPOSE:
        return typed
    return None


def preview_strength(preferences: dict[str, Any]) -> tuple[int, bool]:
    """(Gaussian blur radius in the derivative's pixels, greyscale) for these preferences."""
    try:
        blur = int(preferences.get("blur", PREVIEW_MIN_BLUR))
    except (TypeError, ValueError):
        blur = PREVIEW_MIN_BLUR
    blur = max(PREVIEW_MIN_BLUR, min(PREVIEW_MAX_BLUR, blur))
    return blur * PREVIEW_MAX_SIDE // BLUR_REFERENCE_SIDE, bool(preferences.get("greyscale", True))


@dataclass(frozen=True)
class TokenState:
    """What a stored reveal token says, and the claim its report has now."""

    user_id: Any
    item_id: Any
    claimed_at: datetime
    expires_at: datetime
    used_at: datetime | None
    claim_user_id: Any | None
    claim_claimed_at: datetime | None
    claim_expires_at: datetime | None


def token_refusal(token: TokenState, *, user_id: Any, item_id: Any, now: datetime) -> Refusal | None:
    """None when the token lets this user see this item now; else why not."""
    if token.used_at is not None:
        return Refusal.TOKEN_USED
    if token.expires_at <= now:
        return Refusal.TOKEN_EXPIRED
    if token.user_id != user_id:
        return Refusal.OTHER_USER
    if token.item_id != item_id:
        return Refusal.OTHER_ITEM
    if token.claim_user_id != user_id or token.claim_expires_at is None or token.claim_expires_at <= now:
        return Refusal.NO_CLAIM
    if token.claim_claimed_at != token.claimed_at:
        return Refusal.CLAIM_CHANGED
    return None


# -- wellness (docs/workbench.md, "Wellness") ---------------------------------------------------

# A break is suggested after this many reveals since the last one was dismissed (0: never),
# unless the analyst chose another number in their settings.
DEFAULT_BREAK_AFTER_REVEALS = 20
MAX_BREAK_AFTER_REVEALS = 500


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: a day's reveals and a cap's lift count from here."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(now: datetime) -> datetime:
    """Monday midnight UTC of ``now``'s week (ISO weeks)."""
    return day_start(now) - timedelta(days=now.weekday())


def break_after(preferences: dict[str, Any]) -> int:
    """The number of reveals after which a break is suggested (0: never), from preferences."""
    try:
        value = int(preferences.get("break_after_reveals", DEFAULT_BREAK_AFTER_REVEALS))
    except (TypeError, ValueError):
        return DEFAULT_BREAK_AFTER_REVEALS
    return max(0, min(MAX_BREAK_AFTER_REVEALS, value))


@dataclass(frozen=True)
class ExposureCount:
    """An analyst's reveals: today, this week, since their last dismissed break reminder;
    and the installation's daily cap (0: none) with whether a senior lifted it for today."""

    today: int
    week: int
    since_break: int
    cap: int
    lifted: bool

    @property
    def capped(self) -> bool:
        """Reveals are refused now."""
        return bool(self.cap) and self.today >= self.cap and not self.lifted

    def break_due(self, every: int) -> bool:
        return bool(every) and self.since_break >= every
