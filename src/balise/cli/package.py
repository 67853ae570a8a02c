"""`balise package …`: build, verify and sign evidence packages for law enforcement
(docs/evidence-packages.md). Registered in the main CLI as the ``package`` group.

Exit codes of ``verify``: 0 valid; 2 usage (no such file, no usable key); 3 not a readable
zip (truncated or corrupt); 4 unsafe archive (member names, links, duplicates, encryption,
zip-bomb limits); 5 manifest.json or manifest.sig missing or malformed; 6 signature not valid
for a trusted key; 7 a file differs from the manifest, is missing, or is not listed.
"""

from __future__ import annotations

import getpass
import json
import socket
import uuid
from pathlib import Path
from typing import Annotated

import typer

from balise.accounts.actors import Actor
from balise.cli.common import fail, load_balise
from balise.domain.model import ActorType

package_app = typer.Typer(help="Signed evidence packages for law enforcement.", no_args_is_help=True)


def _operator() -> Actor:
    # The same actor as the other CLI commands; the label (kept in custody.json) says which
    # account on which machine ran it.
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return Actor(ActorType.SYSTEM, "cli", f"balise CLI, {user}@{socket.gethostname()}")


def _signer(balise):  # type: ignore[no-untyped-def]
    from balise.settings import UnsafeConfiguration

    try:
        return balise.signer
    except UnsafeConfiguration as exc:
        fail(str(exc), 2)


@package_app.command("build")
def build(
    report_id: Annotated[str, typer.Argument(help="the report's id")],
    include_media: Annotated[bool, typer.Option("--include-media", help="put the media files in the package (only where policy allows)")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="directory to write <package_id>.zip to (default BALISE_PACKAGE_DIR)")] = None,
) -> None:
    """Build a signed evidence package of a report; prints its path, SHA-256 and size."""
    from balise.evidence.packages import PackageError

    try:
        rid = uuid.UUID(report_id)
    except ValueError:
        fail(f"{report_id!r} is not a report id (a UUID)", 2)
    balise = load_balise()
    _signer(balise)
    built = None
    try:
        with balise.db.transaction() as session:
            built = balise.packages.build(session, _operator(), rid, include_media=include_media, output_dir=out)
    except BaseException as exc:
        if built is not None:
            balise.packages.discard(built)
        if isinstance(exc, PackageError):
            fail(str(exc))
        raise
    finally:
        balise.close()
    typer.echo(f"package {built.package_id}")
    typer.echo(f"  file    {built.path}")
    typer.echo(f"  sha256  {built.sha256}")
    typer.echo(f"  size    {built.size} bytes")


@package_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="the package, <package_id>.zip")],
    public_key: Annotated[list[Path] | None, typer.Option("--public-key", help="PEM public key trusted to sign packages (repeat for several); default: this centre's own key")] = None,
    max_members: Annotated[int, typer.Option(min=1, help="most members the archive may have")] = 10_000,
    max_total_bytes: Annotated[int, typer.Option(min=1, help="most bytes the members may decompress to")] = 64 * 1024**3,
    max_ratio: Annotated[float, typer.Option(min=1.0, help="largest compression ratio of one member")] = 100.0,
) -> None:
    """Check a package's structure, signature and files: exit 0 if valid, else 2-7 (see docs)."""
    from balise.evidence.adapters.signing import SigningKeyError, load_public_keys, load_signer
    from balise.evidence.package_verify import Limits, PackageInvalid, verify_package

    if not file.is_file():
        fail(f"{file} is not a file", 2)
    keys = []
    if public_key:
        for path in public_key:
            try:
                keys += load_public_keys(path.read_bytes(), str(path))
            except OSError as exc:
                fail(f"cannot read {path}: {exc.strerror}", 2)
            except SigningKeyError as exc:
                fail(str(exc), 2)
    else:
        balise = load_balise()
        settings = balise.settings
        problem = settings.signing_key_problem()
        path = settings.signing_key_path
        if problem or path is None:
            fail(f"no --public-key given and this centre's key is not usable: {problem}", 2)
        if not path.exists():
            fail(f"no --public-key given and this centre has no signing key yet ({path})", 2)
        try:
            keys.append(load_signer(path).public_key)
        except SigningKeyError as exc:
            fail(f"no --public-key given and this centre's key is not usable: {exc}", 2)
    limits = Limits(max_members=max_members, max_total_bytes=max_total_bytes, max_ratio=max_ratio)
    try:
        summary = verify_package(file, keys, limits)
    except PackageInvalid as exc:
        typer.echo(f"INVALID ({exc.problem.name.lower()}): {exc.message}")
        raise typer.Exit(exc.problem.value) from exc
    typer.echo(f"VALID: evidence package {summary.package_id}")
    typer.echo(f"  report      {summary.report_id}")
    typer.echo(f"  centre      {summary.centre}")
    typer.echo(f"  created at  {summary.created_at}")
    typer.echo(f"  signed by   key {summary.key_id} (Ed25519)")
    typer.echo(f"  files       {len(summary.files)} listed, all present and intact "
               f"({summary.media_files} media), {summary.total_bytes} bytes")


@package_app.command("public-key")
def public_key_cmd() -> None:
    """Print this centre's public key (PEM), key id and fingerprint, for recipients to pin."""
    from balise.domain.packages import fingerprint_of
    from balise.evidence.adapters.signing import raw_public_bytes

    signer = _signer(load_balise())
    typer.echo(signer.public_pem, nl=False)
    typer.echo(f"key id: {signer.key_id}")
    typer.echo(f"sha256 fingerprint: {fingerprint_of(raw_public_bytes(signer.public_key))}")


@package_app.command("keygen")
def keygen(path: Annotated[Path, typer.Argument(help="the private key file to create (never overwritten)")]) -> None:
    """Write a new Ed25519 private key (PEM, mode 0600) for BALISE_SIGNING_KEY_FILE."""
    from balise.evidence.adapters.signing import write_new_key

    try:
        signer = write_new_key(path)
    except FileExistsError:
        fail(f"{path} already exists; a key file is never overwritten")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    typer.echo(f"wrote a new Ed25519 private key to {path} (mode 0600)")
    typer.echo(f"key id: {signer.key_id}")
    typer.echo(f"use it with BALISE_SIGNING_KEY_FILE={path.resolve()}; give recipients its public key:")
    typer.echo(signer.public_pem, nl=False)


@package_app.command("custody")
def custody(package_id: Annotated[str, typer.Argument(help="the package id")]) -> None:
    """Print the centre's custody log of a package (JSON): built, delivered, received…"""
    from balise.evidence.packages import PackageError

    try:
        pid = uuid.UUID(package_id)
    except ValueError:
        fail(f"{package_id!r} is not a package id (a UUID)", 2)
    balise = load_balise()
    _signer(balise)
    try:
        with balise.db.sessions() as session:
            log = balise.packages.custody_log(session, pid)
    except PackageError as exc:
        fail(str(exc))
    typer.echo(json.dumps(log, indent=2, sort_keys=True, ensure_ascii=False))


@package_app.command("record")
def record(
    package_id: Annotated[str, typer.Argument(help="the package id")],
    kind: Annotated[str, typer.Argument(help="delivered, delivery_failed or received")],
    recipient: Annotated[str | None, typer.Option(help="who it went to, e.g. Europol")] = None,
    note: Annotated[str | None, typer.Option(help="reference, channel, acknowledgement…")] = None,
) -> None:
    """Add a delivery or receipt event to a package's custody log (audited)."""
    from balise.evidence.packages import PackageError

    try:
        pid = uuid.UUID(package_id)
    except ValueError:
        fail(f"{package_id!r} is not a package id (a UUID)", 2)
    balise = load_balise()
    _signer(balise)
    try:
        with balise.db.transaction() as session:
            recorded = balise.packages.record_custody(session, _operator(), pid, kind, recipient,
                                                      {"note": note} if note else None)
    except PackageError as exc:
        fail(str(exc))
    event = recorded.event
    if not recorded.new:
        who = f" from {event.recipient}" if event.recipient else ""
        typer.echo(f"package {pid}: {event.kind}{who} was already recorded at {event.occurred_at:%Y-%m-%d %H:%M:%S}Z "
                   f"(audit event {event.audit_seq}); nothing changed")
        return
    typer.echo(f"recorded {event.kind} for package {pid} (audit event {event.audit_seq})")
