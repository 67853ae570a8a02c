"""`balise clocks`: the legal and service clocks running on reports, indicators, takedowns,
holds and unfinished NCMEC reports (docs/clocks.md)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from balise.domain.clocks import RULES, ClockKind, ClockState

clocks_app = typer.Typer(help="Legal and service clocks: what runs out when.", no_args_is_help=True)


def _kinds(values: list[str] | None, fail) -> list[ClockKind] | None:  # type: ignore[no-untyped-def]
    if not values:
        return None
    known = {k.value: k for k in ClockKind}
    unknown = [v for v in values if v not in known]
    if unknown:
        fail(f"unknown clock kind(s): {', '.join(unknown)}; known: {', '.join(known)}", 2)
    return [known[v] for v in values]


def _left(seconds: float) -> str:
    sign, seconds = ("-" if seconds < 0 else ""), abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{sign}{days}d{hours:02d}h{rest // 60:02d}m" if days else f"{sign}{hours}h{rest // 60:02d}m"


@clocks_app.command("list")
def clocks_list(kind: Annotated[list[str] | None, typer.Option(help="only this kind (repeatable)")] = None,
                state: Annotated[str | None, typer.Option(help="running, due_soon or overdue")] = None,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every running clock, soonest deadline first, with the time left (negative: overdue)."""
    from balise.cli.common import fail, load_balise

    kinds = _kinds(kind, fail)
    if state is not None and state not in {s.value for s in ClockState}:
        fail(f"unknown state {state!r}; known: {', '.join(s.value for s in ClockState)}", 2)
    balise = load_balise()
    now = balise.clock()
    with balise.db.sessions() as session:
        clocks = [c for c in balise.clocks.running(session, kinds) if state is None or c.state(now).value == state]
    rows = [{"kind": c.kind.value, "subject": c.rule.subject_type, "id": c.subject_id, "report": c.report_id,
             "started_at": c.started_at.isoformat(), "deadline": c.deadline.isoformat(), "state": c.state(now).value,
             "seconds_left": int((c.deadline - now).total_seconds()), "detail": c.detail} for c in clocks]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no clock is running")
    for r in rows:
        typer.echo(f"{r['state']:<9} {_left(r['seconds_left']):>11}  {r['kind']:<22} {r['subject']} {r['id']}"
                   + (f"  report {r['report']}" if r["report"] and r["report"] != r["id"] else "")
                   + (f"  ({r['detail']})" if r["detail"] else ""))


@clocks_app.command("check")
def clocks_check() -> None:
    """Record now, once each, the clocks that ran out or are about to end by themselves (the
    periodic job does this every BALISE_PERIODIC_SECONDS)."""
    from balise.cli.common import load_balise

    balise = load_balise()
    with balise.db.transaction() as session:
        recorded = balise.clocks.check(session)
    typer.echo(f"recorded {recorded} new alert(s)")


@clocks_app.command("rules")
def clocks_rules() -> None:
    """Each kind of clock, where it comes from and what happens when it runs out."""
    for rule in RULES.values():
        typer.echo(f"{rule.kind.value}: {rule.basis}. When it runs out: {rule.on_expiry}.")
