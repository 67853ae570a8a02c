"""The media viewer's four routes (docs/workbench.md, "Media viewer"; evidence/exposure.py):

* ``GET /ui/items/{id}/media`` — the blurred derivative (PNG), to the analyst holding the claim.
* ``GET /ui/candidates/items/{id}/media`` — the same blurred derivative, to a senior analyst
  asked to confirm the item's new indicators (four eyes), without a claim.
* ``POST /ui/items/{id}/reveal`` — record a reveal with its purpose; answers the single-use URL.
* ``GET /ui/items/{id}/reveal/{token}`` — that URL, once: an unblurred re-encoded picture, or
  any other content as an attachment that runs nothing.

Every answer is ``no-store``, ``nosniff`` and sandboxed by its own CSP; refusals are 403 and
carry no content.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from balise.adapters.db.models import User
from balise.domain.exposure import (
    REVEAL_PURPOSES,
    Refusal,
    preview_strength,
    stated_purpose,
)
from balise.domain.model import Role
from balise.evidence.exposure import Refused, Served, Viewer
from balise.web.ui import i18n
from balise.web.ui.routes import DEFAULT_PREFERENCES, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)
ASSESSORS = (Role.ANALYST, Role.SENIOR_ANALYST)

# Content Balise did not make itself is never rendered on the staff origin: this policy
# applies if a browser opens such an answer anyway (no script, no plugin, a unique origin).
SANDBOX_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox; frame-ancestors 'none'"
BASE_HEADERS = {"cache-control": "no-store, private", "x-content-type-options": "nosniff",
                "cross-origin-resource-policy": "same-origin", "content-security-policy": SANDBOX_CSP}


def _viewer(user: User) -> Viewer:
    blur, greyscale = preview_strength({**DEFAULT_PREFERENCES, **(user.preferences or {})})
    return Viewer(user.id, user.username, blur, greyscale)


def _answer(result: Served | Refused) -> Response:
    if isinstance(result, Refused):
        return Response(f"Refused: {result.reason}\n" if result.status == 403 else f"{result.reason}\n",
                        status_code=result.status, media_type="text/plain", headers=BASE_HEADERS)
    headers = dict(BASE_HEADERS)
    if result.raster:
        headers["content-disposition"] = "inline"
    else:
        headers["content-disposition"] = f'attachment; filename="{result.filename or "item.bin"}"'
    return Response(result.body, media_type=result.media_type, headers=headers)


@router.get("/items/{item_id}/media")
def media(request: Request, item_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """The item as a blurred derivative made here, never the stored bytes."""
    return _answer(request.app.state.balise.exposure.preview(_viewer(user), item_id))


@router.get("/candidates/items/{item_id}/media")
def four_eyes_media(request: Request, item_id: uuid.UUID,
                    user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> Response:
    """The blurred derivative of an item whose new indicators wait for this senior's
    confirmation (media:preview, purpose "four eyes"); refused (403, audited) otherwise."""
    return _answer(request.app.state.balise.exposure.four_eyes_preview(_viewer(user), item_id))


@router.post("/items/{item_id}/reveal")
def reveal(request: Request, item_id: uuid.UUID, purpose: str = Form(default="", max_length=500),
           detail: str = Form(default="", max_length=500),
           user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """Record a reveal (media:reveal, with the purpose chosen or typed) and answer the URL that
    shows the item once, within a minute, to this analyst while they hold the claim."""
    typed = detail if purpose in REVEAL_PURPOSES or purpose == "other" else (detail or purpose)
    result = request.app.state.balise.exposure.reveal(_viewer(user), item_id, stated_purpose(purpose, typed))
    if isinstance(result, Refused) and result.reason == Refusal.DAILY_CAP.value:
        # Balise's own words, for the page to show as they are: no content, no token.
        cap = request.app.state.balise.exposure.daily_cap
        i18n.activate(i18n.negotiate(request.headers.get("accept-language"), (user.preferences or {}).get("locale")))
        message = i18n.gettext("You reached today's cap of %(cap)s reveals. Items stay blurred until a senior "
                               "analyst lifts the cap for you for today.") % {"cap": cap}
        return JSONResponse({"refused": result.reason, "message": message}, status_code=403, headers=BASE_HEADERS)
    if isinstance(result, Refused):
        return _answer(result)
    seconds = max(1, int((result.expires_at - request.app.state.balise.clock()).total_seconds()))
    return JSONResponse({"url": f"/ui/items/{item_id}/reveal/{result.token}", "expires_in": seconds,
                         "view": result.display.value}, headers={"cache-control": "no-store, private"})


@router.get("/items/{item_id}/reveal/{token}")
def revealed(request: Request, item_id: uuid.UUID, token: str,
             user: User = Depends(require_role(*ASSESSORS))) -> Response:
    return _answer(request.app.state.balise.exposure.revealed(_viewer(user), item_id, token[:200]))
