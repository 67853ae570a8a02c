"""A provider's report defaults: the Annex III fields NCMEC's CyberTipline format lacks
(signature, awareness, content removed, user decision, reported elsewhere), set once by the
provider (``PUT /api/v1/organisation/report-defaults``) or by staff (``balise org
report-defaults``), and applied to each report filed through ``/ispws``. What a report still
lacks after them is asked of the provider by triage, or completed by staff with a reason
(``balise report complete``). docs/ncmec-api.md#where-each-annex-iii-field-comes-from
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import Organisation, Report
from balise.domain.audit import AuditEvent
from balise.domain.model import ReportType, UserDecision
from balise.governance.audit import AuditTrail
from balise.intake.report_schema import AwarenessIn, ProviderIn, ReportedElsewhereIn, describe_errors

#: The fields, in the order the docs list them.
FIELDS = ("signature", "awareness", "content_removed", "user_decision", "reported_elsewhere")


class ReportDefaultsIn(BaseModel):
    """The defaults; a field left out (or null) is not defaulted."""

    model_config = ConfigDict(extra="forbid")
    signature: Annotated[str, Field(min_length=1, max_length=10_000)] | None = Field(
        default=None, description="Annex III point 1: who signs the provider's reports")
    awareness: AwarenessIn | None = Field(default=None, description="how the provider usually becomes aware")
    content_removed: bool | None = Field(default=None, description="whether the provider removes reported content")
    user_decision: UserDecision | None = Field(default=None, description="what the provider usually does with the user")
    reported_elsewhere: ReportedElsewhereIn | None = Field(
        default=None, description="whether the provider also reports to another body (e.g. NCMEC)")


class StaffCompletionIn(ReportDefaultsIn):
    """What staff may complete on a report that still lacks it: the defaults' fields, the
    provider's contact point and the type."""

    provider: ProviderIn | None = None
    type: ReportType | None = None


class InvalidDefaults(ValueError):
    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields))
        self.fields = fields


def check(data: Any, model: type[ReportDefaultsIn] = ReportDefaultsIn) -> dict[str, Any]:
    """The defaults as stored (JSON), or InvalidDefaults naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidDefaults([{"field": "(body)", "message": "must be an object"}])
    try:
        # Validated as JSON in strict mode: `0` is not false, `"true"` not true, as the OpenAPI
        # document says (the same rule as the JSON API's bodies).
        parsed = model.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        fields, _ = describe_errors(exc)
        raise InvalidDefaults(fields) from exc
    return parsed.model_dump(exclude_none=True, mode="json")


def apply(report: Report, defaults: dict[str, Any] | None) -> list[str]:
    """Fill each field the report lacks from ``defaults``; the names of the fields filled."""
    if not defaults:
        return []
    filled = []
    if report.provider_signature in (None, "") and defaults.get("signature"):
        report.provider_signature = defaults["signature"]
        filled.append("signature")
    if report.awareness_source is None and defaults.get("awareness"):
        report.awareness_source = defaults["awareness"]["source"]
        report.awareness_detail = defaults["awareness"].get("detail")
        filled.append("awareness")
    if report.content_removed is None and defaults.get("content_removed") is not None:
        report.content_removed = defaults["content_removed"]
        filled.append("content_removed")
    if report.user_decision is None and defaults.get("user_decision"):
        report.user_decision = defaults["user_decision"]
        filled.append("user_decision")
    if report.reported_elsewhere is None and defaults.get("reported_elsewhere"):
        elsewhere = defaults["reported_elsewhere"]
        report.reported_elsewhere = elsewhere["reported"]
        report.reported_elsewhere_body = elsewhere.get("body")
        report.reported_elsewhere_reference = elsewhere.get("reference")
        filled.append("reported_elsewhere")
    return filled


class ReportDefaults:
    def __init__(self, audit: AuditTrail, clock: Callable[[], datetime]) -> None:
        self._audit = audit
        self._clock = clock

    def get(self, session: Session, organisation_id: object) -> dict[str, Any]:
        org = session.get(Organisation, organisation_id)
        return dict(org.report_defaults or {}) if org is not None else {}

    def set(self, session: Session, actor: Actor, organisation_id: object, data: Any, reason: str) -> dict[str, Any]:
        """Replace the organisation's defaults (audited with the fields set, never their values'
        personal data: a signature is a name)."""
        org = session.get(Organisation, organisation_id, with_for_update=True)
        if org is None:
            raise InvalidDefaults([{"field": "organisation", "message": f"no organisation {organisation_id}"}])
        clean = check(data)
        org.report_defaults = clean or None
        self._audit.record(session, AuditEvent.ORGANISATION_REPORT_DEFAULTS, actor, "organisation", str(org.id),
                           reason, {"fields": sorted(clean)})
        return clean

    def complete_by_staff(self, session: Session, actor: Actor, report: Report, data: Any, reason: str) -> list[str]:
        """Staff complete what a report still lacks (the provider cannot, e.g. an NCMEC-only
        client), with a reason; the report goes back through triage. The fields completed."""
        from balise.casework.triage import supply_information

        text = " ".join((reason or "").split())
        if len(text) < 5:
            raise InvalidDefaults([{"field": "reason", "message": "give the reason (at least 5 characters)"}])
        if report.state not in ("incomplete", "information_requested"):
            raise InvalidDefaults([{"field": "report", "message": f"the report is {report.state}; only an incomplete "
                                                                  "report or one waiting for information is completed"}])
        clean = check(data, StaffCompletionIn)
        if not clean:
            raise InvalidDefaults([{"field": "(body)", "message": "nothing to complete: give at least one field"}])
        self._audit.record(session, AuditEvent.REPORT_STAFF_COMPLETE, actor, "report", str(report.id), text,
                           {"fields": sorted(clean), "missing_before": report.missing_fields or []})
        supply_information(session, self._audit, report, clean, actor, self._clock())
        return sorted(clean)
