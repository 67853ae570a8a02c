"""The Article 36 page: submissions of coordinating authorities (and court decisions) entered by
staff, the centre's candidates waiting for an authority on their Art. 36(3) clock, the last
re-verification run, and the URL list with its evidence; and an indicator's provenance page
(its submission and every change: CSAR Art. 44(4)), an audited read."""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from balise.accounts.actors import Actor
from balise.adapters.db.models import User
from balise.detection.submissions import NotAnAuthority, SubmissionConflict, hash_material
from balise.domain.indicators import IndicatorKind
from balise.domain.model import Role
from balise.domain.orders import BLOCKING_IN_FORCE
from balise.domain.submissions import (
    MAX_NOTE,
    MAX_REFERENCE,
    InvalidSubmission,
    SubmissionChannel,
    SubmissionProcess,
    check_submission,
)
from balise.web.ui import i18n
from balise.web.ui.routes import render, require_role
from balise.web.ui.workbench import _flash

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE = "/ui/submissions"
READERS = (Role.SENIOR_ANALYST, Role.ADMIN, Role.AUDITOR)
EDITORS = (Role.SENIOR_ANALYST, Role.ADMIN)


def _actor(user: User) -> Actor:
    return Actor.staff(str(user.id), user.username)


@router.get("/submissions")
def submissions_page(request: Request, msg: str = "", err: str = "",
                     user: User = Depends(require_role(*READERS))) -> HTMLResponse:
    balise = request.app.state.balise
    with balise.db.sessions() as session:
        submissions = balise.submissions.list(session, limit=100)
        awaiting = balise.submissions.awaiting(session)
        authorities = balise.submissions.authorities(session)
        runs = balise.submissions.verification_runs(session, limit=1)
        url_list = balise.url_list.entries(session, listed_only=False, limit=200)
        blocking = [o for o in balise.orders.list(session, kind="blocking", limit=200)
                    if o.state in {s.value for s in BLOCKING_IN_FORCE}]
        exports = balise.url_list.exports(session)
    return render(request, "submissions.html", submissions=submissions, awaiting=awaiting, authorities=authorities,
                  run=runs[0] if runs else None, url_list=url_list, blocking=blocking, exports=exports, can_edit=user.role in {r.value for r in EDITORS},
                  processes=[p.value for p in SubmissionProcess], kinds=[k.value for k in IndicatorKind],
                  limits={"reference": MAX_REFERENCE, "note": MAX_NOTE}, msg=msg, err=err)


def _lines(text: str) -> list[dict[str, str]]:
    """``algorithm value`` (or ``algorithm:value``) per line."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.replace(":", " ", 1).split(None, 1) if not line.lower().startswith(("url ", "url:")) \
            else ["url", line[4:].strip()]
        out.append({"algorithm": parts[0], "value": parts[1] if len(parts) > 1 else ""})
    return out


@router.post("/submissions")
def submissions_enter(request: Request, user: User = Depends(require_role(*EDITORS)),
                      authority: str = Form(""), court: str = Form("", max_length=300),
                      reference: str = Form("", max_length=MAX_REFERENCE + 100),
                      kind: str = Form("known_csam", max_length=32), hashes: str = Form("", max_length=200_000),
                      note: str = Form("", max_length=MAX_NOTE + 100),
                      material: list[UploadFile] = File(default=[])) -> Response:
    """A submission received by letter or e-mail, or a court decision, entered by staff; the
    confirmed material may come as files, hashed here and kept encrypted in the vault."""
    balise = request.app.state.balise
    g = i18n.gettext
    org_id = None
    if authority and authority != "court":
        try:
            org_id = uuid.UUID(authority)
        except ValueError:
            return _flash(PAGE, error=g("Choose the coordinating authority, or a court decision."))
    elif authority != "court":
        return _flash(PAGE, error=g("Choose the coordinating authority, or a court decision."))
    stored: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="balise-submission-") as folder:
            hashed = []
            for n, upload in enumerate(u for u in material if u.filename):
                name = f"material.{n} ({upload.filename[:80]})"
                path, size = os.path.join(folder, f"part-{n}"), 0
                with open(path, "wb") as out:
                    while chunk := upload.file.read(1 << 20):
                        size += len(chunk)
                        if size > balise.settings.max_file_bytes:
                            raise InvalidSubmission(name, f"has more than {balise.settings.max_file_bytes} bytes")
                        out.write(chunk)
                hashed.append(hash_material(name, upload.filename, path, size, balise.settings.max_file_bytes,
                                            balise.media_hasher))
            terms = check_submission(reference=reference, hashes=_lines(hashes) + [h for m in hashed for h in m.hashes],
                                     kind=kind, process="court_decision" if org_id is None else "authority_confirmation",
                                     authority=court if org_id is None else "authority", note=note, now=balise.clock())
            try:
                with balise.db.transaction() as session:
                    result = balise.submissions.submit(session, _actor(user), terms, channel=SubmissionChannel.UI,
                                                       organisation_id=org_id, material=hashed,
                                                       vault=balise.evidence, stored=stored)
                    counts = (len(result.created), len(result.confirmed), len(result.reconfirmed))
            except BaseException:
                for blob in stored:
                    balise.evidence.discard(balise.db.sessions, blob)
                raise
    except InvalidSubmission as exc:
        return _flash(PAGE, error=g("Nothing was stored: %(field)s: %(problem)s") % {
            "field": exc.field, "problem": exc.message})
    except NotAnAuthority as exc:
        return _flash(PAGE, error=str(exc))
    return _flash(PAGE, message=g("Submission recorded: %(created)s indicator(s) created, %(confirmed)s candidate(s) "
                                  "confirmed, %(again)s named again.") % {
        "created": counts[0], "confirmed": counts[1], "again": counts[2]})


@router.post("/indicators/{indicator_id}/extend")
def indicator_extend(request: Request, indicator_id: int, reason: str = Form("", max_length=400),
                     user: User = Depends(require_role(*EDITORS))) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            balise.submissions.extend_clock(session, _actor(user), indicator_id, reason)
    except InvalidSubmission as exc:
        return _flash(PAGE, error=f"{exc.field}: {exc.message}")
    except SubmissionConflict as exc:
        return _flash(PAGE, error=str(exc))
    return _flash(PAGE, message=i18n.gettext("The authority now has 2 months for indicator %(id)s.")
                  % {"id": indicator_id})


@router.get("/indicators/{indicator_id}")
def indicator_page(request: Request, indicator_id: int,
                   user: User = Depends(require_role(*READERS))) -> Response:
    balise = request.app.state.balise
    try:
        with balise.db.transaction() as session:
            seen = balise.submissions.provenance(session, _actor(user), indicator_id, "read indicator provenance")
    except InvalidSubmission:
        return Response(status_code=404)
    return render(request, "indicator.html", indicator=seen.indicator, submission=seen.submission,
                  history=seen.history)


@router.post("/url-list/export")
def url_list_export(request: Request, user: User = Depends(require_role(*EDITORS)),
                    order: str = Form("", max_length=64), format: str = Form("json", max_length=8),  # noqa: A002
                    since: str = Form("0", max_length=20)) -> Response:
    """The URL list for a blocking order in force, downloaded to send to its provider (audited)."""
    balise = request.app.state.balise
    g = i18n.gettext
    try:
        since_version = int(since.strip() or "0")
    except ValueError:
        return _flash(PAGE + "#url-list", error=g("Nothing was exported: %(field)s: %(problem)s") % {
            "field": "since", "problem": g("must be a whole number")})
    try:
        with balise.db.transaction() as session:
            export = balise.url_list.export(session, _actor(user), order, fmt=format, since_version=since_version)
    except InvalidSubmission as exc:
        return _flash(PAGE + "#url-list", error=g("Nothing was exported: %(field)s: %(problem)s") % {
            "field": exc.field, "problem": exc.message})
    return Response(export.body, media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"',
                             "X-Url-List-Version": str(export.version)})
