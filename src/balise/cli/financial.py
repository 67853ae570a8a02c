"""`balise financial`: alerts to financial partners (docs/intelligence.md#financial-partners):
list them, send one about a report's payment identifier, record the partner's answer."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

financial_app = typer.Typer(help="Alerts to banks, card schemes, payment providers and crypto exchanges.",
                            no_args_is_help=True)


@financial_app.command("list")
def financial_list(report: Annotated[str | None, typer.Option(help="only this report's alerts")] = None) -> None:
    """One JSON line per alert: reference, partner, identifier kind, reason, outcome."""
    from sqlalchemy import select

    from balise.adapters.db.models import FinancialAlert, Partner

    balise = load_balise()
    with balise.db.sessions() as session:
        query = select(FinancialAlert, Partner.name).join(Partner).order_by(FinancialAlert.id)
        if report:
            try:
                query = query.where(FinancialAlert.report_id == uuid.UUID(report))
            except ValueError:
                fail("--report: not a report id (a UUID)", 2)
        for alert, partner in session.execute(query).all():
            typer.echo(json.dumps({"reference": alert.reference, "report": str(alert.report_id), "partner": partner,
                                   "kind": alert.identifier_kind, "reason": alert.reason, "outcome": alert.outcome,
                                   "decided_at": alert.decided_at.isoformat()}))


@financial_app.command("send")
def financial_send(
    report: Annotated[str, typer.Option(help="the report id")],
    identifier: Annotated[str, typer.Option(help="the payment identifier or crypto address, as the report names it")],
    partner: Annotated[int, typer.Option(help="the financial partner's id (balise partner list)")],
    reason: Annotated[str, typer.Option(help="payment_for_csam, sale_of_csam, sextortion_payment, "
                                             "grooming_payment or other")],
    note: Annotated[str | None, typer.Option(help="explanation (required with reason other)")] = None,
) -> None:
    """Queue the alert (a `financial_alert` notice, sent by the worker)."""
    from balise.domain import entities as E
    from balise.intelligence.financial import AlertError

    balise = load_balise()
    try:
        report_id = uuid.UUID(report)
    except ValueError:
        fail("--report: not a report id (a UUID)", 2)
    keys = {e.key for e in E.interpretations(identifier)}
    try:
        with balise.db.transaction() as session:
            mine = [m.search_key for m in balise.financial.identifiers(session, report_id) if m.search_key in keys]
            alert = balise.financial.send(session, CLI_ACTOR, report_id=report_id,
                                          identifier_key=mine[0] if mine else "", partner_id=partner,
                                          reason=reason, reason_note=note)
            reference = alert.reference
    except AlertError as exc:
        fail(exc.message, 2)
    typer.echo(f"alert {reference} queued")


@financial_app.command("answer")
def financial_answer(
    reference: Annotated[str, typer.Argument(help="the alert's reference (BAL-N-…)")],
    outcome: Annotated[str, typer.Option(help="account_closed, account_frozen, under_review, no_action or not_ours")],
    note: Annotated[str | None, typer.Option(help="what the partner said")] = None,
) -> None:
    """Record the partner's answer to an alert."""
    from balise.intelligence.financial import AlertError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.financial.answer(session, CLI_ACTOR, reference, outcome, note)
    except AlertError as exc:
        fail(exc.message, 2)
    typer.echo(f"{reference}: {outcome}")
