"""Staff pages for the partner directory (administrators) and law-enforcement holds
(law-enforcement liaison officers)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from balise.accounts.actors import Actor
from balise.adapters.db.models import Report, User
from balise.domain.model import Role
from balise.domain.partners import Channel, PartnerKind
from balise.takedown.holds import HoldError
from balise.takedown.partners import PartnerChanges, PartnerError
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role
from balise.web.ui.workbench import _flash

router = APIRouter(prefix="/ui", include_in_schema=False)


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _back_to_holds(report: str, message: str | None = None, error: str | None = None) -> Response:
    """Back to the holds of a report; the report value is form input, so it is encoded."""
    from urllib.parse import urlencode

    query = {k: v for k, v in (("report", report), ("msg", message), ("err", error)) if v}
    return RedirectResponse("/ui/holds?" + urlencode(query), status_code=303)


def _languages(text: str) -> list[str]:
    return [x.strip().lower() for x in text.replace(";", ",").split(",") if x.strip()]


@router.get("/partners")
def partners_page(request: Request, kind: str = "", country: str = "", msg: str = "", err: str = "",
                  user: User = Depends(require_role(Role.ADMIN, Role.LE_LIAISON))) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        partners = balise.partners.list(session, kind=kind or None, country=country or None)
    return render(request, "partners.html", partners=partners, kinds=[k.value for k in PartnerKind],
                  channels=[c.value for c in Channel], filters={"kind": kind, "country": country},
                  can_edit=user.role == Role.ADMIN.value, msg=msg, err=err)


@router.post("/partners/seed")
def partners_seed(request: Request, user: User = Depends(require_role(Role.ADMIN))) -> Response:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        added = balise.partners.seed(session, _actor(user))
    return _flash("/ui/partners", message=i18n.gettext("%(n)s partners added.") % {"n": added})


@router.post("/partners")
def partners_add(request: Request, user: User = Depends(require_role(Role.ADMIN)), kind: str = Form(...),
                 country: str = Form(""), name: str = Form(...), channel: str = Form(...), endpoint: str = Form(""),
                 languages: str = Form("en"), webhook_secret: str = Form(""), verified: str = Form("")) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.partners.create(session, _actor(user), kind=kind, country=country or None, name=name,
                                   channel=channel, endpoint=endpoint or None, languages=_languages(languages),
                                   webhook_secret=webhook_secret or None, verified=verified == "1")
    except PartnerError as exc:
        return _flash("/ui/partners", error=str(exc))
    return _flash("/ui/partners", message=i18n.gettext("Partner added."))


@router.post("/partners/{partner_id}")
def partners_update(request: Request, partner_id: int, user: User = Depends(require_role(Role.ADMIN)),
                    channel: str = Form(...), endpoint: str = Form(""), languages: str = Form(...),
                    webhook_secret: str = Form(""), verified: str = Form(""), was_verified: str = Form(""),
                    active: str = Form("")) -> Response:
    balise = request.app.state.balise
    # The checkbox comes pre-ticked for a verified partner: left as it was, it says nothing,
    # so that a new endpoint is unverified until an administrator ticks it for that endpoint.
    verified_now: bool | None = verified == "1"
    if was_verified in ("0", "1") and verified_now == (was_verified == "1"):
        verified_now = None
    try:
        with balise.db.transaction() as session:
            balise.partners.update(session, _actor(user), partner_id, PartnerChanges(
                channel=channel, endpoint=endpoint, languages=_languages(languages),
                webhook_secret=webhook_secret or None, verified=verified_now, active=active == "1"))
    except PartnerError as exc:
        return _flash("/ui/partners", error=str(exc))
    return _flash("/ui/partners", message=i18n.gettext("Partner updated."))


@router.get("/holds")
def holds_page(request: Request, report: str = "", msg: str = "", err: str = "",
               user: User = Depends(require_role(Role.LE_LIAISON, Role.ADMIN))) -> HTMLResponse:
    balise = request.app.state.balise
    holds, found, report_id = [], None, None
    if report:
        try:
            report_id = uuid.UUID(report.strip())
        except ValueError:
            err = err or i18n.gettext("That is not a report id.")
    if report_id is not None:
        with balise.db.sessions() as session:
            found = session.get(Report, report_id)
            if found is None:
                err = err or i18n.gettext("There is no such report.")
            else:
                holds = balise.holds.for_report(session, report_id)
    return render(request, "holds.html", report=found, query=report, holds=holds, now=balise.clock(),
                  can_edit=user.role == Role.LE_LIAISON.value, msg=msg, err=err)


@router.post("/holds")
def holds_set(request: Request, user: User = Depends(require_role(Role.LE_LIAISON)), report: str = Form(...),
              authority: str = Form(...), until: str = Form(...), reference: str = Form(""), reason: str = Form(""),
              do_not_inform: str = Form(""), do_not_remove: str = Form("")) -> Response:
    balise = request.app.state.balise
    try:
        report_id = uuid.UUID(report)
        expires = datetime.fromisoformat(until)
    except ValueError:
        return _back_to_holds(report, error=i18n.gettext("Give a report id and an expiry date."))
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    try:
        with balise.db.transaction() as session:
            balise.holds.set(session, _actor(user), report_id, do_not_inform=do_not_inform == "1",
                             do_not_remove=do_not_remove == "1", authority=authority, expires_at=expires,
                             reference=reference, reason=reason)
    except HoldError as exc:
        return _back_to_holds(report, error=str(exc))
    return _back_to_holds(report, message=i18n.gettext("Hold recorded."))


@router.post("/holds/{hold_id}/lift")
def holds_lift(request: Request, hold_id: int, report: str = Form(...),
               user: User = Depends(require_role(Role.LE_LIAISON))) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.holds.lift(session, _actor(user), hold_id, "lifted by the liaison officer")
    except HoldError as exc:
        return _back_to_holds(report, error=str(exc))
    return _back_to_holds(report, message=i18n.gettext("Hold lifted."))


CLOCK_ROLES = (Role.SENIOR_ANALYST, Role.ADMIN, Role.AUDITOR, Role.LE_LIAISON)


@router.get("/clocks")
def clocks_page(request: Request, kind: str = "", state: str = "",
                user: User = Depends(require_role(*CLOCK_ROLES))) -> HTMLResponse:
    """Supervisors' view of the legal and service clocks: overdue first, then due soon."""
    from balise.domain.clocks import RULES, ClockKind, ClockState

    balise = request.app.state.balise
    now = balise.clock()
    kinds = [ClockKind(kind)] if kind in {k.value for k in ClockKind} else None
    order = {ClockState.OVERDUE: 0, ClockState.DUE_SOON: 1, ClockState.RUNNING: 2}
    with balise.db.sessions() as session:
        clocks = balise.clocks.running(session, kinds)
        alerts = balise.clocks.alerts(session, limit=50)
    rows = [{"clock": c, "state": c.state(now).value, "minutes_left": int((c.deadline - now).total_seconds() // 60)}
            for c in sorted(clocks, key=lambda c: (order[c.state(now)], c.deadline))
            if not state or c.state(now).value == state][:500]
    return render(request, "clocks.html", rows=rows, alerts=alerts, rules=_clock_rules(RULES),
                  filters={"kind": kind, "state": state}, kinds=[k.value for k in ClockKind],
                  states=[s.value for s in ClockState])


def _clock_rules(rules):  # type: ignore[no-untyped-def]
    """The meaning of each clock in the staff member's language (the CLI prints RULES in English)."""
    g = i18n.gettext
    text = {
        "assessment": (g("Assessment target: 1 h for urgent reports, 24 h otherwise (urgent reports first, CSAR Art. 48)"),
                       g("The report is overdue in the queue; a supervisor should assign it.")),
        "information_request": (g("The provider was asked for missing information (CSAR Art. 48(2))"),
                                g("The report goes back to the assessment queue without the answer; an analyst decides on what it holds.")),
        "indicator_confirmation": (g("A second, senior analyst confirms new material within 1 month (service target)"),
                                   g("The candidate indicator still waits for a second, senior analyst.")),
        "authority_confirmation": (g("The coordinating authority confirms the centre's new material within 1 month, 2 when extended (CSAR Art. 36(3))"),
                                   g("The candidate still matches nothing; the centre asks the authority again or extends to 2 months.")),
        "removal": (g("Removal after notice, within the removal SLA"),
                    g("Removal verification escalates to the coordinating authority.")),
        "hold_expiry": (g("A law-enforcement hold lasts at most 18 months (CSAR Art. 48(6))"),
                        g("The hold ends and routing resumes; the authority renews it before if it still needs it.")),
        "unfinished_ncmec": (g("An unfinished NCMEC-API report is deleted 24 h after opening or 1 h after its last change, whichever is later"),
                             g("The report, its XML and its files are deleted.")),
        "order_removal": (g("A removal order is executed within 24 h of its receipt; a clarification request or an impossibility pauses the clock (CSAR Art. 14)"),
                          g("The URLs are checked again; those still served are escalated to the issuing authority.")),
        "order_opinion": (g("The centre gives its opinion on a draft detection order within 4 weeks (CSAR Art. 7(3))"),
                          g("The opinion is late; the authority may issue the order without it.")),
        "order_period": (g("A detection order lasts at most 24 months, 12 for solicitation (CSAR Art. 7(9))"),
                         g("The provider's access to the databases ends with the order's period.")),
    }
    return [{"kind": kind.value, "basis": text[kind.value][0], "on_expiry": text[kind.value][1]} for kind in rules]
