"""`balise grant`: access grants (CSAR Art. 46): request on an organisation's behalf, list,
approve, reject, revoke, and the periodic review (Art. 46(7))."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise
from balise.domain.grants import GrantState

if TYPE_CHECKING:
    from balise.accounts.actors import Actor
    from balise.container import Balise

grant_app = typer.Typer(help="Access grants to the indicator databases and reports (CSAR Art. 46).",
                        no_args_is_help=True)

BY_HELP = "the administrator deciding (a staff user name); default: the operator of this command line"


def _moment(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date or date and time (2026-12-31 or 2026-12-31T18:00:00+01:00), not {text!r}", 2)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _decider(balise: Balise, by: str | None) -> Actor:
    """Who decides: a named administrator (so that two approvals of a download grant are two
    people), or the command line's operator."""
    from balise.accounts.actors import Actor
    from balise.domain.model import Role

    if by is None:
        return CLI_ACTOR
    with balise.db.sessions() as session:
        user = balise.users.get(session, by)
    if user is None or not user.active:
        fail(f"no active staff user {by!r}", 2)
    if user.role != Role.ADMIN.value:
        fail(f"{by} is {user.role}, not admin: only administrators decide on grants", 2)
    return Actor.staff(str(user.id), user.username)


@grant_app.command("request")
def grant_request(
    organisation: Annotated[str, typer.Argument(help="the grantee organisation's name")],
    database: Annotated[list[str], typer.Option(help="known_indicators, new_indicators, solicitation_indicators, "
                                                     "url_list or reports (repeat)")],
    operation: Annotated[list[str], typer.Option(help="match, download or read_reports (repeat)")],
    purpose: Annotated[str, typer.Option(help="why the organisation needs the access")],
    legal_basis: Annotated[str, typer.Option(help="the legal basis, e.g. a detection order (CSAR Art. 7)")],
    until: Annotated[str, typer.Option(help="end of validity (ISO date or date-time; UTC if no zone)")],
    start: Annotated[str | None, typer.Option("--from", help="start of validity (default now)")] = None,
    order_reference: Annotated[str | None, typer.Option(help="the order's reference, where there is one")] = None,
) -> None:
    """Enter a grant request on an organisation's behalf; an administrator then decides."""
    from balise.domain.grants import InvalidGrant, check_terms

    balise = load_balise()
    now = balise.clock()
    try:
        terms = check_terms(databases=database, operations=operation, purpose=purpose, legal_basis=legal_basis,
                            order_reference=order_reference, valid_from=_moment(start, "--from") if start else now,
                            valid_until=_moment(until, "--until"), max_months=balise.settings.grant_max_months, now=now)
    except InvalidGrant as exc:
        fail(f"{exc.field}: {exc.message}; nothing stored", 2)
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, organisation)
        if org is None:
            fail(f"no organisation named {organisation!r}", 2)
        grant = balise.grants.request(session, CLI_ACTOR, org.id, terms)
        grant_id = grant.id
    typer.echo(f"grant {grant_id} requested for {organisation}; an administrator decides: balise grant approve {grant_id}")


@grant_app.command("list")
def grant_list(
    organisation: Annotated[str | None, typer.Option("--org", help="only this organisation's grants")] = None,
    state: Annotated[str | None, typer.Option(help="only grants in this state")] = None,
) -> None:
    """Grants, newest first: state, operations, databases, validity, purpose."""
    from balise.adapters.db.models import Organisation
    from balise.governance.grants import describe

    if state is not None and state not in {s.value for s in GrantState}:
        fail(f"--state must be one of {', '.join(s.value for s in GrantState)}, not {state!r}", 2)
    balise = load_balise()
    with balise.db.sessions() as session:
        org_id = None
        if organisation is not None:
            org = balise.organisations.get_by_name(session, organisation)
            if org is None:
                fail(f"no organisation named {organisation!r}", 2)
            org_id = org.id
        for grant in balise.grants.list(session, org_id, [state] if state else None):
            name = session.get(Organisation, grant.organisation_id).name  # type: ignore[union-attr]
            typer.echo(f"{describe(grant)} (organisation: {name})")


def _decide(action: str, grant_id: int, reason: str, by: str | None) -> None:
    from balise.governance.grants import GrantError

    balise = load_balise()
    actor = _decider(balise, by)
    try:
        with balise.db.transaction() as session:
            grant = getattr(balise.grants, action)(session, actor, grant_id, reason)
            state = grant.state
    except GrantError as exc:
        fail(str(exc))
    if state == GrantState.AWAITING_SECOND_APPROVAL.value:
        typer.echo(f"grant {grant_id} approved once; it allows downloading indicators, so a second, different "
                   f"administrator must approve it too (balise grant approve {grant_id} --by …)")
    else:
        typer.echo(f"grant {grant_id} is {state}")


@grant_app.command("approve")
def grant_approve(grant_id: int, reason: Annotated[str, typer.Option(help="why (recorded)")],
                  by: Annotated[str | None, typer.Option(help=BY_HELP)] = None) -> None:
    """Approve a requested grant (a grant to download indicators needs two administrators)."""
    _decide("approve", grant_id, reason, by)


@grant_app.command("reject")
def grant_reject(grant_id: int, reason: Annotated[str, typer.Option(help="why (recorded, shown to the organisation)")],
                 by: Annotated[str | None, typer.Option(help=BY_HELP)] = None) -> None:
    """Reject a requested grant."""
    _decide("reject", grant_id, reason, by)


@grant_app.command("revoke")
def grant_revoke(grant_id: int, reason: Annotated[str, typer.Option(help="why (recorded, shown to the organisation)")],
                 by: Annotated[str | None, typer.Option(help=BY_HELP)] = None) -> None:
    """Revoke an approved grant; the organisation's keys stop acting under it at once."""
    _decide("revoke", grant_id, reason, by)


@grant_app.command("review")
def grant_review() -> None:
    """The periodic review (CSAR Art. 46(7)): live grants unused for 90 days, grants ending
    within 30 days, and requests waiting for a decision."""
    from balise.adapters.db.models import Organisation
    from balise.governance.grants import describe

    balise = load_balise()
    now = balise.clock()
    with balise.db.sessions() as session:
        review = balise.grants.review(session)
        waiting = balise.grants.list(session, None, [GrantState.REQUESTED.value,
                                                     GrantState.AWAITING_SECOND_APPROVAL.value])

        def line(grant) -> str:  # type: ignore[no-untyped-def]
            name = session.get(Organisation, grant.organisation_id).name  # type: ignore[union-attr]
            return f"  {describe(grant)} (organisation: {name})"

        sections = (
            (f"unused for {review.unused_days} days or more", review.unused,
             lambda g: f"; last used {g.last_used_at:%Y-%m-%d}" if g.last_used_at else "; never used"),
            (f"ending within {review.expiring_days} days", review.expiring,
             lambda g: f"; {max(0, (g.valid_until - now) // timedelta(days=1))} day(s) left"),
            ("waiting for a decision", waiting, lambda g: ""),
        )
        for title, grants, extra in sections:
            typer.echo(f"{title}: {len(grants)}")
            for grant in grants:
                typer.echo(line(grant) + extra(grant))

