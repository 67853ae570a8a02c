"""The analyst workbench: queue, report view, blurred media viewer, classification, decisions,
four-eyes confirmation and wellness settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import (
    Item,
    Organisation,
    PublicReport,
    Report,
    ReportClaim,
    User,
)
from balise.casework.assessment import UNFOUNDED_REASONS, AssessmentError, Conflict, Decision
from balise.domain.audit import AuditEvent
from balise.domain.exposure import (
    DEFAULT_BREAK_AFTER_REVEALS,
    MAX_BREAK_AFTER_REVEALS,
    PREVIEW_MAX_BLUR,
    PREVIEW_MIN_BLUR,
    REVEAL_PURPOSES,
    display_of,
)
from balise.domain.indicators import AGE_BANDS, DIRECTIVE_ELEMENTS, FLAGS, NCMEC_CATEGORIES, UK_CATEGORIES
from balise.domain.model import Role
from balise.domain.states import ReportState
from balise.domain.triage import sla_deadline
from balise.intake.ispws import originals
from balise.web.ui import i18n, queue_filters
from balise.web.ui.routes import DEFAULT_PREFERENCES, current_user, render, require_role

router = APIRouter(prefix="/ui", include_in_schema=False)
ASSESSORS = (Role.ANALYST, Role.SENIOR_ANALYST)
# Who may download the original CyberTipline XML (evidence, as the media are).
ORIGINAL_READERS = (Role.ANALYST, Role.SENIOR_ANALYST, Role.LE_LIAISON)
QUEUE_LIMIT = 200
# The report page's script asks for a fragment instead of a page (static/assess.js): "item" for
# an item's assessment panel after a save, "decision" for where to go after a decision.
FRAGMENT_HEADER = "x-balise-fragment"


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


def _flash(url: str, message: str | None = None, error: str | None = None) -> RedirectResponse:
    from urllib.parse import urlencode

    query = {k: v for k, v in (("msg", message), ("err", error)) if v}
    # The query goes before a #fragment, or the browser never sends it.
    path, hash_, fragment = url.partition("#")
    return RedirectResponse(path + ("?" + urlencode(query) if query else "") + hash_ + fragment, status_code=303)


@router.get("/queue")
def queue(request: Request, user: User = Depends(require_role(*ASSESSORS))) -> HTMLResponse:
    """The reports to work on, filtered and searched by the query string (docs/workbench.md)."""
    balise = request.app.state.balise
    now = balise.clock()
    try:
        filters = queue_filters.parse(dict(request.query_params))
    except queue_filters.BadFilter as exc:
        # The page translates the message, in the reader's language.
        return render(request, "queue.html", status=400, rows=[],
                      filters=queue_filters.shown_again(dict(request.query_params)),
                      states=queue_filters.STATES, fields=queue_filters.FIELDS, view="",
                      short=queue_filters.SHORT_ID, problem=exc.problem)
    query = (select(Report, Organisation.country, ReportClaim, User.username)
             .outerjoin(Organisation, Organisation.id == Report.organisation_id)
             .outerjoin(ReportClaim, ReportClaim.report_id == Report.id)
             .outerjoin(User, User.id == ReportClaim.user_id))
    if filters.state != "all":
        query = query.where(Report.state == filters.state)
    if filters.source:
        query = query.where(Report.source == filters.source)
    if filters.urgent:
        query = query.where(Report.urgent.is_(True))
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    if filters.mine:
        query = query.where(ReportClaim.user_id == user.id, ReportClaim.expires_at > now)
    found = queue_filters.search_condition(filters)
    if found is not None:
        query = query.where(found)
    query = query.order_by(Report.urgent.desc(), Report.priority.desc(), Report.created_at).limit(QUEUE_LIMIT + 1)
    rows = []
    with balise.db.sessions() as session:
        for report, org_country, claim, holder in session.execute(query):
            deadline = sla_deadline(report.created_at, report.urgent)
            rows.append({
                "report": report, "country": org_country,
                "holder": holder if claim is not None and claim.expires_at > now else None,
                "sla_minutes": int((deadline - now).total_seconds() // 60),
                # ("items" would be the dict's own method in a template.)
                "to_assess": sum(1 for i in report.items if i.outcome is None),
                "item_count": len(report.items),
            })
    more = len(rows) > QUEUE_LIMIT
    return render(request, "queue.html", rows=rows[:QUEUE_LIMIT], more=more, limit=QUEUE_LIMIT, filters=filters,
                  states=queue_filters.STATES, fields=queue_filters.FIELDS, problem=None,
                  view=filters.query_string(), short=queue_filters.SHORT_ID)


@router.post("/reports/{report_id}/claim")
def claim(request: Request, report_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.assessment.claim(session, user, report_id)
    except AssessmentError as exc:
        return _flash("/ui/queue", error=str(exc))
    return _flash(f"/ui/reports/{report_id}")


@router.post("/reports/{report_id}/release")
def release(request: Request, report_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    with balise.db.transaction() as session:
        balise.assessment.release(session, user, report_id)
    return _flash("/ui/queue", message=i18n.gettext("Claim released."))


def orders_for_report(balise: Any, session: Any, report_id: uuid.UUID) -> list[dict[str, Any]]:
    from balise.web.ui.orders import orders_for_report as orders_of

    return orders_of(balise, session, report_id)


@router.get("/reports/{report_id}")
def report_view(request: Request, report_id: uuid.UUID, msg: str = "", err: str = "",
                user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """One assessment screen: the items (blurred) with their matches, the classification beside
    each, the Annex III facts in a summary, and the decision (docs/workbench.md)."""
    balise = request.app.state.balise
    actor = _actor(user)
    with balise.db.transaction() as session:
        report = session.get(Report, report_id)
        if report is None:
            return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                          message=i18n.gettext("There is no such report."))
        purpose = f"assess report {report.id}"
        claim = balise.assessment.holder(session, report.id)
        # Persons and their identifiers are personal data: shown with the page only to the
        # analyst who claimed the report (assessing it is the purpose); anyone else says why
        # first (/persons below), as for the reporter's contact.
        shown_persons = list(report.persons) if claim is not None and claim.user_id == user.id else []
        # One event per thing shown, as always; written together (one write for a 50-item page).
        balise.audit.record_many(session, actor, purpose, [
            (AuditEvent.REPORT_READ, "report", str(report.id), None),
            *((AuditEvent.ITEM_READ, "item", str(item.id), None) for item in report.items)])
        if shown_persons:
            balise.audit.record_many(session, actor, f"{purpose} (claimed)", [
                (AuditEvent.PERSON_READ, "person", str(person.id), None) for person in shown_persons])
        persons = [(p, list(p.identifiers)) for p in shown_persons] if shown_persons else None
        person_count = len(report.persons)
        context = _report_context(balise, session, report, user)
        org = session.get(Organisation, report.organisation_id) if report.organisation_id else None
        duplicates = {i.id: session.get(Item, i.duplicate_of) for i in report.items if i.duplicate_of}
        series = {s.item_id: s for s in balise.series.for_report(session, report.id)}
        events = list(report.events)
        routing = _routing_context(session, report)
        referrals = _referrals_context(balise, session, report)
        # Only whether a contact exists: the name, email and IP are shown by the audited action below.
        public = session.get(PublicReport, report.id)
        ncmec = originals(session, report.id)
        orders = orders_for_report(balise, session, report.id)
        # How many other reports share a valid entity: a count, no values (docs/intelligence.md).
        linked = balise.entities.linked_count(session, report.id)
        # Which items have leads from the file itself, and whether each declares generative AI.
        from balise.adapters.db.models import ItemLead

        leads = dict(session.execute(select(ItemLead.item_id, ItemLead.generative).where(
            ItemLead.report_id == report.id)).all())
    contact = None if public is None else {
        "given": bool(public.reporter_name or public.reporter_email or public.reporter_ip),
        "deleted_at": public.contact_deleted_at}
    return render(
        request, "report.html", events=events, persons=persons, person_count=person_count, org=org,
        duplicates=duplicates, msg=msg, err=err, routing=routing, contact=contact, ncmec=ncmec,
        purposes=REVEAL_PURPOSES, unfounded=UNFOUNDED_REASONS, short=queue_filters.SHORT_ID, orders=orders,
        series=series, linked=linked, leads=leads, referrals=referrals, **context,
    )


def _report_context(balise: Any, session: Any, report: Report, user: User) -> dict[str, Any]:
    """What the report page and an item's assessment panel (the fragment a save answers) share."""
    claim = balise.assessment.holder(session, report.id)
    holder = session.get(User, claim.user_id) if claim else None
    mine = holder is not None and holder.id == user.id
    items = list(report.items)
    now = balise.clock()
    return {
        "report": report, "items": items, "holder": holder, "mine": mine,
        "can_decide": mine and report.state == ReportState.IN_ASSESSMENT.value,
        "displays": {i.id: display_of(media_type=i.media_type, hash_status=i.hash_status,
                                      vault_object=i.vault_object, polyglot=bool(i.polyglot)).value for i in items},
        "schemes": {"ncmec": NCMEC_CATEGORIES, "uk": UK_CATEGORIES, "directive": DIRECTIVE_ELEMENTS,
                    "flags": FLAGS, "ages": AGE_BANDS},
        "sla": sla_deadline(report.created_at, report.urgent),
        "sla_minutes": minutes_left(sla_deadline(report.created_at, report.urgent), now),
    }


@router.post("/reports/{report_id}/reporter-contact")
def reporter_contact(request: Request, report_id: uuid.UUID, purpose: str = Form(default="", max_length=500),
                     user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """The public reporter's optional name, email and IP, for an analyst who says why (audited
    as reporter:contact_read before anything is shown; never cached)."""
    balise = request.app.state.balise
    purpose = " ".join(purpose.split())
    if len(purpose) < 5:
        return _flash(f"/ui/reports/{report_id}#reporter-contact",
                      error=i18n.gettext("Say why you need the reporter's contact (at least 5 characters)."))
    with balise.db.transaction() as session:
        public = session.get(PublicReport, report_id)
        if public is None:
            return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                          message=i18n.gettext("There is no such report."))
        fields = [name for name, value in (("name", public.reporter_name), ("email", public.reporter_email),
                                           ("ip", public.reporter_ip)) if value]
        if fields:
            balise.audit.record(session, AuditEvent.REPORTER_CONTACT_READ, _actor(user), "report", str(report_id),
                                purpose, {"fields": fields})
        shown = {"name": public.reporter_name, "email": public.reporter_email, "ip": public.reporter_ip,
                 "deleted_at": public.contact_deleted_at, "number": public.number}
    response = render(request, "reporter_contact.html", report_id=report_id, shown=shown, purpose=purpose)
    response.headers["cache-control"] = "no-store, private"
    return response


@router.post("/reports/{report_id}/persons")
def report_persons(request: Request, report_id: uuid.UUID, purpose: str = Form(default="", max_length=500),
                   user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """A report's persons and identifiers for an analyst who does not hold its claim and says
    why (each person audited as person:read with that purpose before anything is shown)."""
    balise = request.app.state.balise
    purpose = " ".join(purpose.split())
    if len(purpose) < 5:
        return _flash(f"/ui/reports/{report_id}#persons",
                      error=i18n.gettext("Say why you need the persons and accounts (at least 5 characters)."))
    with balise.db.transaction() as session:
        report = session.get(Report, report_id)
        if report is None:
            return render(request, "error.html", status=404, title=i18n.gettext("Not found"),
                          message=i18n.gettext("There is no such report."))
        for person in report.persons:
            balise.audit.record(session, AuditEvent.PERSON_READ, _actor(user), "person", str(person.id), purpose)
        persons = [(p, list(p.identifiers)) for p in report.persons]
    response = render(request, "persons.html", report_id=report_id, persons=persons, purpose=purpose)
    response.headers["cache-control"] = "no-store, private"
    return response


def _referrals_context(balise: Any, session: Any, report: Report) -> dict[str, Any]:
    """Referrals of this report's URLs to partner installations, a partner's referral this
    report came from, and whether any URL is left to refer (docs/federation.md)."""
    from balise.adapters.db.models import ReferralReceived, ReferralSent

    partners = balise.federation_partners.list(session)
    return {
        "sent": session.execute(select(ReferralSent).where(ReferralSent.report_id == report.id)
                                .order_by(ReferralSent.created_at)).scalars().all(),
        "received": session.execute(select(ReferralReceived).where(ReferralReceived.report_id == report.id)
                                    ).scalars().all(),
        "partners": partners,
        "referable": len(balise.referrals.referable(session, report))
        if partners and report.redacted_at is None else 0,
    }


def _routing_context(session: Any, report: Report) -> dict[str, Any]:
    from balise.adapters.db.models import (
        Hold,
        Jurisdiction,
        Notice,
        Partner,
        Takedown,
        UrlHosting,
    )

    hosting = []
    for row in session.execute(select(UrlHosting).where(UrlHosting.report_id == report.id)).scalars():
        item = session.get(Item, row.item_id)
        hosting.append({**{c: getattr(row, c) for c in ("fetch_status", "http_status", "fetch_error", "address",
                                                        "hosted_country", "organisation", "cdn", "abuse_email",
                                                        "rdap_error", "host", "host_unicode")},
                        "host_flags": list(row.host_flags or []), "url": item.url if item else ""})
    notices = session.execute(select(Notice).where(Notice.report_id == report.id).order_by(Notice.id)).scalars().all()
    partner_ids = {n.partner_id for n in notices if n.partner_id}
    names = {p.id: p.name for p in session.execute(select(Partner).where(Partner.id.in_(partner_ids))).scalars()} \
        if partner_ids else {}
    return {
        "jurisdiction": session.get(Jurisdiction, report.id),
        "hosting": hosting,
        "notices": notices,
        "partner_names": names,
        "takedowns": session.execute(select(Takedown).where(Takedown.report_id == report.id)).scalars().all(),
        "holds": session.execute(select(Hold).where(Hold.report_id == report.id).order_by(Hold.id)).scalars().all(),
    }


@router.post("/reports/{report_id}/ncmec-xml")
def download_ncmec_xml(request: Request, report_id: uuid.UUID, document: str = Form(default="report", max_length=40),
                       purpose: str = Form(default="", max_length=500),
                       user: User = Depends(require_role(*ORIGINAL_READERS))) -> Response:
    """The CyberTipline <report> (or one <fileDetails>) exactly as the provider sent it to
    /ispws, decrypted from the vault for someone who says why. Audited as ``media:read`` with
    that purpose; an attachment that is never cached or rendered by the browser."""
    balise = request.app.state.balise
    back = f"/ui/reports/{report_id}"
    if not purpose.strip():
        return _flash(back, error=i18n.gettext("Say why you need the original XML: the download is logged with it."))
    with balise.db.transaction() as session:
        found = originals(session, report_id)
        wanted = next((d for d in found[1] if d.key == document), None) if found else None
        if found is None or wanted is None:
            return render(request, "error.html", status=404, exposure=None, title=i18n.gettext("Not found"),
                          message=i18n.gettext("This report has no such original CyberTipline document."))
        content = balise.evidence.read_all(
            session, wanted.sha256, _actor(user), purpose.strip(),
            {"report": str(report_id), "ispws_report": found[0],
             "document": "cybertipline_report" if wanted.key == "report" else "file_details",
             **({} if wanted.key == "report" else {"file_id": wanted.key})})
    headers = {"cache-control": "no-store, private", "x-content-type-options": "nosniff",
               "content-disposition": f'attachment; filename="{wanted.filename}"',
               "cross-origin-resource-policy": "same-origin"}
    # Bytes as received, in whatever encoding they declare: no charset is added.
    return Response(content, media_type="application/xml", headers=headers)


@router.post("/items/{item_id}/capture")
def capture(request: Request, item_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    """The analyst asks to keep what a reported URL serves (encrypted, audited with the purpose)."""
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        item = session.get(Item, item_id)
        report_id = item.report_id if item is not None else None
        claim = balise.assessment.holder(session, report_id) if report_id else None
    if item is None or item.kind != "url":
        return render(request, "error.html", status=404, title=i18n.gettext("Not found"),
                      message=i18n.gettext("There is no such report."))
    back = f"/ui/reports/{report_id}"
    if claim is None or claim.user_id != user.id:
        return _flash(back, error=i18n.gettext("Claim the report first."))
    fetched = balise.url_inspector.capture(item_id, _actor(user), f"analyst kept the content of a URL of report {report_id}")
    if fetched.outcome != "served":
        return _flash(back, error=i18n.gettext("Nothing was kept: the URL answered %(outcome)s.") % {
            "outcome": f"{fetched.outcome} {fetched.detail or ''}".strip()})
    return _flash(back, message=i18n.gettext("What the URL serves is kept, encrypted, in the evidence vault."))


@router.post("/items/{item_id}/assess")
async def assess(request: Request, item_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    form = await request.form()
    classification: dict[str, Any] = {}
    if form.get("interpol_baseline"):
        classification["interpol_baseline"] = True
    for key in ("ncmec_category", "uk_category", "youngest_age_band"):
        if form.get(key):
            classification[key] = form.get(key)
    for key in ("directive_2011_93", "flags"):
        values = form.getlist(key)
        if values:
            classification[key] = values
    national: dict[str, str] = {}
    for pair in str(form.get("national") or "").split(","):
        if "=" in pair:
            code, verdict = pair.split("=", 1)
            national[code.strip().upper()] = verdict.strip()
    if national:
        classification["national"] = national
    try:
        revision = int(str(form.get("revision", "")))
    except ValueError:
        revision = -1
    from starlette.concurrency import run_in_threadpool

    def report_of_item() -> uuid.UUID | None:
        with balise.db.sessions() as session:
            item = session.get(Item, item_id)
            return item.report_id if item else None

    report_id = await run_in_threadpool(report_of_item)
    if report_id is None:
        return render(request, "error.html", status=404, title=i18n.gettext("Not found"), message=i18n.gettext("No such item."))
    fragment = request.headers.get(FRAGMENT_HEADER) == "item"

    try:
        def work() -> None:
            with balise.db.transaction() as session:
                balise.assessment.classify(session, user, item_id, revision=revision,
                                           outcome=str(form.get("outcome", "")), classification=classification,
                                           note=str(form.get("note") or "")[:2000])

        await run_in_threadpool(work)
    except (AssessmentError, ValueError) as exc:
        if fragment:
            status = 409 if isinstance(exc, Conflict) else 400
            return await run_in_threadpool(_item_panel, request, user, item_id, None, str(exc), status)
        return _flash(f"/ui/reports/{report_id}", error=str(exc))
    if fragment:
        return await run_in_threadpool(_item_panel, request, user, item_id, i18n.gettext("Item classified."), None, 200)
    return _flash(f"/ui/reports/{report_id}", message=i18n.gettext("Item classified."))


def _item_panel(request: Request, user: User, item_id: uuid.UUID, message: str | None, error: str | None,
                status: int) -> HTMLResponse:
    """The item's assessment panel alone, as the report page shows it: what a save without a page
    load puts in place of the form (static/assess.js). It shows no content and no hash, only the
    assessment, so it is not another read of the item."""
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        item = session.get(Item, item_id)
        assert item is not None
        report = session.get(Report, item.report_id)
        assert report is not None
        context = _report_context(balise, session, report, user)
    number = next(n for n, i in enumerate(context["items"], start=1) if i.id == item_id)
    response = render(request, "_assess_item.html", status=status, item=item, n=number, panel_msg=message,
                      panel_err=error, **context)
    response.headers[FRAGMENT_HEADER] = "item"
    response.headers["cache-control"] = "no-store, private"
    return response


@router.post("/reports/{report_id}/decide")
async def decide(request: Request, report_id: uuid.UUID, user: User = Depends(require_role(*ASSESSORS))) -> Response:
    balise = request.app.state.balise
    form = await request.form()
    try:
        revision = int(str(form.get("revision", "")))
    except ValueError:
        revision = -1
    decision = Decision(str(form.get("decision", "")), tuple(str(r) for r in form.getlist("reasons")),
                        str(form.get("text", ""))[:5000])
    fragment = request.headers.get(FRAGMENT_HEADER) == "decision"
    then_next = bool(form.get("next"))
    from starlette.concurrency import run_in_threadpool

    try:
        def work() -> uuid.UUID | None:
            with balise.db.transaction() as session:
                balise.assessment.decide(session, user, report_id, revision=revision, decision=decision)
            return _claim_next(balise, user, report_id) if then_next else None

        following = await run_in_threadpool(work)
    except AssessmentError as exc:
        if fragment:
            return JSONResponse({"error": str(exc)}, status_code=409 if isinstance(exc, Conflict) else 400,
                                headers={FRAGMENT_HEADER: "decision"})
        return _flash(f"/ui/reports/{report_id}", error=str(exc))
    if following is not None:
        target = _flash(f"/ui/reports/{following}", message=i18n.gettext(
            "Decision recorded. This is the next report in the queue; it is yours now."))
    elif then_next:
        target = _flash("/ui/queue", message=i18n.gettext("Decision recorded. No other report waits in the queue."))
    else:
        target = _flash("/ui/queue", message=i18n.gettext("Decision recorded."))
    if fragment:
        # The page goes there itself: the decision cost no page load of its own.
        return JSONResponse({"location": target.headers["location"]}, headers={FRAGMENT_HEADER: "decision"})
    return target


def _claim_next(balise: Any, user: User, after: uuid.UUID) -> uuid.UUID | None:
    """Claim the first report of the queue's default view (in assessment, urgent first, then by
    priority, oldest first) that nobody else holds; its id, or None when none is left."""
    now = balise.clock()
    with balise.db.sessions() as session:
        candidates = session.execute(
            select(Report.id).outerjoin(ReportClaim, ReportClaim.report_id == Report.id)
            .where(Report.state == ReportState.IN_ASSESSMENT.value, Report.id != after,
                   or_(ReportClaim.report_id.is_(None), ReportClaim.expires_at <= now, ReportClaim.user_id == user.id))
            .order_by(Report.urgent.desc(), Report.priority.desc(), Report.created_at).limit(5)).scalars().all()
    for candidate in candidates:
        try:
            with balise.db.transaction() as session:
                balise.assessment.claim(session, user, candidate)
        except AssessmentError:
            continue  # taken by someone else a moment ago: the one after it
        return candidate
    return None


@router.get("/candidates")
def candidates(request: Request, msg: str = "", err: str = "",
               user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> HTMLResponse:
    """Four eyes, one row per item: its blurred picture, the first analyst's classification and
    note, its hashes and matches; one confirmation covers all the item's new indicators."""
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        rows = []
        for waiting in balise.assessment.awaiting(session):
            assessor = None
            if waiting.assessed_by:
                try:
                    assessor = session.get(User, uuid.UUID(waiting.assessed_by))
                except ValueError:
                    assessor = None
            item = waiting.item
            display = display_of(media_type=item.media_type, hash_status=item.hash_status,
                                 vault_object=item.vault_object, polyglot=bool(item.polyglot)).value if item else "none"
            duplicate = session.get(Item, item.duplicate_of) if item is not None and item.duplicate_of else None
            rows.append({"waiting": waiting, "item": item, "assessor": assessor, "display": display,
                         "duplicate": duplicate, "matches": list((item.matches or []) if item else []),
                         "own": waiting.assessed_by == str(user.id)})
    return render(request, "candidates.html", rows=rows, msg=msg, err=err)


@router.post("/candidates/items/{item_id}/{verdict}")
def confirm_item(request: Request, item_id: uuid.UUID, verdict: str, note: str = Form(default="", max_length=2000),
                 user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> Response:
    """One four-eyes decision for all the new indicators of an item (one audit event)."""
    if verdict not in ("confirm", "reject"):
        return Response(status_code=404)
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            confirmed = balise.assessment.confirm_item(session, user, item_id, accept=verdict == "confirm", note=note)
    except AssessmentError as exc:
        return _flash("/ui/candidates", error=str(exc))
    if verdict == "confirm":
        return _flash("/ui/candidates", message=i18n.ngettext(
            "Item confirmed: its %(num)d hash now waits for a coordinating authority's confirmation.",
            "Item confirmed: its %(num)d hashes now wait for a coordinating authority's confirmation.",
            len(confirmed)) % {"num": len(confirmed)})
    return _flash("/ui/candidates", message=i18n.gettext("Item rejected: its hashes will match nothing."))


@router.post("/candidates/{indicator_id}/{verdict}")
def confirm(request: Request, indicator_id: int, verdict: str, note: str = Form(default="", max_length=2000),
            user: User = Depends(require_role(Role.SENIOR_ANALYST))) -> Response:
    """A candidate that no item's assessment proposed (none today): confirmed on its own."""
    if verdict not in ("confirm", "reject"):
        return Response(status_code=404)
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.assessment.confirm(session, user, indicator_id, accept=verdict == "confirm", note=note)
    except AssessmentError as exc:
        return _flash("/ui/candidates", error=str(exc))
    return _flash("/ui/candidates", message=i18n.gettext("Indicator confirmed: it now waits for a coordinating authority's confirmation.") if verdict == "confirm"
                  else i18n.gettext("Candidate rejected."))


@router.get("/settings")
def settings_page(request: Request, msg: str = "", user: User = Depends(current_user)) -> HTMLResponse:
    return render(request, "settings.html", msg=msg, locales=i18n.LOCALES, blur_range=(PREVIEW_MIN_BLUR, PREVIEW_MAX_BLUR),
                  max_break_after=MAX_BREAK_AFTER_REVEALS)


@router.post("/settings")
def save_settings(request: Request, blur: int = Form(ge=PREVIEW_MIN_BLUR, le=PREVIEW_MAX_BLUR), greyscale: str = Form(default=""),
                  locale: str = Form(default="en"), break_minutes: int = Form(ge=5, le=240),
                  reveal_seconds: int = Form(ge=2, le=60),
                  break_after_reveals: int = Form(default=DEFAULT_BREAK_AFTER_REVEALS, ge=0, le=MAX_BREAK_AFTER_REVEALS),
                  user: User = Depends(current_user)) -> Response:
    balise = request.app.state.balise
    prefs = {**DEFAULT_PREFERENCES, "blur": blur, "greyscale": bool(greyscale),
             "locale": locale if locale in i18n.LOCALES else "en", "break_minutes": break_minutes,
             "reveal_seconds": reveal_seconds, "break_after_reveals": break_after_reveals}
    # When the last break reminder was dismissed is kept: saving settings is not a break.
    if (user.preferences or {}).get("break_dismissed_at"):
        prefs["break_dismissed_at"] = user.preferences["break_dismissed_at"]
    with balise.db.transaction() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        stored.preferences = prefs
        balise.audit.record(session, AuditEvent.USER_PREFERENCES, _actor(user), "user", str(user.id),
                            "wellness and language settings", prefs)
    return _flash("/ui/settings", message=i18n.translations(prefs["locale"]).gettext("Settings saved."))


def minutes_left(deadline: datetime, now: datetime) -> int:
    return int((deadline - now).total_seconds() // 60)
