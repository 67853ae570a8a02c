"""`balise` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from balise.container import Balise
from balise.domain.audit import AuditEvent
from balise.domain.model import OrgKind, Role, Scope
from balise.services.actors import Actor
from balise.settings import Settings, UnsafeConfiguration

app = typer.Typer(help="Balise: reports, detection, triage and takedown for CSAM hotlines and centres.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations and their API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(audit_app, name="audit")

CLI_ACTOR = Actor.system("cli")


def _balise() -> Balise:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError or an unreadable secret file
        typer.echo(f"error: invalid configuration: {exc}", err=True)
        raise typer.Exit(2) from exc
    return Balise(settings)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Serve the API and the staff web interface."""
    import uvicorn

    from balise.adapters.db.migrate import is_current
    from balise.web.app import create_app

    balise = _balise()
    try:
        asgi = create_app(balise)
    except UnsafeConfiguration as exc:
        _fail(str(exc), 2)
    if not is_current(balise.db.engine):
        _fail("the database schema is not current: run `balise db upgrade` first", 2)
    host = host or balise.settings.host
    port = port or balise.settings.port
    typer.echo(f"Balise serving on http://{host}:{port} (env={balise.settings.env}, "
               f"database={balise.db.engine.url.render_as_string(hide_password=True)})")
    uvicorn.run(asgi, host=host, port=port, log_level="info", proxy_headers=False)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (SQLite or PostgreSQL, the same ones)."""
    from balise.adapters.db.migrate import upgrade

    balise = _balise()
    upgrade(balise.settings.sqlalchemy_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and whether it is the newest."""
    from balise.adapters.db.migrate import current_revision, head_revision

    balise = _balise()
    current = current_revision(balise.db.engine)
    head = head_revision(balise.settings.sqlalchemy_url)
    typer.echo(f"current={current} head={head}")
    if current != head:
        raise typer.Exit(1)


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[Role, typer.Option(help="admin, analyst, senior-analyst, le-liaison or auditor")],
    display_name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
) -> None:
    """Create a staff account; prints its TOTP secret once, for an authenticator app."""
    from balise.services.users import UserError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    balise = _balise()
    try:
        with balise.db.transaction() as session:
            new = balise.users.create(session, CLI_ACTOR, username=username, password=password, role=role,
                                      display_name=display_name, email=email)
    except UserError as exc:
        _fail(str(exc))
    typer.echo(f"created {username} ({role.value})")
    typer.echo(f"TOTP secret (shown once): {new.totp_secret}")
    typer.echo(f"TOTP URI: {new.provisioning_uri}")


@user_app.command("totp-code")
def user_totp_code(username: str) -> None:
    """Print a user's current TOTP code. Development only (for demos and tests)."""
    balise = _balise()
    if not balise.settings.is_development:
        _fail("totp-code is available only with BALISE_ENV=development", 2)
    with balise.db.sessions() as session:
        user = balise.users.get(session, username)
        if user is None:
            _fail(f"no user {username!r}")
        typer.echo(balise.users.current_totp(user))


@org_app.command("create")
def org_create(
    name: str,
    kind: Annotated[OrgKind, typer.Option(help="provider, hotline, law_enforcement or centre")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2")] = None,
    contact_email: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[list[Scope] | None, typer.Option(help="API key scope (repeat); default reports:write and reports:read")] = None,
    no_key: Annotated[bool, typer.Option(help="create no API key")] = False,
) -> None:
    """Register an organisation and print its API key (shown once)."""
    from balise.services.organisations import OrganisationError

    balise = _balise()
    try:
        with balise.db.transaction() as session:
            org = balise.organisations.create(session, CLI_ACTOR, name=name, kind=kind, country=country,
                                              contact_email=contact_email)
            key = None if no_key else balise.organisations.issue_key(
                session, CLI_ACTOR, org, scope or [Scope.REPORTS_WRITE, Scope.REPORTS_READ])
    except OrganisationError as exc:
        _fail(str(exc))
    typer.echo(f"organisation {org.id} ({kind.value})")
    if key:
        typer.echo(f"API key (shown once, scopes {' '.join(key.scopes)}): {key.plaintext}")


@org_app.command("issue-key")
def org_issue_key(
    name: str,
    scope: Annotated[list[Scope], typer.Option(help="API key scope (repeat)")],
    label: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Issue another API key for an organisation."""
    balise = _balise()
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, name)
        if org is None:
            _fail(f"no organisation named {name!r}")
        key = balise.organisations.issue_key(session, CLI_ACTOR, org, scope, label)
    typer.echo(f"API key (shown once, scopes {' '.join(key.scopes)}): {key.plaintext}")


@org_app.command("revoke-key")
def org_revoke_key(prefix: Annotated[str, typer.Argument(help="the 12 hex characters after bal_")]) -> None:
    """Revoke an API key; it stops working at once."""
    from balise.services.organisations import OrganisationError

    balise = _balise()
    try:
        with balise.db.transaction() as session:
            balise.organisations.revoke_key(session, CLI_ACTOR, prefix)
    except OrganisationError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {prefix}")


@app.command()
def demo(
    if_new: Annotated[bool, typer.Option(help="only when the database has no organisation yet")] = False,
    reports: Annotated[int, typer.Option(min=0, max=500)] = 6,
) -> None:
    """Seed DEMO organisations, staff and reports with generated benign images."""
    from balise import demo as demo_mod

    balise = _balise()
    if not balise.settings.is_development:
        _fail("demo data is for BALISE_ENV=development only (it has known passwords)", 2)
    if demo_mod.has_data(balise):
        if if_new:
            typer.echo("database already has data; no demo seeded. Demo sign-in, if seeded earlier:")
            _print_login(balise)
            return
        _fail("the database already has data; demo seeds only an empty database")
    result = demo_mod.seed(balise, reports)
    creds = balise.settings.data_dir / "demo-credentials.txt"
    creds.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"DEMO provider API key: {result.api_key}", f"DEMO staff password: {demo_mod.DEMO_PASSWORD}"]
    lines += [f"DEMO user {u} ({r}) TOTP secret: {s}" for u, r, s in result.users]
    creds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    creds.chmod(0o600)
    typer.echo(f"seeded DEMO data: {len(result.users)} staff, {result.reports} reports")
    typer.echo("\n".join(lines))
    _print_login(balise)


def _print_login(balise: Balise) -> None:
    from balise import demo as demo_mod

    typer.echo(
        "\nSign in at http://127.0.0.1:8000/ui/login as demo-analyst (or demo-admin, demo-auditor)\n"
        f"  password: {demo_mod.DEMO_PASSWORD}\n"
        "  code:     .venv/bin/balise user totp-code demo-analyst   (or the TOTP secret in an authenticator app)\n"
        f"  credentials kept in {balise.settings.data_dir / 'demo-credentials.txt'}"
    )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole chain; exit 1 naming the first broken event."""
    balise = _balise()
    with balise.db.transaction() as session:
        result = balise.audit.verify(session)
    if not result.ok:
        typer.echo(f"BROKEN at event {result.first_broken_seq}: {result.reason} ({result.checked} events verified before it)")
        raise typer.Exit(1)
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.AUDIT_VERIFY, CLI_ACTOR, "audit", "trail",
                            "integrity check", {"checked": result.checked})
    typer.echo(f"OK: {result.checked} events, chain intact")


@audit_app.command("events")
def audit_events(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the audit event vocabulary."""
    if as_json:
        typer.echo(json.dumps([e.value for e in AuditEvent]))
        return
    for event in AuditEvent:
        typer.echo(event.value)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":
    app()
