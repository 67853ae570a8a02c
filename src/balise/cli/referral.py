"""`balise referral`: refer a report's URLs to a partner installation, close a referral
received with its outcome, list both sides (docs/federation.md)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

referral_app = typer.Typer(help="Referrals of URL reports to and from partner installations.", no_args_is_help=True)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{what}: not an id ({value[:40]!r})", 2)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@referral_app.command("send")
def send(
    report: Annotated[str, typer.Argument(help="the report id")],
    partner: Annotated[str, typer.Option(help="the partner installation (balise exchange partner list)")],
    reason: Annotated[str, typer.Option(help="why it is referred (kept here, not sent)")],
) -> None:
    """Refer the report's URLs to a partner; a job delivers each, signed, with retries."""
    from balise.exchange.federation import FederationError

    report_id = _uuid(report, "report")
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            made = balise.referrals.refer(session, CLI_ACTOR, report_id, partner, reason)
            lines = [f"referral {r.id}: {r.url} to {r.partner_name} (queued)" for r in made]
    except FederationError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo("\n".join(lines))


@referral_app.command("outcome")
def outcome(
    referral: Annotated[str, typer.Argument(help="the id of a referral received (balise referral list)")],
    result: Annotated[str, typer.Argument(metavar="removed|not_illegal", help="what became of the URL here")],
    removed_at: Annotated[str | None, typer.Option(help="when it was removed (ISO 8601, UTC if no zone); "
                                                        "default now")] = None,
) -> None:
    """Close a referral received; the outcome is sent back to the partner by a job."""
    from balise.exchange.federation import FederationError

    received_id = _uuid(referral, "referral")
    when = None
    if removed_at:
        try:
            when = datetime.fromisoformat(removed_at)
        except ValueError:
            fail(f"removed-at: not an ISO 8601 date and time ({removed_at[:40]!r})", 2)
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            ref = balise.referrals.close(session, CLI_ACTOR, received_id, result, when)
            line = f"referral {ref.id} from {ref.partner_name} closed: {ref.outcome}"
    except FederationError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo(line + "; the outcome will be sent back")


@referral_app.command("list")
def list_referrals() -> None:
    """Referrals sent (our legs) and received (the partners'), newest first."""
    balise = load_balise()
    with balise.db.sessions() as session:
        sent, received = balise.referrals.sent(session), balise.referrals.received(session)
        typer.echo(f"sent ({len(sent)}):")
        for r in sent:
            state = r.status + (f", {r.outcome}" if r.outcome else "") + (f" ({r.error})" if r.error else "")
            typer.echo(f"  {r.id}  to {r.partner_name}  {state}  sent {_when(r.created_at)}  "
                       f"acknowledged {_when(r.acknowledged_at)}  removed {_when(r.removed_at)}  "
                       f"report {r.report_id}  {(r.url or '[redacted]')[:100]}")
        typer.echo(f"received ({len(received)}):")
        for r in received:
            back = "outcome sent back" if r.outcome_sent_at else ("outcome to send" if r.status == "closed" else "")
            typer.echo(f"  {r.id}  from {r.partner_name}  {r.status}{', ' + r.outcome if r.outcome else ''}  "
                       f"received {_when(r.received_at)}  {back}  report {r.report_id}  "
                       f"{(r.url or '[redacted]')[:100]}")
