"""`balise …` run in the test's own process (Typer's CliRunner) instead of as a new process:
the same command, arguments, environment, exit code, standard output and standard error, without
the second or so every new process spends importing before it does anything.

Use a real process only where the process boundary is what a test proves (signals, kill -9,
`serve`/`worker`/`scan` exit codes as processes, a script run end to end)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from typer.testing import CliRunner

from balise.cli.main import app
from balise.container import Balise


@dataclass(frozen=True)
class CliResult:
    """What the tests read of a finished command, as on ``subprocess.CompletedProcess``."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_cli(env: Mapping[str, str], *args: str, input: str | None = None) -> CliResult:
    """Run ``balise *args`` with ``input`` on standard input.

    The command sees exactly the BALISE_* variables in ``env`` (any other BALISE_* variable of
    this process is removed for the call, as for a process started with ``env``); other
    variables in ``env`` are set too, the rest of the environment is left as it is.

    An exit code (``typer.Exit``, a usage error) comes back as ``returncode``. Any other
    exception is raised here with the command's output attached, so that a crash fails the test
    loudly instead of passing for exit code 1."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("BALISE_") and k not in env}
    overrides.update({k: v for k, v in env.items() if os.environ.get(k) != v})
    with _containers_closed_after_the_call(), _logging_restored_after_the_call():
        result = CliRunner().invoke(app, list(args), input=input, env=overrides, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        result.exception.add_note(f"balise {' '.join(args)}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        raise result.exception
    return CliResult(tuple(args), result.exit_code, result.stdout, result.stderr)


@contextmanager
def _logging_restored_after_the_call() -> Iterator[None]:
    """`serve`, `worker`, `jobs run`, `backup` and `restore` install Balise's log handler on the
    root logger, as a process of their own should; here it would outlive the call and write every
    later test's log lines (an SMTP server's, say) into the test run's output."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@contextmanager
def _containers_closed_after_the_call() -> Iterator[None]:
    """Most commands leave the container they load (its database engine and pooled connections,
    its HTTP client) to the end of the process. In this process that end is the end of the call:
    every container built during the call is closed then, so that no connection outlives its
    command (a PostgreSQL reset or a later SQLite writer would otherwise share the database with
    it)."""
    built: list[Balise] = []
    original = Balise.__init__

    def init(self: Balise, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        built.append(self)

    with mock.patch.object(Balise, "__init__", init):
        try:
            yield
        finally:
            for container in built:
                container.close()


def grant_match_by_cli(env: Mapping[str, str], organisation: str) -> None:
    """A live access grant for ``organisation`` to match every indicator database, requested and
    approved with `balise grant`: API keys match only within a grant (CSAR Art. 46)."""
    from datetime import datetime, timedelta, timezone

    databases = [a for d in ("known_indicators", "new_indicators", "solicitation_indicators", "url_list")
                 for a in ("--database", d)]
    until = (datetime.now(timezone.utc) + timedelta(days=365)).date().isoformat()
    requested = run_cli(env, "grant", "request", organisation, *databases, "--operation", "match",
                        "--purpose", "test matching", "--legal-basis", "test fixture", "--until", until)
    assert requested.returncode == 0, requested.stdout + requested.stderr
    grant_id = requested.stdout.split()[1]
    approved = run_cli(env, "grant", "approve", grant_id, "--reason", "approved for the test")
    assert approved.returncode == 0 and "approved" in approved.stdout, approved.stdout + approved.stderr
