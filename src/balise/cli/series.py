"""`balise series`: series of near-duplicate material across reports (docs/victims.md): list,
show, confirm, identify (a case reference only), and re-cluster from scratch."""

from __future__ import annotations

from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

series_app = typer.Typer(help="Series of near-duplicate material across reports, identified victims.",
                         no_args_is_help=True)


def _series_id(text: str) -> int:
    from balise.domain.series import SeriesError, parse_reference

    try:
        return parse_reference(text)
    except SeriesError as exc:
        fail(exc.message, 2)


@series_app.command("list")
def series_list(unidentified: Annotated[bool, typer.Option(help="only series whose victim is not identified")] = False
                ) -> None:
    """Live series, unidentified and largest first."""
    from balise.domain.series import reference

    balise = load_balise()
    with balise.db.sessions() as session:
        rows = balise.series.list(session, identified=False if unidentified else None)
        for s in rows:
            typer.echo(f"{reference(s.id)}  {s.status:<9}  items {s.item_count:>5}  "
                       f"victim identified: {'yes' if s.identified else 'no'}")
    if not rows:
        typer.echo("no series")


@series_app.command("show")
def series_show(series: Annotated[str, typer.Argument(help="the series reference, e.g. S-000042")]) -> None:
    """A series' items and reports (audited as series:read)."""
    from balise.domain.series import SeriesError, reference

    balise = load_balise()
    series_id = _series_id(series)
    try:
        with balise.db.transaction() as session:
            s = balise.series.read(session, CLI_ACTOR, series_id, "series shown on the command line")
            members = balise.series.members(session, series_id)
            typer.echo(f"{reference(s.id)}  {s.status}  items {s.item_count}  victim identified: "
                       f"{'yes (case ' + str(s.case_reference) + ')' if s.identified else 'no'}")
            for m in members:
                typer.echo(f"  report {m.report_id}  item {m.item_id}  {m.provider or 'public report'}  "
                           f"{m.received_at:%Y-%m-%d %H:%M} UTC  distance {m.distance if m.distance is not None else '-'}")
    except SeriesError as exc:
        fail(exc.message, 2)


@series_app.command("identify")
def series_identify(series: Annotated[str, typer.Argument(help="the series reference")],
                    case_reference: Annotated[str, typer.Option(help="the police case reference (never a name)")],
                    reason: Annotated[str, typer.Option(help="why (recorded)")]) -> None:
    """Mark a series as depicting an identified victim (a law-enforcement partner's statement)."""
    from balise.domain.series import SeriesError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.series.identify(session, CLI_ACTOR, _series_id(series), case_reference, reason)
    except SeriesError as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    typer.echo(f"{series}: victim identified (case reference recorded)")


@series_app.command("confirm")
def series_confirm(series: Annotated[str, typer.Argument(help="the series reference")],
                   reason: Annotated[str, typer.Option(help="why (recorded)")]) -> None:
    from balise.domain.series import SeriesError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.series.confirm(session, CLI_ACTOR, _series_id(series), reason)
    except SeriesError as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    typer.echo(f"{series}: confirmed")


@series_app.command("recluster")
def series_recluster() -> None:
    """Recompute the proposed series from scratch (confirmed and identified series stand)."""
    import json

    from balise.victims.clustering import Reclustering

    balise = load_balise()
    with balise.db.transaction() as session:
        summary = Reclustering(balise.audit, balise.clock, balise.series_assignment).run(session, CLI_ACTOR)
    typer.echo(json.dumps(summary))
