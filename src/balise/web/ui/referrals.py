"""The report page's referrals between Balise installations (docs/federation.md): refer a
report's URLs to a partner installation, and decide the outcome of a referral received. Both
for analysts and senior analysts, like the assessment itself."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from balise.accounts.actors import Actor
from balise.adapters.db.models import ReferralReceived, User
from balise.exchange.federation import FederationError
from balise.web.ui import i18n
from balise.web.ui.routes import require_role
from balise.web.ui.workbench import ASSESSORS, _flash

router = APIRouter(prefix="/ui", include_in_schema=False)


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


@router.post("/reports/{report_id}/refer")
def refer(request: Request, report_id: uuid.UUID, partner: str = Form(default="", max_length=100),
          reason: str = Form(default="", max_length=2000), user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    back = f"/ui/reports/{report_id}#referrals"
    if not partner.strip():
        return _flash(back, error=i18n.gettext("Choose the partner installation to refer the report to."))
    if not reason.strip():
        return _flash(back, error=i18n.gettext("Say why the report is referred."))
    try:
        with balise.db.transaction() as session:
            made = balise.referrals.refer(session, _actor(user), report_id, partner, reason)
            count = len(made)
    except FederationError as exc:
        return _flash(back, error=str(exc))
    return _flash(back, message=i18n.ngettext("%(num)d URL referred; it will be sent to the partner.",
                                              "%(num)d URLs referred; they will be sent to the partner.", count)
                  % {"num": count})


@router.post("/referrals/{referral_id}/outcome")
def outcome(request: Request, referral_id: uuid.UUID, result: str = Form(default="", max_length=20),
            removed_on: str = Form(default="", max_length=40),
            user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        received = session.get(ReferralReceived, referral_id)
        report_id = received.report_id if received else None
    back = f"/ui/reports/{report_id}#referrals" if report_id else "/ui/queue"
    if result not in ("removed", "not_illegal"):
        return _flash(back, error=i18n.gettext("Choose an outcome: removed, or not illegal here."))
    when = None
    if removed_on.strip() and result == "removed":
        try:
            when = datetime.fromisoformat(removed_on.strip())
        except ValueError:
            return _flash(back, error=i18n.gettext("The removal time is not a date and time."))
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    try:
        with balise.db.transaction() as session:
            balise.referrals.close(session, _actor(user), referral_id, result, when)
    except FederationError as exc:
        return _flash(back, error=str(exc))
    return _flash(back, message=i18n.gettext("Outcome recorded; it will be sent back to the partner."))
