"""`balise transparency build`: the annual transparency report (CSAR Art. 83(3), 84) of a
year, as files: HTML, PDF, CSV tables, SVG charts and the figures as JSON."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

transparency_app = typer.Typer(help="The Article 83 statistics and the annual transparency report.",
                               no_args_is_help=True)


@transparency_app.command("build")
def build(year: Annotated[str, typer.Option(help="the calendar year (UTC), e.g. 2026")],
          out: Annotated[Path, typer.Option(help="directory to write the files into (created if missing)")],
          lang: Annotated[str, typer.Option(help="language of the HTML and PDF: en, fr or de")] = "en") -> None:
    """Write the transparency report of YEAR into OUT: transparency-YEAR-LANG.html and .pdf,
    transparency-YEAR.json, csv/*.csv (one per table) and charts/*.svg. Counts below
    BALISE_TRANSPARENCY_MIN_COUNT are withheld. Nothing is written when an argument is wrong."""
    from balise.cli.common import CLI_ACTOR, fail, load_balise
    from balise.domain.audit import AuditEvent
    from balise.domain.transparency import PeriodError, parse_year
    from balise.web.public.i18n import LOCALES

    if lang not in LOCALES:
        fail(f"--lang must be one of {', '.join(LOCALES)} (got {lang!r})")
    try:
        value = parse_year(year)
    except PeriodError as exc:
        fail(f"--year: {exc}")
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file, not a directory: give a directory (it is created if missing)")
    if not out.exists() and out.parent.exists() and not out.parent.is_dir():
        fail(f"--out {out}: {out.parent} is a file, not a directory")
    balise = load_balise()
    from balise.web.public.transparency import build_files

    try:
        with balise.db.sessions() as session:
            report = balise.transparency.build(session, value)
    except PeriodError as exc:
        fail(f"--year: {exc}")
    files = build_files(report, lang)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(data)
            partial.replace(target)
    except OSError as exc:
        fail(f"--out {out}: cannot write: {exc.strerror or exc}")
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.TRANSPARENCY_BUILD, CLI_ACTOR, "transparency", str(value),
                            "publish the Article 83 statistics",
                            {"period": report.period.as_dict(), "threshold": report.threshold, "demo": report.demo,
                             "files": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(files.items())}})
    p = report.period
    typer.echo(f"transparency report {value}{' (year to date)' if p.partial else ''}: "
               f"{p.start:%Y-%m-%d} to {p.end:%Y-%m-%d %H:%M} UTC, counts below {report.threshold} withheld"
               f"{', includes DEMO reports' if report.demo else ''}")
    for name in sorted(files):
        typer.echo(f"  {out / name}")
