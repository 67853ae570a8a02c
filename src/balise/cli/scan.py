"""`balise scan PATH... --out DIR`: bulk scan of seized media (docs/scan.md).

Registered in the main CLI as ``app.command("scan")(scan)``; also runnable on its own as
``python -m balise.cli.scan``.

Exit codes: 0 scan complete, no known material; 1 scan complete, known material found;
2 usage or configuration error (nothing scanned); 3 scan complete, no known material, but some
files could not be read or were not opened (skipped, archive limits); 130 interrupted (rerun
the same command to resume).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer


class _Progress:
    """rich progress bar: files, files/s, bytes/s, ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.task: Any = None
        self.bytes = 0

    def start(self, total_files: int, total_bytes: int) -> None:
        if not self.enabled:
            return
        from rich import filesize
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
        from rich.text import Text

        outer = self

        class Rates(ProgressColumn):
            def render(self, task: Any) -> Text:
                elapsed = task.elapsed or 0.0
                if elapsed <= 0:
                    return Text("- files/s - /s")
                return Text(f"{task.completed / elapsed:,.0f} files/s {filesize.decimal(int(outer.bytes / elapsed))}/s")

        self.progress = Progress(TextColumn("hashing"), BarColumn(), MofNCompleteColumn(), Rates(),
                                 TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True))
        self.progress.start()
        self.task = self.progress.add_task("hash", total=total_files)

    def advance(self, files: int, nbytes: int) -> None:
        if self.progress is not None:
            self.bytes += nbytes
            self.progress.update(self.task, advance=files)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def scan(
    paths: Annotated[list[Path], typer.Argument(help="directories, files or archives to scan (read only)")],
    out: Annotated[Path, typer.Option("--out", help="output directory: state.sqlite, results.jsonl/.csv, vics.json, report.html")],
    indicators: Annotated[list[Path] | None, typer.Option("--indicators", help="indicator file (CSV, ThreatExchange lines, VICS JSON, NCMEC XML, vPDQ frames); repeat")] = None,
    server: Annotated[str | None, typer.Option("--server", help="Balise server URL: match by its API (only hashes are sent)")] = None,
    key: Annotated[str | None, typer.Option("--key", envvar="BALISE_SCAN_KEY", help="API key with the match scope (or BALISE_SCAN_KEY)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="local worker processes (default: all cores; 0 = in-process)")] = None,
    dask: Annotated[str | None, typer.Option("--dask", help="scheduler address of a Dask cluster, e.g. tcp://10.0.0.5:8786")] = None,
    threshold: Annotated[int, typer.Option(help="largest PDQ distance that matches an indicator")] = 31,
    cluster_threshold: Annotated[int, typer.Option(help="largest PDQ distance linking unknown images into a series")] = 31,
    max_depth: Annotated[int, typer.Option(help="nested archive depth opened")] = 3,
    max_ratio: Annotated[float, typer.Option(help="largest decompression ratio before an archive is treated as a bomb")] = 100.0,
    max_member_bytes: Annotated[int, typer.Option(help="largest decompressed archive member, bytes")] = 4 * 1024**3,
    thumbnails: Annotated[bool, typer.Option("--thumbnails", help="small blurred grey thumbnails in report.html (off by default)")] = False,
    case: Annotated[str, typer.Option(help="case number written in the VICS export")] = "balise-scan",
    progress: Annotated[bool, typer.Option(help="show the progress bar")] = True,
) -> None:
    """Bulk scan of seized media: separate known material from unknown, rank the unknown for review."""
    from balise.scan.runner import EXIT_USAGE, ScanConfigError, ScanOptions, run_scan

    opts = ScanOptions(
        paths=[os.fsencode(p) for p in paths], out=out, indicators=list(indicators or []), server=server, key=key,
        workers=workers, dask_address=dask, threshold=threshold, cluster_threshold=cluster_threshold,
        max_depth=max_depth, max_ratio=max_ratio, max_member_bytes=max_member_bytes, thumbnails=thumbnails,
        case=case, command=shlex.join(a if a != key else "***" for a in sys.argv),
    )
    deny = os.environ.get("BALISE_SCAN_TEST_DENY")  # tests only: provoke EACCES when running as root
    if deny:
        opts.test_deny = [os.fsencode(p) for p in deny.split(os.pathsep)]
    bar = _Progress(progress)
    t0 = time.monotonic()
    try:
        summary = run_scan(opts, progress=bar)
    except ScanConfigError as exc:
        bar.stop()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:  # before the scan's own handling started (setup)
        bar.stop()
        typer.echo("interrupted: rerun the same command to resume", err=True)
        raise typer.Exit(130) from None
    for rep in summary.indicator_reports:
        typer.echo(f"indicators {rep.source} ({rep.format}): {rep.loaded} loaded, {rep.removed} removed, "
                      f"{len(rep.errors)} bad entries")
        for line, msg in rep.errors[:20]:
            typer.echo(f"  {rep.source}:{line}: {msg}" if line else f"  {rep.source}: {msg}", err=True)
    elapsed = time.monotonic() - t0
    if summary.interrupted:
        typer.echo(f"interrupted after {summary.hashed} files hashed: rerun the same command to resume")
        raise typer.Exit(summary.exit_code)
    rate = summary.hashed / summary.hash_seconds if summary.hash_seconds > 0 else 0.0
    typer.echo(
        f"scan complete in {elapsed:.1f} s: {summary.files} files ({summary.walked} walked, {summary.unchanged} "
        f"unchanged since the last run, {summary.hashed} hashed at {rate:,.0f} files/s), {summary.contents} distinct, "
        f"{summary.duplicates} duplicate copies")
    typer.echo(f"known material: {summary.known_files} files; unknown media: {summary.unknown_media} "
                  f"in {summary.series} series ({summary.series_multi} with near-duplicates)")
    typer.echo(f"skipped or not opened: {summary.skipped}; undecodable media: {summary.errors}")
    typer.echo(f"time: indicators {summary.indicator_seconds:.1f} s, walk {summary.walk_seconds:.1f} s, hash {summary.hash_seconds:.1f} s, "
               f"match {summary.match_seconds:.1f} s, series and outputs {summary.output_seconds:.1f} s")
    typer.echo(f"outputs in {out}: results.csv results.jsonl vics.json report.html state.sqlite")
    raise typer.Exit(summary.exit_code)


def main() -> None:  # pragma: no cover - `python -m balise.cli.scan`
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("scan")(scan)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
