"""`balise entities`: search the cross-report entity index by value (with a purpose, audited)
and (re)index reports filed before the index existed (docs/intelligence.md)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

entities_app = typer.Typer(help="Cross-report entities: search by value, (re)index reports.", no_args_is_help=True)

#: The command line's operator sees every report (as an analyst does); the search is audited.
OPERATOR_ROLE = "analyst"


@entities_app.command("search")
def entities_search(
    value: Annotated[str, typer.Argument(help="a wallet, IBAN, card number (its BIN), e-mail, phone, IP, URL, "
                                              "account (service:id) or file name")],
    purpose: Annotated[str, typer.Option(help="why you search (recorded in the audit trail)")] = "",
    kind: Annotated[str | None, typer.Option(help="only this kind (bitcoin, ethereum, monero, iban, card_bin, "
                                                  "payment_account, email, phone, ip, url, domain, account, file_name)")] = None,
) -> None:
    """One JSON line per entity found, with the reports naming it; exit 1 when none."""
    from balise.intelligence.entities import EntitySearchError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            result = balise.entities.search(session, CLI_ACTOR, OPERATOR_ROLE, value, purpose, kind=kind)
    except EntitySearchError as exc:
        fail(exc.message, 2)
    for m in result.matches:
        typer.echo(json.dumps({"kind": m.kind, "value": m.value, "valid": m.valid, "problem": m.problem,
                               "reports": [{"id": str(r["id"]), "state": r["state"],
                                            "created_at": r["created_at"].isoformat()} for r in m.reports]}))
    if not any(m.reports for m in result.matches):
        raise typer.Exit(1)


@entities_app.command("index")
def entities_index(
    report: Annotated[list[str] | None, typer.Option(help="a report id (repeat); default: every report")] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="reports per transaction")] = 200,
) -> None:
    """(Re)write the entity index of reports (idempotent): after an upgrade, for the reports
    filed before it."""
    from sqlalchemy import select

    from balise.adapters.db.models import Report

    balise = load_balise()
    wanted: list[uuid.UUID] | None = None
    if report:
        try:
            wanted = [uuid.UUID(r) for r in report]
        except ValueError:
            fail("--report: not a report id (a UUID)", 2)
    with balise.db.sessions() as session:
        query = select(Report.id).where(Report.redacted_at.is_(None)).order_by(Report.created_at)
        if wanted is not None:
            query = query.where(Report.id.in_(wanted))
        ids = list(session.execute(query).scalars())
    if wanted is not None and len(ids) != len(set(wanted)):
        missing = sorted(str(r) for r in set(wanted) - set(ids))
        fail("no such report (or redacted): " + ", ".join(missing), 2)
    valid = unvalidated = 0
    for start in range(0, len(ids), batch):
        with balise.db.transaction() as session:
            for rid in ids[start:start + batch]:
                found = session.get(Report, rid)
                if found is not None:
                    counts = balise.entities.index(session, found, CLI_ACTOR)
                    valid += counts["valid"]
                    unvalidated += counts["unvalidated"]
    typer.echo(f"indexed {len(ids)} report(s): {valid} valid value(s), {unvalidated} kept as unvalidated text")
