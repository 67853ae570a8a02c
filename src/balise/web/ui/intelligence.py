"""Cross-report intelligence pages (docs/intelligence.md): search the entity index by value
(with a purpose, audited), and a report's neighbourhood drawn as a server-rendered SVG graph
of its entities and the reports sharing them, limited by role."""

from __future__ import annotations

import math
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from balise.accounts.actors import Actor
from balise.adapters.db.models import User
from balise.domain.entities import MAX_PURPOSE, MAX_VALUE, EntityKind
from balise.domain.model import Role
from balise.intelligence.entities import EntitySearchError, Neighbourhood
from balise.web.ui import i18n
from balise.web.ui.labels import label
from balise.web.ui.routes import render, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)
SEARCHERS = (Role.ANALYST, Role.SENIOR_ANALYST, Role.LE_LIAISON)
KINDS = [k.value for k in EntityKind]


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _private(response: Response) -> Response:
    response.headers["cache-control"] = "no-store, private"
    return response


@router.get("/intelligence")
def search_form(request: Request, user: User = Depends(require_role(*SEARCHERS))) -> HTMLResponse:
    return render(request, "intelligence.html", kinds=KINDS, result=None, error=None, value="", purpose="", kind="",
                  limits={"value": MAX_VALUE, "purpose": MAX_PURPOSE})


@router.post("/intelligence/search")
def search(request: Request, user: User = Depends(require_role(*SEARCHERS)),
           value: str = Form(default="", max_length=MAX_VALUE), purpose: str = Form(default="", max_length=MAX_PURPOSE),
           kind: str = Form(default="", max_length=32)) -> Response:
    balise = request.app.state.balise
    context = {"kinds": KINDS, "value": value, "purpose": purpose, "kind": kind,
               "limits": {"value": MAX_VALUE, "purpose": MAX_PURPOSE}}
    try:
        with balise.db.transaction() as session:
            result = balise.entities.search(session, _actor(user), user.role, value, purpose, kind=kind or None)
    except EntitySearchError as exc:
        messages = {"purpose": i18n.gettext("Say why you search (at least 5 characters)."),
                    "value": i18n.gettext("Give the value to search for."),
                    "kind": i18n.gettext("Choose a kind from the list.")}
        return _private(render(request, "intelligence.html", status=422, result=None, exposure=None,
                               error=messages.get(exc.field, exc.message), error_field=exc.field, **context))
    return _private(render(request, "intelligence.html", result=result, error=None, exposure=None, **context))


def graph_svg(hood: Neighbourhood, short: Any) -> dict[str, Any]:
    """Positions for the SVG: the report in the middle, its entities on a circle, the reports
    sharing them on an outer circle beside the entity that links them."""
    width, height = 900, 640
    cx, cy, r1, r2 = width / 2, height / 2, 170, 285
    entities = hood.entities[:40]
    places: dict[str, tuple[float, float, float]] = {}
    nodes_e = []
    for i, ent in enumerate(entities):
        angle = 2 * math.pi * i / max(len(entities), 1) - math.pi / 2
        x, y = cx + r1 * math.cos(angle), cy + r1 * math.sin(angle)
        places[ent["key"]] = (x, y, angle)
        text = ent["value"] if len(ent["value"]) <= 26 else ent["value"][:12] + "…" + ent["value"][-12:]
        nodes_e.append({"x": x, "y": y, "kind": label("entity_kind", ent["kind"]), "text": text})
    neighbours = sorted(hood.neighbours, key=lambda n: min(
        (places[k][2] for k in n["keys"] if k in places), default=0))[:60]
    nodes_r, edges = [], [{"x1": cx, "y1": cy, "x2": x, "y2": y} for x, y, _ in places.values()]
    for j, node in enumerate(neighbours):
        angle = 2 * math.pi * j / max(len(neighbours), 1) - math.pi / 2
        if len(neighbours) < len(entities):
            angle = min((places[k][2] for k in node["keys"] if k in places), default=angle) + (j % 3 - 1) * 0.12
        x, y = cx + r2 * math.cos(angle), cy + r2 * math.sin(angle)
        nodes_r.append({"x": x, "y": y, "id": node["id"], "short": short(node["id"]),
                        "state": label("state", node["state"])})
        edges += [{"x1": places[k][0], "y1": places[k][1], "x2": x, "y2": y} for k in node["keys"] if k in places]
    return {"width": width, "height": height, "cx": cx, "cy": cy, "entities": nodes_e, "reports": nodes_r,
            "edges": edges, "centre": short(hood.report.id)}


@router.post("/reports/{report_id}/entities")
def neighbourhood(request: Request, report_id: uuid.UUID, purpose: str = Form(default="", max_length=MAX_PURPOSE),
                  user: User = Depends(require_role(*SEARCHERS))) -> Response:
    from balise.web.ui.queue_filters import SHORT_ID

    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            hood = balise.entities.neighbourhood(session, _actor(user), user.role, report_id, purpose)
    except EntitySearchError:
        return _private(render(request, "error.html", status=422, exposure=None, title=i18n.gettext("Purpose needed"),
                               message=i18n.gettext("Say why you need the report's links (at least 5 characters).")))
    if hood is None:
        return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                      message=i18n.gettext("There is no such report, or your role does not see it."))
    short = lambda rid: str(rid)[:SHORT_ID]  # noqa: E731
    return _private(render(request, "entity_graph.html", hood=hood, svg=graph_svg(hood, short), purpose=purpose,
                           exposure=None, **_financial_context(balise, user, report_id)))


def _financial_context(balise: Any, user: User, report_id: uuid.UUID) -> dict[str, Any]:
    from balise.intelligence.financial import DECIDERS, OUTCOMES, REASONS

    with balise.db.sessions() as session:
        alerts = balise.financial.for_report(session, report_id)
        partners = balise.financial.partners(session)
        identifiers = [(m.search_key, m.kind, m.value) for m in balise.financial.identifiers(session, report_id)]
    names = {p.id: p.name for p in partners}
    return {"alerts": alerts, "partner_names": names, "financial_partners": partners, "payment_ids": identifiers,
            "reasons": REASONS, "outcomes": OUTCOMES, "can_alert": user.role in DECIDERS}


@router.post("/reports/{report_id}/financial-alerts")
def financial_alert(request: Request, report_id: uuid.UUID, identifier: str = Form(default="", max_length=64),
                    partner: int = Form(default=0), reason: str = Form(default="", max_length=32),
                    note: str = Form(default="", max_length=MAX_PURPOSE),
                    user: User = Depends(require_role(Role.ANALYST, Role.SENIOR_ANALYST))) -> Response:
    """An analyst's decision to alert a financial partner about one payment identifier."""
    from balise.intelligence.financial import AlertError
    from balise.web.ui.workbench import _flash

    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            alert = balise.financial.send(session, _actor(user), report_id=report_id, identifier_key=identifier,
                                          partner_id=partner, reason=reason, reason_note=note or None)
            reference = alert.reference
    except AlertError as exc:
        return _flash(f"/ui/reports/{report_id}", error=i18n.gettext("The alert was not sent: %(why)s")
                      % {"why": exc.message})
    return _flash(f"/ui/reports/{report_id}", message=i18n.gettext("Alert %(ref)s queued for delivery.")
                  % {"ref": reference})


@router.post("/financial-alerts/{reference}/answer")
def financial_answer(request: Request, reference: str, outcome: str = Form(default="", max_length=32),
                     note: str = Form(default="", max_length=MAX_PURPOSE), report: uuid.UUID = Form(...),
                     user: User = Depends(require_role(Role.ANALYST, Role.SENIOR_ANALYST))) -> Response:
    """The partner's answer, as received, recorded by an analyst."""
    from balise.intelligence.financial import AlertError
    from balise.web.ui.workbench import _flash

    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.financial.answer(session, _actor(user), reference[:40], outcome, note or None)
    except AlertError as exc:
        return _flash(f"/ui/reports/{report}", error=i18n.gettext("The answer was not recorded: %(why)s")
                      % {"why": exc.message})
    return _flash(f"/ui/reports/{report}", message=i18n.gettext("Answer recorded."))


@router.post("/items/{item_id}/leads")
def item_leads(request: Request, item_id: uuid.UUID, purpose: str = Form(default="", max_length=MAX_PURPOSE),
               user: User = Depends(require_role(Role.ANALYST, Role.SENIOR_ANALYST))) -> Response:
    """What the file says of itself (EXIF, XMP, C2PA), decrypted for an analyst who says why
    (audited as lead:read), with the other items taken by the same camera."""
    from balise.adapters.db.models import Item

    balise = request.app.state.balise
    purpose = " ".join(purpose.split())
    if len(purpose) < 5:
        return _private(render(request, "error.html", status=422, exposure=None, title=i18n.gettext("Purpose needed"),
                               message=i18n.gettext("Say why you need the file's metadata (at least 5 characters).")))
    with balise.db.transaction() as session:
        item = session.get(Item, item_id)
        leads = balise.file_leads.read(session, _actor(user), item_id, purpose) if item is not None else None
        report_id = item.report_id if item is not None else None
    if leads is None:
        return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                      message=i18n.gettext("This item has no metadata from the file."))
    return _private(render(request, "item_leads.html", leads=leads, item_id=item_id, report_id=report_id,
                           purpose=purpose, exposure=None))
