"""`balise exchange`: subscribe to another Balise installation's indicator list and pull its
deltas (docs/federation.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

exchange_app = typer.Typer(help="Indicator lists of other installations, pulled with deltas.", no_args_is_help=True)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        fail(f"cannot read the {what} {path}: {exc.strerror}", 2)
    except UnicodeDecodeError:
        fail(f"the {what} {path} is not UTF-8 text", 2)


@exchange_app.command("subscribe")
def subscribe(
    name: Annotated[str, typer.Argument(help="a name for the subscription")],
    url: Annotated[str, typer.Option(help="the partner installation's base URL")],
    list_name: Annotated[str, typer.Option("--list", help="known_indicators, new_indicators, "
                                                          "solicitation_indicators or url_list")],
    public_key_file: Annotated[Path, typer.Option(help="the partner's signing key (PEM), checked out of band")],
    api_key_file: Annotated[Path, typer.Option(help="a file holding the API key the partner issued to us")],
) -> None:
    """Subscribe to a partner's list; its API key is kept sealed in the database."""
    from balise.exchange.subscriptions import SubscriptionError

    pem, key = _read(public_key_file, "public key"), _read(api_key_file, "API key file")
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.subscriptions.subscribe(session, CLI_ACTOR, name=name, base_url=url, list_name=list_name,
                                           public_key_pem=pem, api_key=key)
    except SubscriptionError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo(f"subscribed {name!r} to {list_name} of {url}")


@exchange_app.command("pull")
def pull(name: Annotated[str, typer.Argument(help="the subscription")]) -> None:
    """Pull the list's changes since the last pull (signatures checked, page by page)."""
    from balise.exchange.ports import FeedFetchError
    from balise.exchange.subscriptions import SubscriptionError

    balise = load_balise()
    try:
        result = balise.subscriptions.pull(balise.db.transaction, CLI_ACTOR, name)
    except (SubscriptionError, FeedFetchError) as exc:
        fail(str(exc))
    typer.echo(f"{result.pages} page(s): imported {result.imported}, updated {result.updated}, "
               f"unchanged {result.unchanged}, rejected {result.rejected}; at version {result.version}")


@exchange_app.command("list")
def list_subscriptions() -> None:
    """The subscriptions and the version each has reached."""
    balise = load_balise()
    with balise.db.sessions() as session:
        for sub in balise.subscriptions.list(session):
            when = sub.pulled_at.strftime("%Y-%m-%d %H:%M UTC") if sub.pulled_at else "never"
            typer.echo(f"{sub.name}: {sub.list_name} of {sub.base_url}, version {sub.version}, pulled {when}")
