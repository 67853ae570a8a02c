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


partner_app = typer.Typer(help="Partner Balise installations that referrals go to and come from.",
                          no_args_is_help=True)
exchange_app.add_typer(partner_app, name="partner")


def _partner_line(p) -> str:  # type: ignore[no-untyped-def]
    sharing = "content may be shared" if p.share_content else "no content shared"
    return f"{p.name}: {p.country}, {p.base_url}, key {p.key_id}, {sharing}"


@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="a name for the partner installation")],
    country: Annotated[str, typer.Option(help="its country, ISO 3166-1 alpha-2 (URLs hosted there go to it)")],
    url: Annotated[str, typer.Option(help="its base URL (https; http only to a loopback address)")],
    public_key_file: Annotated[Path, typer.Option(help="its signing key (PEM, GET /api/v1/exchange-key on it), "
                                                       "key id checked out of band")],
    share_content: Annotated[bool, typer.Option("--share-content/--no-share-content",
                                                help="whether the agreement lets content be shared")] = False,
) -> None:
    """Add a partner installation."""
    from balise.exchange.federation import FederationError

    pem = _read(public_key_file, "public key")
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            row = balise.federation_partners.add(session, CLI_ACTOR, name=name, country=country, base_url=url,
                                                 public_key_pem=pem, share_content=share_content)
            line = _partner_line(row)
    except FederationError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo(f"added {line}")


@partner_app.command("set")
def partner_set(
    name: Annotated[str, typer.Argument(help="the partner")],
    country: Annotated[str | None, typer.Option(help="its country, ISO 3166-1 alpha-2")] = None,
    url: Annotated[str | None, typer.Option(help="its base URL")] = None,
    public_key_file: Annotated[Path | None, typer.Option(help="its new signing key (PEM)")] = None,
    share_content: Annotated[bool | None, typer.Option("--share-content/--no-share-content")] = None,
) -> None:
    """Change a partner installation's country, URL, key or content sharing."""
    from balise.exchange.federation import FederationError

    pem = _read(public_key_file, "public key") if public_key_file else None
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            row = balise.federation_partners.set(session, CLI_ACTOR, name, country=country, base_url=url,
                                                 public_key_pem=pem, share_content=share_content)
            line = _partner_line(row)
    except FederationError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo(f"changed {line}")


@partner_app.command("remove")
def partner_remove(name: Annotated[str, typer.Argument(help="the partner")]) -> None:
    """Remove a partner installation (refused while referrals to it are open)."""
    from balise.exchange.federation import FederationError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.federation_partners.remove(session, CLI_ACTOR, name)
    except FederationError as exc:
        fail(f"nothing changed: {exc}", 2)
    typer.echo(f"removed {name}")


@partner_app.command("list")
def partner_list() -> None:
    """The partner installations."""
    balise = load_balise()
    with balise.db.sessions() as session:
        rows = balise.federation_partners.list(session)
        if not rows:
            typer.echo("no partner installations")
        for row in rows:
            typer.echo(_partner_line(row))
