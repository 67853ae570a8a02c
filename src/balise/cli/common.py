"""Helpers every `balise` sub-command module shares: the CLI's actor, loading the container
from the settings, and failing with a message and an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

from balise.accounts.actors import Actor

if TYPE_CHECKING:
    from balise.container import Balise

CLI_ACTOR = Actor.system("cli")


def load_balise() -> Balise:
    from balise.container import Balise
    from balise.settings import Settings

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError or an unreadable secret file
        typer.echo(f"error: invalid configuration: {exc}", err=True)
        raise typer.Exit(2) from exc
    return Balise(settings)


def configure_logs(balise: Balise) -> None:
    """The processes operators watch (serve, worker, jobs run, backup, restore) write their log
    lines in BALISE_LOG_FORMAT to standard error; what a command prints for its user still
    goes to standard output."""
    from balise.adapters.logs import configure_logging

    configure_logging(balise.settings.log_as_json, balise.settings.log_level, balise.settings.access_log)


def check_routing_configuration(balise: Balise) -> None:
    """Files named by settings are read at start, so a mistake stops the process with its name
    instead of failing the first job that needs them."""
    from balise.takedown.adapters.geo_overrides import GeoOverridesError

    try:
        balise.geo_overrides  # noqa: B018 - loads and checks BALISE_GEO_OVERRIDES_FILE
    except GeoOverridesError as exc:
        fail(str(exc), 2)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
