"""`balise org report-defaults` and `balise report complete`: the Annex III fields NCMEC's format
lacks, set once per provider by staff, and completed on one report by staff with a reason
(docs/ncmec-api.md#where-each-annex-iii-field-comes-from)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

report_app = typer.Typer(help="Reports: staff completion of missing Annex III fields.", no_args_is_help=True)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--set is not JSON: {exc.msg} at character {exc.pos}", 2)


def org_report_defaults(
    name: Annotated[str, typer.Argument(help="the provider organisation's name")],
    set_: Annotated[str | None, typer.Option("--set", help='the defaults as JSON, e.g. \'{"signature": "…", '
                                                           '"content_removed": true}\'; {} clears them')] = None,
    reason: Annotated[str, typer.Option(help="why staff set them (audited)")] = "",
) -> None:
    """Show, or set with --set, the Annex III defaults applied to the organisation's /ispws reports."""
    from balise.intake.report_defaults import InvalidDefaults

    balise = load_balise()
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, name)
        if org is None:
            fail(f"no organisation named {name!r}")
        if set_ is None:
            typer.echo(json.dumps(balise.report_defaults.get(session, org.id), indent=1, sort_keys=True))
            return
        if len(" ".join(reason.split())) < 5:
            fail("give the --reason (at least 5 characters)", 2)
        try:
            clean = balise.report_defaults.set(session, CLI_ACTOR, org.id, _json(set_), reason)
        except InvalidDefaults as exc:
            fail(f"nothing changed: {exc}", 2)
    typer.echo(f"report defaults of {name}: {', '.join(sorted(clean)) or 'none'}")


@report_app.command("complete")
def report_complete(
    report_id: Annotated[str, typer.Argument(help="the report's id")],
    set_: Annotated[str, typer.Option("--set", help='the fields as JSON, e.g. \'{"awareness": {"source": '
                                                    '"user_report"}, "type": "known_csam"}\'')],
    reason: Annotated[str, typer.Option(help="why staff complete it rather than the provider (audited)")],
) -> None:
    """Complete the Annex III fields a report still lacks; it goes back through triage."""
    from balise.adapters.db.models import Report
    from balise.intake.report_defaults import InvalidDefaults

    try:
        rid = uuid.UUID(report_id)
    except ValueError:
        fail(f"{report_id!r} is not a report id (a UUID)", 2)
    balise = load_balise()
    data = _json(set_)
    with balise.db.transaction() as session:
        report = session.get(Report, rid, with_for_update=True)
        if report is None:
            fail(f"no report {report_id}")
        try:
            fields = balise.report_defaults.complete_by_staff(session, CLI_ACTOR, report, data, reason)
        except InvalidDefaults as exc:
            fail(f"nothing changed: {exc}", 2)
        balise.jobs.enqueue(session, "report.triage", {"report_id": str(report.id)}, dedupe_key=f"triage:{report.id}")
    typer.echo(f"report {report_id} completed ({', '.join(fields)}); back to triage")
