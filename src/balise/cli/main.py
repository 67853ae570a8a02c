"""`balise` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from balise.cli.common import CLI_ACTOR, check_routing_configuration, configure_logs, fail, load_balise
from balise.domain.audit import AuditEvent
from balise.domain.model import OrgKind, Role, Scope

if TYPE_CHECKING:
    from balise.container import Balise

# Typer builds every command on each run, so this module and the sub-command modules import at
# the top only the standard library, typer, balise.domain and the CLI's actor: the container,
# the database, the settings and the media libraries are imported inside the commands that use
# them, and `balise --help` does not pay for them (tests/test_cli_starts_without_heavy_imports.py).

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
indicators_app = typer.Typer(help="The indicator database (CSAR Art. 44).", no_args_is_help=True)
app.add_typer(indicators_app, name="indicators")

@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="API processes on this port, sharing the host's PDQ snapshot "
                                 "(default: BALISE_SERVE_WORKERS, else one per core)")] = None,
) -> None:
    """Serve the API and the staff web interface."""
    import os

    import uvicorn

    from balise.adapters.db.migrate import is_current
    from balise.settings import UnsafeConfiguration
    from balise.web.app import create_app, settle_heap
    from balise.web.protocol import NoDelayH11Protocol, NoDelayHttpToolsProtocol

    balise = load_balise()
    configure_logs(balise)
    try:
        asgi = create_app(balise)
        balise.settings.check_processes(workers or balise.settings.serve_workers or os.cpu_count() or 1)
    except UnsafeConfiguration as exc:
        fail(str(exc), 2)
    if not is_current(balise.db.engine):
        fail("the database schema is not current: run `balise db upgrade` first", 2)
    check_routing_configuration(balise)
    # Load (mmap) or build the PDQ index now rather than on the first match query, and leave
    # a snapshot that the next process on this host can open without a rebuild.
    if balise.pdq_index.snapshot_missing():
        balise.pdq_index.save_snapshot()
    else:
        balise.pdq_index.refresh(force=True)
    host = host or balise.settings.host
    port = port or balise.settings.port
    worker = None
    if balise.settings.run_jobs_in_server:
        from balise.jobs.queue import BackgroundWorker

        balise.periodic.ensure()
        worker = BackgroundWorker(balise.jobs, balise.job_handlers())
        worker.start()
    listen = f"[{host}]" if ":" in host and not host.startswith("[") else host
    processes = workers or balise.settings.serve_workers or os.cpu_count() or 1
    typer.echo(f"Balise serving on http://{listen}:{port} (env={balise.settings.env}, "
               f"database={balise.db.engine.url.render_as_string(hide_password=True)}, "
               f"{processes} API process{'es' if processes > 1 else ''})")
    try:
        # No access log by default: it would write every client address (including anonymous
        # reporters') to the process output. BALISE_ACCESS_LOG=true turns it on.
        # log_config=None: uvicorn's lines go through the handler of BALISE_LOG_FORMAT.
        # X-Forwarded-For is believed only from the proxies named in BALISE_FORWARDED_ALLOW_IPS.
        proxies = balise.settings.forwarded_allow_ips.strip()
        options = {"host": host, "port": port, "log_level": "info", "proxy_headers": bool(proxies),
                   "forwarded_allow_ips": proxies or None, "access_log": balise.settings.access_log,
                   "log_config": None}
        if balise.settings.http_parser == "httptools":
            options.update(http=NoDelayHttpToolsProtocol, loop="uvloop")
        else:
            options.update(http=NoDelayH11Protocol, loop="asyncio")
        if processes == 1:
            balise.pdq_index.keep_fresh()
            settle_heap()
            uvicorn.run(asgi, **options)  # type: ignore[arg-type]
        else:
            # Each process builds its own container from the same environment and opens the
            # snapshot written above (mmap: one copy of the index in memory for all of them);
            # uvicorn restarts a process that dies. The jobs thread, if any, stays here.
            # A process importing and opening its index answers uvicorn's pings late on a busy
            # host: a minute before it is taken for hung (its default, 5 s, killed starters).
            uvicorn.run("balise.web.app:app_from_environment", factory=True, workers=processes,
                        timeout_worker_healthcheck=60, **options)  # type: ignore[arg-type]
    finally:
        if worker is not None:
            worker.stop()
        if "match_log" in balise.__dict__:
            balise.match_log.close()


@app.command()
def worker(poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 0.5,
           workers: Annotated[int, typer.Option("--workers", min=1, help="job processes to run")] = 1) -> None:
    """Run background jobs (triage, …) until interrupted. Production runs one or more of these
    beside the API processes (and sets BALISE_RUN_JOBS_IN_SERVER=false). With --workers N, N
    processes claim jobs from the same queue (claims are atomic); one that dies is started again."""
    import signal

    if workers > 1:
        _worker_processes(poll, workers)
        return

    from balise.jobs.queue import BackgroundWorker
    from balise.settings import UnsafeConfiguration

    balise = load_balise()
    configure_logs(balise)
    try:
        balise.settings.check_safe()
    except UnsafeConfiguration as exc:
        fail(str(exc), 2)
    check_routing_configuration(balise)
    balise.periodic.ensure()
    runner = BackgroundWorker(balise.jobs, balise.job_handlers(), poll_seconds=poll)
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.start()
    typer.echo("worker running; Ctrl-C to stop")
    while not stop["now"] and runner.is_alive():
        runner.join(0.5)
    runner.stop()


def _worker_processes(poll: float, count: int) -> None:
    import multiprocessing
    import signal

    load_balise().settings.check_safe()  # refuse a bad configuration once, before starting any
    context = multiprocessing.get_context("spawn")
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker_process, args=(poll,), daemon=False)
        process.start()
        return process

    processes = [start() for _ in range(count)]
    typer.echo(f"{count} worker processes running; Ctrl-C to stop")
    while not stop["now"]:
        for i, process in enumerate(processes):
            process.join(0.5 / count)
            if not process.is_alive() and not stop["now"]:
                typer.echo(f"worker process {process.pid} ended (exit code {process.exitcode}); starting another",
                           err=True)
                processes[i] = start()
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join()


def _worker_process(poll: float) -> None:
    """One job process of `balise worker --workers N` (its own container, same environment)."""
    worker(poll=poll, workers=1)


jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


JOB_STATES = ("pending", "running", "done", "failed")


@jobs_app.command("list")
def jobs_list(status: Annotated[str | None, typer.Option(help="pending, running, done or failed")] = None,
              limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """The newest jobs with their state, attempts and last error."""
    if status is not None and status not in JOB_STATES:
        fail(f"--status must be one of {', '.join(JOB_STATES)}, not {status!r}", 2)
    balise = load_balise()
    for job in balise.jobs.list(status, limit):
        error = (job.last_error or "").strip().splitlines()[-1:] or [""]
        typer.echo(f"{job.id:>8} {job.kind:<20} {job.status:<8} attempts={job.attempts}/{job.max_attempts} "
                   f"run_at={job.run_at:%Y-%m-%d %H:%M:%S} {error[0][:120]}")


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Put a failed job back in the queue (a failed notice's job: the notice is sent again)."""
    balise = load_balise()
    if not balise.retry_job(job_id, CLI_ACTOR):
        fail(f"job {job_id} does not exist, is not failed or pending, or another job with its key is pending")
    typer.echo(f"job {job_id} queued again")


@jobs_app.command("run")
def jobs_run() -> None:
    """Run every ready job now, then exit."""
    balise = load_balise()
    configure_logs(balise)
    typer.echo(f"ran {balise.run_jobs()} job(s)")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (SQLite or PostgreSQL, the same ones)."""
    from balise.adapters.db.migrate import upgrade

    balise = load_balise()
    upgrade(balise.settings.sqlalchemy_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and whether it is the newest."""
    from balise.adapters.db.migrate import current_revision, head_revision

    balise = load_balise()
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
    from balise.accounts.users import UserError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            new = balise.users.create(session, CLI_ACTOR, username=username, password=password, role=role,
                                      display_name=display_name, email=email)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"created {username} ({role.value})")
    typer.echo(f"TOTP secret (shown once): {new.totp_secret}")
    typer.echo(f"TOTP URI: {new.provisioning_uri}")


@user_app.command("totp-code")
def user_totp_code(username: str) -> None:
    """Print a user's current TOTP code. Development only (for demos and tests)."""
    balise = load_balise()
    if not balise.settings.is_development:
        fail("totp-code is available only with BALISE_ENV=development", 2)
    with balise.db.sessions() as session:
        user = balise.users.get(session, username)
        if user is None:
            fail(f"no user {username!r}")
        typer.echo(balise.users.current_totp(user))


Reason = Annotated[str, typer.Option(help="why (kept in the audit trail); required")]


@user_app.command("list")
def user_list(format: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List staff accounts: username, role, active, TOTP enrolled, last sign-in."""
    if format not in ("table", "json"):
        fail(f"unknown format {format!r}; use table or json", 2)
    balise = load_balise()
    with balise.db.sessions() as session:
        rows = [{"username": u.username, "role": u.role, "active": bool(u.active),
                 "totp_enrolled": bool(u.totp_secret_enc),
                 "last_sign_in": u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else None}
                for u in balise.users.list_all(session)]
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [("USERNAME", "ROLE", "ACTIVE", "2FA", "LAST SIGN-IN")] + [
        (r["username"], r["role"], "yes" if r["active"] else "disabled", "TOTP" if r["totp_enrolled"] else "none",
         r["last_sign_in"] or "never") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _user_change(action: str, username: str, reason: str, **kwargs) -> object:  # type: ignore[no-untyped-def]
    from balise.accounts.users import UserError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            return getattr(balise.users, action)(session, CLI_ACTOR, username, reason=reason, **kwargs)
    except UserError as exc:
        fail(str(exc))


@user_app.command("disable")
def user_disable(username: str, reason: Reason) -> None:
    """Disable an account: its sessions end at their next request and it cannot sign in."""
    _user_change("disable", username, reason)
    typer.echo(f"disabled {username}")


@user_app.command("enable")
def user_enable(username: str, reason: Reason) -> None:
    """Enable a disabled account again."""
    _user_change("enable", username, reason)
    typer.echo(f"enabled {username}")


@user_app.command("set-role")
def user_set_role(
    username: str,
    role: Annotated[Role, typer.Argument(help="admin, analyst, senior-analyst, le-liaison or auditor")],
    reason: Reason,
) -> None:
    """Change an account's role; it applies from the account's next request."""
    _user_change("set_role", username, reason, role=role)
    typer.echo(f"{username} is now {role.value}")


@user_app.command("reset-2fa")
def user_reset_2fa(username: str, reason: Reason) -> None:
    """Replace an account's TOTP secret and print the new one once; the old one stops working."""
    new = _user_change("reset_totp", username, reason)
    typer.echo(f"TOTP secret of {username} replaced")
    typer.echo(f"TOTP secret (shown once): {new.totp_secret}")  # type: ignore[attr-defined]
    typer.echo(f"TOTP URI: {new.provisioning_uri}")  # type: ignore[attr-defined]


@user_app.command("keys")
def user_keys(username: str, format: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List an account's security keys (WebAuthn): id, name, added, last used."""
    if format not in ("table", "json"):
        fail(f"unknown format {format!r}; use table or json", 2)
    balise = load_balise()
    with balise.db.sessions() as session:
        user = balise.users.get(session, username)
        if user is None:
            fail(f"no user {username!r}")
        rows = [{"id": str(k.id), "name": k.name, "added": k.created_at.isoformat(timespec="seconds"),
                 "last_used": k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else None}
                for k in balise.security_keys.active(session, user)]
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"{username} has no security key")
        return
    table = [("ID", "NAME", "ADDED", "LAST USED")] + [
        (r["id"], r["name"], r["added"], r["last_used"] or "never") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@user_app.command("remove-key")
def user_remove_key(username: str, key_id: str, reason: Reason) -> None:
    """Remove one of an account's security keys; its later use is refused as a revoked key."""
    from balise.accounts.security_keys import SecurityKeyError

    why = reason.strip()
    if not why:
        fail("a reason is required (--reason) and cannot be empty")
    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            user = balise.users.get(session, username)
            if user is None:
                fail(f"no user {username!r}")
            key = balise.security_keys.remove(session, CLI_ACTOR, user, key_id, why)
            name = key.name
    except SecurityKeyError as exc:
        fail(str(exc))
    typer.echo(f"removed security key {name!r} of {username}")


@org_app.command("list")
def org_list(format: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List organisations: name, kind, country, status, live API keys."""
    if format not in ("table", "json"):
        fail(f"unknown format {format!r}; use table or json", 2)
    balise = load_balise()
    with balise.db.sessions() as session:
        live = balise.organisations.live_key_counts(session)
        rows = [{"name": o.name, "kind": o.kind, "country": o.country,
                 "suspended_at": o.suspended_at.isoformat(timespec="seconds") if o.suspended_at else None,
                 "live_api_keys": live.get(o.id, 0)}
                for o in balise.organisations.list_all(session)]
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [("NAME", "KIND", "COUNTRY", "STATUS", "LIVE KEYS")] + [
        (r["name"], r["kind"], r["country"] or "-", f"suspended {r['suspended_at']}" if r["suspended_at"] else "active",
         str(r["live_api_keys"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _org_change(action: str, name: str, reason: str) -> None:
    from balise.accounts.organisations import OrganisationError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            getattr(balise.organisations, action)(session, CLI_ACTOR, name, reason)
    except OrganisationError as exc:
        fail(str(exc))


@org_app.command("suspend")
def org_suspend(name: str, reason: Reason) -> None:
    """Suspend an organisation: its API keys and /ispws credentials are refused (403) at once."""
    _org_change("suspend", name, reason)
    typer.echo(f"suspended {name}")


@org_app.command("reinstate")
def org_reinstate(name: str, reason: Reason) -> None:
    """Reinstate a suspended organisation: its unrevoked credentials work again."""
    _org_change("reinstate", name, reason)
    typer.echo(f"reinstated {name}")


@org_app.command("create")
def org_create(
    name: str,
    kind: Annotated[OrgKind, typer.Option(help="provider, hotline, law_enforcement, centre or coordinating_authority")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2")] = None,
    contact_email: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[list[Scope] | None, typer.Option(help="API key scope (repeat); default reports:write and reports:read")] = None,
    no_key: Annotated[bool, typer.Option(help="create no API key")] = False,
    ispws: Annotated[bool, typer.Option("--ispws", help="also issue credentials for the NCMEC-compatible API (/ispws)")] = False,
) -> None:
    """Register an organisation and print its API key (shown once)."""
    from balise.accounts.organisations import OrganisationError

    balise = load_balise()
    credential = None
    try:
        with balise.db.transaction() as session:
            org = balise.organisations.create(session, CLI_ACTOR, name=name, kind=kind, country=country,
                                              contact_email=contact_email)
            key = None if no_key else balise.organisations.issue_key(
                session, CLI_ACTOR, org, scope or [Scope.REPORTS_WRITE, Scope.REPORTS_READ])
            if ispws:
                credential = balise.ispws.issue_credential(session, CLI_ACTOR, org)
    except OrganisationError as exc:
        fail(str(exc))
    typer.echo(f"organisation {org.id} ({kind.value})")
    if key:
        typer.echo(f"API key (shown once, scopes {' '.join(key.scopes)}): {key.plaintext}")
    if credential:
        _print_ispws(credential)


def _print_ispws(credential) -> None:  # type: ignore[no-untyped-def]
    typer.echo(f"NCMEC-compatible API (/ispws) user name: {credential.username}")
    typer.echo(f"NCMEC-compatible API (/ispws) password (shown once): {credential.password}")


@org_app.command("issue-ispws")
def org_issue_ispws(name: str) -> None:
    """Issue HTTP Basic credentials for the NCMEC-compatible API to a provider (password shown once)."""
    from balise.accounts.organisations import OrganisationError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            org = balise.organisations.get_by_name(session, name)
            if org is None:
                raise OrganisationError(f"no organisation named {name!r}")
            credential = balise.ispws.issue_credential(session, CLI_ACTOR, org)
    except OrganisationError as exc:
        fail(str(exc))
    _print_ispws(credential)


@org_app.command("revoke-ispws")
def org_revoke_ispws(username: Annotated[str, typer.Argument(help="the user name, ispws-…")]) -> None:
    """Revoke NCMEC-compatible API credentials; they stop working at once."""
    from balise.accounts.organisations import OrganisationError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.ispws.revoke_credential(session, CLI_ACTOR, username)
    except OrganisationError as exc:
        fail(str(exc))
    typer.echo(f"revoked {username}")


@org_app.command("issue-key")
def org_issue_key(
    name: str,
    scope: Annotated[list[Scope], typer.Option(help="API key scope (repeat)")],
    label: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Issue another API key for an organisation."""
    balise = load_balise()
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, name)
        if org is None:
            fail(f"no organisation named {name!r}")
        key = balise.organisations.issue_key(session, CLI_ACTOR, org, scope, label)
    typer.echo(f"API key (shown once, scopes {' '.join(key.scopes)}): {key.plaintext}")


@org_app.command("revoke-key")
def org_revoke_key(prefix: Annotated[str, typer.Argument(help="the 12 hex characters after bal_")]) -> None:
    """Revoke an API key; it stops working at once."""
    from balise.accounts.organisations import OrganisationError

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.organisations.revoke_key(session, CLI_ACTOR, prefix)
    except OrganisationError as exc:
        fail(str(exc))
    typer.echo(f"revoked {prefix}")


@app.command()
def demo(
    if_new: Annotated[bool, typer.Option(help="only when the database has no organisation yet")] = False,
    reports: Annotated[int, typer.Option(min=0, max=500)] = 6,
    statistics: Annotated[int, typer.Option(min=0, max=2000, help="DEMO reports of hashes only, assessed and "
                                            "decided, so that the transparency report has figures (make run: 80)")] = 0,
) -> None:
    """Seed DEMO organisations, staff and reports with generated benign images, and hash-only
    DEMO reports already decided for the transparency report (/transparency)."""
    from balise import demo as demo_mod

    balise = load_balise()
    if not balise.settings.is_development:
        fail("demo data is for BALISE_ENV=development only (it has known passwords)", 2)
    if demo_mod.has_data(balise):
        if if_new:
            typer.echo("database already has data; no demo seeded. Demo sign-in, if seeded earlier:")
            _print_login(balise)
            return
        fail("the database already has data; demo seeds only an empty database")
    result = demo_mod.seed(balise, reports)
    if statistics:
        demo_mod.seed_statistics(balise, statistics)
    creds = balise.settings.data_dir / "demo-credentials.txt"
    creds.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"DEMO provider API key: {result.api_key}", f"DEMO staff password: {demo_mod.DEMO_PASSWORD}"]
    if result.ispws:
        lines.append(f"DEMO provider NCMEC-compatible API (/ispws) Basic credentials: {result.ispws[0]}:{result.ispws[1]}")
    if result.exchange_key:
        lines.append(f"DEMO HMA platform API key (exchange list known_indicators): {result.exchange_key}")
    if result.authority_key:
        lines.append(f"DEMO coordinating authority API key (victims' requests): {result.authority_key}")
    lines += [f"DEMO user {u} ({r}) TOTP secret: {s}" for u, r, s in result.users]
    creds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    creds.chmod(0o600)
    typer.echo(f"seeded DEMO data: {len(result.users)} staff, {result.reports} reports"
               + (f", {statistics} decided reports for the transparency report" if statistics else ""))
    typer.echo("\n".join(lines))
    _print_login(balise)


def _browser_address(host: str, port: int) -> tuple[str, str | None]:
    """Where a browser on this machine reaches `balise serve` run with the same settings, and
    a note when that is not the address it listens on."""
    note = None
    if host in ("0.0.0.0", "::"):
        note = f"the server listens on every address (BALISE_HOST={host}); this is its loopback one"
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal in a URL (RFC 3986)
    return f"http://{host}:{port}", note


def _print_login(balise: Balise) -> None:
    from balise import demo as demo_mod

    base, note = _browser_address(balise.settings.host, balise.settings.port)
    typer.echo(
        f"\nSign in at {base}/ui/login as demo-analyst (or demo-admin, demo-auditor)\n"
        + (f"  address:  {note}\n" if note else "")
        + f"  password: {demo_mod.DEMO_PASSWORD}\n"
        "  code:     .venv/bin/balise user totp-code demo-analyst   (or the TOTP secret in an authenticator app)\n"
        f"  credentials kept in {balise.settings.data_dir / 'demo-credentials.txt'}"
    )


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[Path | None, typer.Option(
        help="a directory of checkpoints to hold the database against (truncated, rewritten, rolled back)")] = None,
    public_key: Annotated[Path | None, typer.Option(
        help="PEM file of the checkpoint public key(s); default: the public half of BALISE_CHECKPOINT_KEY_FILE")] = None,
) -> None:
    """Check the audit chain and the match access log; exit 1 naming the first broken event,
    batch or checkpoint."""
    balise = load_balise()
    keys = _checkpoint_public_keys(balise, public_key) if checkpoints is not None else []
    if checkpoints is not None and not checkpoints.is_dir():
        fail(f"{checkpoints} is not a directory", 2)
    with balise.db.transaction() as session:
        result = balise.audit.verify(session)
        access = balise.match_log.verify(session)
    if not result.ok:
        typer.echo(f"BROKEN at event {result.first_broken_seq}: {result.reason} ({result.checked} events verified before it)")
        raise typer.Exit(1)
    if not access.ok:
        typer.echo(f"BROKEN at access log batch {access.first_broken_seq}: {access.reason} "
                   f"({access.checked} batches verified before it)")
        raise typer.Exit(1)
    details: dict[str, object] = {"checked": result.checked, "access_log_batches": access.checked}
    if checkpoints is not None:
        from balise.governance.checkpoints import verify_checkpoints

        with balise.db.sessions() as session:
            report = verify_checkpoints(session, checkpoints, keys)
        if not report.ok:
            for problem in report.problems:
                typer.echo(f"BROKEN: {problem}")
            raise typer.Exit(1)
        details.update(checkpoints=report.checked, latest_checkpoint=report.latest)
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.AUDIT_VERIFY, CLI_ACTOR, "audit", "trail",
                            "integrity check", details)
    typer.echo(f"OK: {result.checked} events, chain intact; {access.checked} access log batches, chain intact")
    if checkpoints is not None:
        typer.echo(f"OK: {report.checked} checkpoints ({report.timestamped} timestamped) agree with the database; "
                   f"latest {report.latest}")


def _checkpoint_public_keys(balise: Balise, path: Path | None) -> list:  # type: ignore[type-arg]
    from balise.evidence.adapters.signing import SigningKeyError, load_public_keys
    from balise.settings import UnsafeConfiguration

    if path is not None:
        try:
            return load_public_keys(path.read_bytes(), str(path))
        except OSError as exc:
            fail(f"{path} cannot be read: {exc.strerror}", 2)
        except SigningKeyError as exc:
            fail(str(exc), 2)
    try:
        return [balise.checkpoint_signer.public_key]
    except UnsafeConfiguration as exc:
        fail(f"{exc} (or give the public key with --public-key)", 2)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the audit trail and the match access log now (to
    BALISE_CHECKPOINT_DIR, timestamped and delivered when those are configured)."""
    from balise.settings import UnsafeConfiguration

    balise = load_balise()
    if balise.settings.checkpoint_dir is None:
        fail("BALISE_CHECKPOINT_DIR is not set: say where checkpoints are written", 2)
    try:
        written = balise.checkpoints.write(CLI_ACTOR)
    except UnsafeConfiguration as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"the checkpoint could not be written in {balise.settings.checkpoint_dir}: {exc.strerror}", 2)
    cp = written.checkpoint
    typer.echo(f"checkpoint {written.path}: audit event {cp.audit.seq}, access log batch {cp.access_log.seq}, "
               f"key {cp.key_id}, " + ("timestamped" if written.timestamped else "not timestamped")
               + ({True: ", delivered to the partner", False: ", NOT delivered", None: ""}[written.delivered]))
    for problem in written.problems:
        typer.echo(f"warning: {problem}", err=True)


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoint public key (PEM) and its id, for whoever verifies the checkpoints."""
    from balise.settings import UnsafeConfiguration

    balise = load_balise()
    try:
        signer = balise.checkpoint_signer
    except UnsafeConfiguration as exc:
        fail(str(exc), 2)
    typer.echo(f"# key id {signer.key_id}")
    typer.echo(signer.public_pem.rstrip())


@app.command()
def backup(
    out: Annotated[Path, typer.Option("--out", help="a new or empty directory to write the backup into")],
    include_secrets: Annotated[bool, typer.Option(help="also copy the evidence package signing key file")] = False,
) -> None:
    """Back up the database and the vault, packages, exports and outbox, with a manifest of
    SHA-256 digests. The keys (BALISE_SECRET_KEY, BALISE_VAULT_KEY) are never written: keep them
    apart, a restore needs the same ones."""
    from balise.governance.backup import BackupError, create_backup

    balise = load_balise()
    configure_logs(balise)
    try:
        summary = create_backup(balise.settings, balise.db.engine, balise.audit, balise.db.sessions, CLI_ACTOR,
                                out, include_secrets=include_secrets, now=balise.clock())
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"backup written to {summary.directory}: {summary.database} database at revision "
               f"{summary.schema_revision}, {summary.files} files, {summary.bytes} bytes; "
               f"checked by {summary.directory / 'manifest.json'}")


@app.command()
def restore(
    source: Annotated[Path, typer.Option("--from", help="a directory written by `balise backup`")],
    force: Annotated[bool, typer.Option(help="replace a database or directories that hold data")] = False,
) -> None:
    """Check a backup (every file against its manifest, the keys it was made with), then put it
    in place of the configured database and directories. Nothing changes if a check fails."""
    from balise.governance.backup import BackupError, restore_backup, schema_note

    balise = load_balise()
    configure_logs(balise)
    try:
        manifest = restore_backup(balise.settings, balise.db.engine, source, force=force)
    except BackupError as exc:
        fail(str(exc))
    with balise.db.transaction() as session:
        balise.audit.record(session, AuditEvent.BACKUP_RESTORE, CLI_ACTOR, "backup", manifest["created_at"][:64],
                            "restore", {"created_at": manifest["created_at"],
                                        "schema_revision": manifest["schema_revision"], "force": force})
    typer.echo(f"restored the backup of {manifest['created_at']} ({len(manifest['files'])} files)")
    note = schema_note(balise.settings, balise.db.engine)
    if note:
        typer.echo(note)
    typer.echo("next: `balise audit verify`")


@audit_app.command("events")
def audit_events(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the audit event vocabulary."""
    if as_json:
        typer.echo(json.dumps([e.value for e in AuditEvent]))
        return
    for event in AuditEvent:
        typer.echo(event.value)


@app.command("hash")
def hash_cmd(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (walked recursively)")],
    dihedral: Annotated[bool, typer.Option(help="also print the 8 dihedral PDQ hashes of images")] = False,
    timeout: Annotated[float, typer.Option(help="seconds allowed per file")] = 60.0,
) -> None:
    """Print one JSON object per file: size, MD5, SHA-1, SHA-256, and PDQ (images) or vPDQ
    frames (videos), or an error with its reason. Exit 1 if any file failed."""
    from balise.detection.adapters.media_hash import hash_file_isolated, iter_paths

    failed = False
    for path in iter_paths(paths):
        result = hash_file_isolated(path, timeout_s=timeout, dihedral=dihedral)
        failed |= result.get("status") == "error"
        typer.echo(json.dumps(result, ensure_ascii=False))
    if failed:
        raise typer.Exit(1)


_AUTHORITY_HELP = "the coordinating authority whose decision confirmed the material (organisation name)"
_COURT_HELP = "or the court whose decision confirmed it (no organisation needed)"
_REFERENCE_HELP = "the decision's reference (required)"


def _decision(authority: str | None, court: str | None, reference: str | None, kind: Any) -> Any:
    """An indicator comes only from material an authority or a court confirmed (CSAR Art. 36,
    44): name exactly one, and the decision's reference; checked before anything is opened."""
    from balise.domain.submissions import InvalidSubmission, check_decision

    if authority is None and court is None:
        fail("an indicator needs an authority's confirmation (CSAR Art. 36): name the coordinating authority "
             "with --authority ORG, or the court with --court NAME, and the decision with --reference REF; "
             "nothing stored", 2)
    if authority is not None and court is not None:
        fail("name either --authority or --court, not both; nothing stored", 2)
    if reference is None:
        fail("--reference is required: the reference of the authority's or court's decision; nothing stored", 2)
    try:
        return check_decision(reference=reference, authority=court or authority,
                              process="court_decision" if court else "authority_confirmation", kind=kind)
    except InvalidSubmission as exc:
        fail(f"--{exc.field}: {exc.message}; nothing stored", 2)


def _authority_id(session: Any, authority: str | None) -> Any:
    """The organisation named by --authority (the Submissions service checks its kind)."""
    if authority is None:
        return None
    from sqlalchemy import select

    from balise.adapters.db.models import Organisation
    from balise.detection.submissions import NotAnAuthority

    org_id = session.execute(select(Organisation.id).where(Organisation.name == authority)).scalar()
    if org_id is None:
        raise NotAnAuthority(f"--authority: no organisation named {authority!r} is known to Balise; nothing stored")
    return org_id


def _not_an_authority(authority: str | None, exc: Exception) -> str:
    text = str(exc)
    return text if text.startswith("--authority") else f"--authority {authority!r}: {text}; nothing stored"


@indicators_app.command("import")
def indicators_import(
    file: Annotated[Path, typer.Argument(help="the indicator file (gzip or a one-file zip too); - for stdin")],
    fmt: Annotated[str, typer.Option("--format", help="csv, te, vics, ncmec or stix")] = "csv",
    kind: Annotated[str, typer.Option(help="kind for lines that do not say: known_csam, new_csam, solicitation, url")] = "known_csam",
    source: Annotated[str | None, typer.Option(help="provenance name recorded on each indicator")] = None,
    strict: Annotated[bool, typer.Option(help="import nothing if any line is rejected")] = False,
    authority: Annotated[str | None, typer.Option(help=_AUTHORITY_HELP)] = None,
    court: Annotated[str | None, typer.Option(help=_COURT_HELP)] = None,
    reference: Annotated[str | None, typer.Option(help=_REFERENCE_HELP)] = None,
) -> None:
    """Import an indicator file, streamed, under an authority's (--authority) or a court's
    (--court) decision (--reference): one Article 36 submission that every indicator it creates
    or changes keeps. Bad entries are reported by line (or item) number and the rest is
    imported; a problem with the file as a whole (broken XML or JSON, bytes that are not UTF-8,
    a zip bomb) imports nothing. docs/exchange.md, docs/orders.md"""
    from balise.detection.formats import FORMATS
    from balise.detection.indicators import ImportAborted
    from balise.detection.submissions import NotAnAuthority
    from balise.domain.indicators import IndicatorKind
    from balise.domain.submissions import InvalidSubmission

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r} ({', '.join(FORMATS)})", 2)
    try:
        default_kind = IndicatorKind(kind)
    except ValueError:
        fail(f"unknown kind {kind!r}", 2)
    decision = _decision(authority, court, reference, default_kind)
    balise = load_balise()
    name = source or (file.name if str(file) != "-" else "stdin")
    report = None
    try:
        stream = sys.stdin.buffer if str(file) == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    try:
        with balise.db.transaction() as session:
            org_id = _authority_id(session, authority)
            submission, report = balise.submissions.import_stream(
                session, CLI_ACTOR, decision, stream, organisation_id=org_id, fmt=fmt, source=name,
                default_kind=default_kind)
            submission_id = submission.id
            if strict and report.rejected:
                raise ImportAborted(f"{report.rejected} {report.unit}(s) rejected and --strict given")
    except InvalidSubmission as exc:
        fail(f"{exc}; nothing stored", 2)
    except NotAnAuthority as exc:
        fail(_not_an_authority(authority, exc), 2)
    except ImportAborted as exc:
        for line, message in (report.errors if report else []):
            typer.echo(f"{report.unit if report else 'line'} {line}: {message}", err=True)
        fail(f"nothing imported: {exc}")
    finally:
        if str(file) != "-":
            stream.close()
    for line, message in report.errors:
        typer.echo(f"{report.unit} {line}: {message}", err=True)
    if report.rejected > len(report.errors):
        typer.echo(f"... and {report.rejected - len(report.errors)} more rejected", err=True)
    typer.echo(f"read {report.read}, imported {report.imported}, updated {report.updated}, "
               f"unchanged {report.unchanged}, rejected {report.rejected}; "
               f"versions {report.first_version}..{report.last_version}; Article 36 submission {submission_id}")
    if report.imported + report.updated >= balise.settings.index_snapshot_after_changes:
        # Once, at the end (issue 19 item 6): API processes open it rather than apply each change.
        path = balise.pdq_index.rebuild_snapshot()
        typer.echo(f"PDQ index snapshot rebuilt at version {balise.pdq_index.version}: {path}")


@indicators_app.command("export")
def indicators_export(
    fmt: Annotated[str, typer.Option("--format", help="csv, te, vics, ncmec or stix")] = "csv",
    since_version: Annotated[int, typer.Option(help="only changes after this version (delta sync)")] = 0,
    include_inactive: Annotated[bool, typer.Option("--all", help="also suspended and deleted indicators")] = False,
    vics_version: Annotated[str, typer.Option(help="VICS data model: 2.0 or 1.3")] = "2.0",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write (default stdout)")] = None,
) -> None:
    """Export indicators in version order, streamed. Indicators a format cannot hold (a URL in
    VICS, a deletion in VICS) are left out and counted on standard error."""
    from balise.detection.formats import ExportReport
    from balise.detection.indicators import ImportAborted

    balise = load_balise()
    report = ExportReport()
    try:
        with balise.db.transaction() as session:
            lines = balise.indicators.export(session, CLI_ACTOR, fmt=fmt, since_version=since_version,
                                             include_inactive=include_inactive, report=report,
                                             vics_version=vics_version)
            out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
            try:
                for line in lines:
                    out.write(line)
            finally:
                if output:
                    out.close()
    except ImportAborted as exc:
        fail(str(exc), 2)
    for reason, count in sorted(report.reasons.items()):
        typer.echo(f"left out {count}: {reason}", err=True)


@indicators_app.command("stats")
def indicators_stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Counts by kind, algorithm and status, and the current version."""
    balise = load_balise()
    with balise.db.sessions() as session:
        stats = balise.indicators.stats(session)
    if as_json:
        typer.echo(json.dumps(stats))
        return
    typer.echo(f"version {stats['version']}: {stats['total']} indicators, {stats['active']} active")
    for row in stats["by"]:
        typer.echo(f"  {row['kind']:<14} {row['algorithm']:<10} {row['status']:<10} {row['count']}")


@indicators_app.command("add")
def indicators_add(
    signal_type: Annotated[str, typer.Argument(help="md5, sha1, sha256, video_md5, pdq, photodna or url")],
    value: str,
    kind: Annotated[str, typer.Option()] = "known_csam",
    classification: Annotated[str | None, typer.Option(help='JSON, e.g. {"ncmec_category": "A1"}')] = None,
    authority: Annotated[str | None, typer.Option(help=_AUTHORITY_HELP)] = None,
    court: Annotated[str | None, typer.Option(help=_COURT_HELP)] = None,
    reference: Annotated[str | None, typer.Option(help=_REFERENCE_HELP)] = None,
) -> None:
    """Add one indicator (or re-confirm an existing one) under an authority's or a court's
    decision: an Article 36 submission of one hash."""
    from balise.detection.submissions import NotAnAuthority
    from balise.domain.indicators import IndicatorKind
    from balise.domain.submissions import InvalidSubmission, SubmissionChannel, check_submission

    try:
        indicator_kind = IndicatorKind(kind)
    except ValueError:
        fail(f"unknown kind {kind!r}", 2)
    _decision(authority, court, reference, indicator_kind)
    try:
        data = json.loads(classification) if classification else None
    except ValueError as exc:
        fail(f"--classification is not JSON: {exc}", 2)
    balise = load_balise()
    try:
        terms = check_submission(reference=reference, hashes=[{"algorithm": signal_type, "value": value}],
                                 authority=court or authority, kind=indicator_kind.value, classification=data,
                                 process="court_decision" if court else "authority_confirmation")
        with balise.db.transaction() as session:
            result = balise.submissions.submit(session, CLI_ACTOR, terms, channel=SubmissionChannel.CLI,
                                               organisation_id=_authority_id(session, authority))
            [(ind, outcome)] = result.indicators()
            line = f"indicator {ind.id} version {ind.version} ({outcome}); Article 36 submission {result.submission.id}"
    except InvalidSubmission as exc:
        fail(f"{exc.field.replace('hashes.0.', '')}: {exc.message}", 2)
    except NotAnAuthority as exc:
        fail(_not_an_authority(authority, exc), 2)
    typer.echo(line)


@indicators_app.command("add-video")
def indicators_add_video(
    source: Annotated[Path, typer.Argument(help="a video file to hash, or a vPDQ frames file (frame_number,quality,pdq,timestamp lines)")],
    kind: Annotated[str, typer.Option()] = "known_csam",
    classification: Annotated[str | None, typer.Option(help="JSON classification")] = None,
    authority: Annotated[str | None, typer.Option(help=_AUTHORITY_HELP)] = None,
    court: Annotated[str | None, typer.Option(help=_COURT_HELP)] = None,
    reference: Annotated[str | None, typer.Option(help=_REFERENCE_HELP)] = None,
) -> None:
    """Add a video indicator from its vPDQ hash, under an authority's or a court's decision."""
    from balise.detection.adapters.media_hash import hash_file_isolated
    from balise.detection.adapters.vpdq_match import parse_vpdq_lines
    from balise.detection.submissions import NotAnAuthority
    from balise.domain.indicators import IndicatorKind, InvalidIndicator
    from balise.domain.submissions import InvalidSubmission

    try:
        indicator_kind = IndicatorKind(kind)
    except ValueError:
        fail(f"unknown kind {kind!r}", 2)
    decision = _decision(authority, court, reference, indicator_kind)
    balise = load_balise()
    try:
        head = source.read_bytes()[:64]
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    try:
        if head[:1].isdigit():
            frames = [(f.frame_number, f.quality, f.pdq_hex, f.timestamp) for f in parse_vpdq_lines(source.read_text())]
        else:
            result = hash_file_isolated(source, timeout_s=600)
            if result.get("status") == "error" or not result.get("vpdq"):
                fail(f"{source} gave no vPDQ hash: {result.get('error') or 'not a video'}")
            frames = [(f["frame_number"], f["quality"], f["pdq"], f["timestamp"]) for f in result["vpdq"]]
        with balise.db.transaction() as session:
            submission, ind = balise.submissions.add_video(
                session, CLI_ACTOR, decision, organisation_id=_authority_id(session, authority), frames=frames,
                classification=json.loads(classification) if classification else None, source=source.name)
            line = (f"video indicator {ind.id} ({len(frames)} frames) version {ind.version}; "
                    f"Article 36 submission {submission.id}")
    except InvalidSubmission as exc:
        fail(f"{exc}; nothing stored", 2)
    except NotAnAuthority as exc:
        fail(_not_an_authority(authority, exc), 2)
    except (ValueError, InvalidIndicator) as exc:
        fail(str(exc))
    typer.echo(line)


@indicators_app.command("set-status")
def indicators_set_status(
    indicator_id: int,
    status: Annotated[str, typer.Argument(help="active, suspended or deleted")],
    reason: Annotated[str, typer.Option(help="why (recorded in the audit trail)")],
) -> None:
    """Suspend, delete or reactivate an indicator; matching sees the change within a second."""
    from balise.domain.indicators import IndicatorStatus, InvalidIndicator

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            ind = balise.indicators.set_status(session, CLI_ACTOR, indicator_id, IndicatorStatus(status), reason)
    except (ValueError, InvalidIndicator) as exc:
        fail(str(exc))
    typer.echo(f"indicator {ind.id} is {ind.status} (version {ind.version})")


@indicators_app.command("snapshot")
def indicators_snapshot() -> None:
    """Write the PDQ index snapshot that API processes open (mmap) at start."""
    balise = load_balise()
    path = balise.pdq_index.save_snapshot()
    typer.echo(f"PDQ index snapshot at version {balise.pdq_index.version}: {path} ({len(balise.pdq_index)} hashes)")


@app.command("match")
def match_cmd(
    signal_type: Annotated[str, typer.Argument(help="md5, sha1, sha256, video_md5 or pdq")],
    values: Annotated[list[str], typer.Argument(help="one or more hashes")],
    threshold: Annotated[int, typer.Option(min=0, max=31)] = 31,
) -> None:
    """Match hashes against the local indicator database; prints JSON lines. Exit 1 if none matched."""
    from balise.detection.matching import HashQuery

    balise = load_balise()
    outcomes = balise.matcher.match([HashQuery(signal_type, v) for v in values], threshold=threshold)
    from balise.domain.checkpoints import match_entry

    # One entry in the match access log, in a batch of its own (a CLI run has no writer thread).
    with balise.db.transaction() as session:
        balise.match_log.write_now(session, [match_entry(
            at=balise.clock(), actor_type=CLI_ACTOR.type.value, actor_id=CLI_ACTOR.id, organisation_id=None,
            key_id=None, grant_id=None, purpose="match from CLI", hash_types=[signal_type] * len(values), threshold=threshold,
            matched_hashes=sum(1 for o in outcomes if o.matches),
            indicator_ids=[m["indicator_id"] for o in outcomes for m in o.matches])])
    for value, outcome in zip(values, outcomes):
        typer.echo(json.dumps({"type": signal_type, "value": value, "status": outcome.status,
                               "matches": outcome.matches, **({"error": outcome.error} if outcome.error else {})}))
    if not any(o.matches for o in outcomes):
        raise typer.Exit(1)


from balise.cli.scan import scan  # noqa: E402 - registered beside the other commands

app.command("scan")(scan)

from balise.cli.package import package_app  # noqa: E402 - registered beside the other commands

app.add_typer(package_app, name="package")
from balise.cli.routing import hold_app, notice_app, partner_app, stats_app, takedown_app  # noqa: E402

app.add_typer(partner_app, name="partner")
app.add_typer(hold_app, name="hold")
app.add_typer(notice_app, name="notice")
app.add_typer(takedown_app, name="takedown")
app.add_typer(stats_app, name="stats")
from balise.cli.clocks import clocks_app  # noqa: E402

app.add_typer(clocks_app, name="clocks")
from balise.cli.retention import retention_app  # noqa: E402

app.add_typer(retention_app, name="retention")
from balise.cli.transparency import transparency_app  # noqa: E402

app.add_typer(transparency_app, name="transparency")
from balise.cli import error_rates as _error_rates  # noqa: E402, F401 - adds `balise stats errors` to stats_app
from balise.cli.grants import grant_app  # noqa: E402

app.add_typer(grant_app, name="grant")
from balise.cli.orders import orders_app  # noqa: E402

app.add_typer(orders_app, name="orders")
from balise.cli.submissions import indicators_history, submissions_app, urllist_app  # noqa: E402

app.add_typer(submissions_app, name="submissions")
app.add_typer(urllist_app, name="urllist")
indicators_app.command("history")(indicators_history)
from balise.cli.report_defaults import org_report_defaults, report_app  # noqa: E402

org_app.command("report-defaults")(org_report_defaults)
app.add_typer(report_app, name="report")
from balise.cli.exchange import exchange_app  # noqa: E402

app.add_typer(exchange_app, name="exchange")
from balise.cli.referral import referral_app  # noqa: E402

app.add_typer(referral_app, name="referral")
from balise.cli.series import series_app  # noqa: E402

app.add_typer(series_app, name="series")
from balise.cli.entities import entities_app  # noqa: E402

app.add_typer(entities_app, name="entities")
from balise.cli.financial import financial_app  # noqa: E402

app.add_typer(financial_app, name="financial")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":
    app()
