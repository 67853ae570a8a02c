"""`balise retention run|status`: what retention removes, and what is due (docs/retention.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from balise.domain.retention import EXEMPTION_TEXT, REPORT_RULES, RULE_TEXT, Exemption

retention_app = typer.Typer(help="Retention: redact closed reports, delete what is past its retention.",
                            no_args_is_help=True)


def _ctx():  # type: ignore[no-untyped-def]
    from balise.cli.common import CLI_ACTOR, load_balise

    return load_balise(), CLI_ACTOR


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


@retention_app.command("run")
def retention_run(dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be removed; change nothing")] = False,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Redact the closed reports whose retention has passed, delete due reporter contacts, done
    jobs, old Idempotency-Keys and expired RDAP rows. Prints per rule the counts and report ids;
    exit 1 if a report could not be processed (the others were)."""
    balise, actor = _ctx()
    result = balise.retention.run(dry_run=dry_run, actor=actor)
    if as_json:
        typer.echo(json.dumps({
            **result.summary(), "at": result.started_at.isoformat(),
            "redacted": {r.value: ids for r, ids in result.redacted.items()},
            "exempt": {e.value: [{"report": rid, "why": why} for rid, why in rows] for e, rows in result.exempt.items()},
            "contacts": {r.value: ids for r, ids in result.contacts.items()},
            "errors": [{"report": rid, "error": err} for rid, err in result.failed],
        }, indent=2))
    else:
        verb = "would be" if dry_run else "were"
        typer.echo(f"retention {'dry run (nothing changed)' if dry_run else 'run'} at {_day(result.started_at)}")
        for rule, ids in list(result.redacted.items()) + list(result.contacts.items()):
            what = f"report(s) {verb} redacted" if rule in REPORT_RULES else f"reporter contact(s) {verb} deleted"
            typer.echo(f"{rule.value}: {len(ids)} {what}  [{RULE_TEXT[rule]}]")
            for rid in ids:
                typer.echo(f"  {rid}")
            if result.removed_by_rule[rule]:
                typer.echo("  " + ("would remove" if dry_run else "removed") + ": "
                           + ", ".join(f"{k} {v}" for k, v in sorted(result.removed_by_rule[rule].items())))
        exempt = [(code, rows) for code, rows in result.exempt.items() if rows]
        typer.echo(f"exempt: {sum(len(rows) for _, rows in exempt)} due report(s) kept")
        for code, rows in exempt:
            typer.echo(f"  {code.value}: {len(rows)}  [{EXEMPTION_TEXT[code]}]")
            for rid, why in rows:
                typer.echo(f"    {rid}: {why}")
        removed = ", ".join(f"{k} {v}" for k, v in sorted(result.removed.items())) or "nothing"
        typer.echo(f"removed in all: {removed}" if not dry_run else f"would remove in all: {removed}")
        rows = ", ".join(f"{r.value} {n}" for r, n in result.housekeeping.items())
        typer.echo(f"rows {verb} deleted: {rows}")
        for rid, err in result.failed:
            typer.echo(f"FAILED {rid}: {err}")
    if result.failed:
        raise typer.Exit(1)


@retention_app.command("status")
def retention_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """For each rule: its period, how many records are due now, when the next falls due, and the
    due reports kept by an exemption, counted by reason. Changes nothing."""
    balise, _ = _ctx()
    status = balise.retention.status()
    if as_json:
        typer.echo(json.dumps({
            "at": status.at.isoformat(), "open_reports": status.open_reports,
            "redacted_reports": status.redacted_reports,
            "rules": [{"rule": r.rule.value, "period_days": r.period_days, "due_now": r.due_now,
                       "next_due": r.next_due.isoformat() if r.next_due else None, "exempt": dict(r.exempt),
                       "meaning": RULE_TEXT[r.rule]} for r in status.rules],
        }, indent=2))
        return
    typer.echo(f"retention status at {_day(status.at)}")
    typer.echo(f"{'rule':<20} {'period':>8} {'due now':>8}  {'next due':<20} exempt (due but kept)")
    for r in status.rules:
        period = f"{r.period_days} d" if r.period_days else "expiry"
        exempt = (", ".join(f"{k} {v}" for k, v in sorted(r.exempt.items())) or "—") if r.rule in REPORT_RULES else ""
        typer.echo(f"{r.rule.value:<20} {period:>8} {r.due_now:>8}  {_day(r.next_due):<20} {exempt}")
    typer.echo(f"open reports (no rule applies until they are closed): {status.open_reports}")
    typer.echo(f"reports redacted so far: {status.redacted_reports}")
    typer.echo("exemptions: " + "; ".join(f"{e.value}: {EXEMPTION_TEXT[e]}" for e in Exemption))
