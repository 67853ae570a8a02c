"""Wellness (docs/workbench.md, "Wellness"): the break reminder an analyst dismisses, and the
team page where a senior analyst sees each analyst's reveals today and this week and lifts the
daily cap for one of them, for the day.

* ``POST /ui/wellness/break`` — dismiss the break reminder: reveals count towards the next
  one from now.
* ``GET /ui/wellness`` — senior analysts: the team's exposure counters and caps.
* ``POST /ui/wellness/{user_id}/lift`` — senior analysts: lift the daily cap of another analyst
  for today, with a reason (audited ``exposure:cap_lift``).
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import User
from balise.domain.audit import AuditEvent
from balise.domain.model import Role
from balise.web.ui import i18n
from balise.web.ui.routes import REVEALERS, current_user, render, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)
MIN_REASON = 5


def _back(path: str) -> str:
    """Where to return after dismissing: a staff page of this site, else home."""
    return path if re.fullmatch(r"/ui/[A-Za-z0-9/_.-]*", path) and ".." not in path else "/ui/"


@router.post("/wellness/break")
def dismiss_break(request: Request, back: str = Form(default="/ui/", max_length=500),
                  user: User = Depends(current_user)) -> Response:
    balise = request.app.state.balise
    now = balise.clock()
    with balise.db.transaction() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        stored.preferences = {**(stored.preferences or {}), "break_dismissed_at": now.isoformat()}
        balise.audit.record(session, AuditEvent.USER_PREFERENCES, Actor.staff(str(user.id), user.username), "user",
                            str(user.id), "break reminder dismissed", {"break_dismissed_at": now.isoformat()})
    return RedirectResponse(_back(back), status_code=303)


def _team(request: Request) -> list[dict[str, object]]:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        users = session.execute(select(User).where(User.role.in_(REVEALERS), User.active.is_(True))
                                .order_by(User.username)).scalars().all()
        return [{"user": u, "count": balise.exposure.count(session, u.id)} for u in users]


@router.get("/wellness")
def team_page(request: Request, msg: str = "", err: str = "",
              user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> HTMLResponse:
    return render(request, "wellness.html", rows=_team(request), cap=request.app.state.balise.exposure.daily_cap,
                  msg=msg, err=err)


@router.post("/wellness/{user_id}/lift")
def lift(request: Request, user_id: uuid.UUID, reason: str = Form(default="", max_length=500),
         user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> Response:
    balise = request.app.state.balise
    reason = " ".join(reason.split())

    def refuse(message: str, status: int) -> HTMLResponse:
        return render(request, "wellness.html", status=status, rows=_team(request), cap=balise.exposure.daily_cap,
                      msg="", err=message)

    if len(reason) < MIN_REASON:
        return refuse(i18n.gettext("Say why you lift the cap (at least 5 characters). Nothing was changed."), 400)
    if user_id == user.id:
        return refuse(i18n.gettext("You cannot lift your own cap: another senior analyst can. Nothing was changed."),
                      403)
    if not balise.exposure.daily_cap:
        return refuse(i18n.gettext("This installation sets no daily cap: there is nothing to lift."), 409)
    name = None
    with balise.db.transaction() as session:
        analyst = session.get(User, user_id)
        if analyst is not None and analyst.active and analyst.role in REVEALERS:
            balise.exposure.lift_cap(session, Actor.staff(str(user.id), user.username), analyst, reason)
            name = analyst.username
    if name is None:
        return refuse(i18n.gettext("There is no such analyst. Nothing was changed."), 404)
    from urllib.parse import urlencode

    message = i18n.gettext("The daily cap of %(name)s is lifted until midnight UTC.") % {"name": name}
    return RedirectResponse("/ui/wellness?" + urlencode({"msg": message}), status_code=303)
