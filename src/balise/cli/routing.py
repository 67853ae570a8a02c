"""`balise partner|hold|notice|takedown|stats`: the partner directory, law-enforcement holds,
notices and their acknowledgements, removal verification and notice-and-takedown figures."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

partner_app = typer.Typer(help="The partner directory: hotlines, police units, Europol, authorities.",
                          no_args_is_help=True)
hold_app = typer.Typer(help="Law-enforcement holds: do not inform the user, do not remove (<= 18 months).",
                       no_args_is_help=True)
notice_app = typer.Typer(help="Notices sent to hosts, hotlines, police and authorities.", no_args_is_help=True)
takedown_app = typer.Typer(help="Removal verification of reported URLs.", no_args_is_help=True)
stats_app = typer.Typer(help="Published figures (no personal data).", no_args_is_help=True)


def _ctx():  # type: ignore[no-untyped-def]
    from balise.cli.common import CLI_ACTOR, fail, load_balise

    return load_balise(), CLI_ACTOR, fail


def _uuid(value: str, fail) -> uuid.UUID:  # type: ignore[no-untyped-def]
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{value!r} is not a report id (a UUID)")
        raise


def _read_secret(path: str | None, fail) -> str | None:  # type: ignore[no-untyped-def]
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"webhook_secret: cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        raise


# -- partners ------------------------------------------------------------------------------

@partner_app.command("seed")
def partner_seed() -> None:
    """Add every EU Member State's hotline(s), police contact point and coordinating authority,
    and Europol (entries already present are kept). Seeded entries export to files until an
    administrator configures and verifies their channel."""
    balise, actor, _ = _ctx()
    with balise.db.transaction() as session:
        added = balise.partners.seed(session, actor)
    typer.echo(f"seeded {added} partners")


@partner_app.command("list")
def partner_list(kind: Annotated[str | None, typer.Option(help="hotline, police, europol, coordinating_authority")] = None,
                 country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2")] = None,
                 as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The directory, with each partner's channel and whether its endpoint is verified."""
    balise, _, _ = _ctx()
    with balise.db.sessions() as session:
        rows = balise.partners.list(session, kind=kind, country=country)
        data = [{"id": p.id, "kind": p.kind, "country": p.country, "name": p.name, "channel": p.channel,
                 "endpoint": p.endpoint, "languages": p.languages, "active": p.active, "verified": p.verified}
                for p in rows]
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for p in data:
        flags = ("" if p["active"] else " inactive") + (" verified" if p["verified"] else " unverified")
        typer.echo(f"{p['id']:>4}  {p['country'] or 'EU':<2}  {p['kind']:<22} {p['name']}  "
                   f"[{p['channel']}{' ' + p['endpoint'] if p['endpoint'] else ''}; {','.join(p['languages'])};{flags}]")


@partner_app.command("add")
def partner_add(
    name: str,
    kind: Annotated[str, typer.Option(help="hotline, police, europol or coordinating_authority")],
    channel: Annotated[str, typer.Option(help="email, webhook, export or none")],
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2 (not for Europol)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="e-mail address or webhook URL")] = None,
    language: Annotated[list[str] | None, typer.Option(help="ISO 639-1, repeat; first is preferred")] = None,
    webhook_secret_file: Annotated[str | None, typer.Option(help="file holding the webhook's shared secret")] = None,
    verified: Annotated[bool, typer.Option(help="the endpoint was confirmed with the partner")] = False,
) -> None:
    """Add a partner."""
    from balise.takedown.partners import PartnerError

    balise, actor, fail = _ctx()
    secret = _read_secret(webhook_secret_file, fail)
    try:
        with balise.db.transaction() as session:
            partner = balise.partners.create(session, actor, kind=kind, country=country, name=name, channel=channel,
                                             endpoint=endpoint, languages=language or ["en"],
                                             webhook_secret=secret, verified=verified)
            pid = partner.id
    except PartnerError as exc:
        fail(str(exc))
    typer.echo(f"partner {pid} added")


@partner_app.command("set")
def partner_set(
    partner_id: int,
    channel: Annotated[str | None, typer.Option()] = None,
    endpoint: Annotated[str | None, typer.Option()] = None,
    language: Annotated[list[str] | None, typer.Option(help="replaces the list; repeat")] = None,
    webhook_secret_file: Annotated[str | None, typer.Option()] = None,
    verified: Annotated[bool | None, typer.Option("--verified/--unverified")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
) -> None:
    """Change a partner's channel, endpoint, languages, verification or activity."""
    from balise.takedown.partners import PartnerChanges, PartnerError

    balise, actor, fail = _ctx()
    secret = _read_secret(webhook_secret_file, fail)
    try:
        with balise.db.transaction() as session:
            balise.partners.update(session, actor, partner_id, PartnerChanges(
                channel=channel, endpoint=endpoint, languages=language or None, webhook_secret=secret,
                verified=verified, active=active))
    except PartnerError as exc:
        fail(str(exc))
    typer.echo(f"partner {partner_id} updated")


# -- holds ---------------------------------------------------------------------------------

def _parse_when(value: str, fail) -> datetime:  # type: ignore[no-untyped-def]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date such as 2027-06-30 or 2027-06-30T12:00:00+02:00")
        raise
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@hold_app.command("set")
def hold_set(
    report_id: str,
    until: Annotated[str, typer.Option(help="expiry (ISO date/time; at most 18 months ahead)")],
    authority: Annotated[str, typer.Option(help="the requesting law-enforcement authority")],
    do_not_inform: Annotated[bool, typer.Option(help="the provider must not inform the user")] = False,
    do_not_remove: Annotated[bool, typer.Option(help="the material must not be removed yet")] = False,
    reference: Annotated[str | None, typer.Option(help="the authority's case reference")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a law-enforcement hold on a report."""
    from balise.takedown.holds import HoldError

    balise, actor, fail = _ctx()
    rid = _uuid(report_id, fail)
    try:
        with balise.db.transaction() as session:
            hold = balise.holds.set(session, actor, rid, do_not_inform=do_not_inform, do_not_remove=do_not_remove,
                                    authority=authority, expires_at=_parse_when(until, fail), reference=reference,
                                    reason=reason)
            hid = hold.id
    except HoldError as exc:
        fail(str(exc))
    typer.echo(f"hold {hid} set")


@hold_app.command("lift")
def hold_lift(hold_id: int, reason: Annotated[str, typer.Option()] = "") -> None:
    """Lift a hold before its expiry; routing resumes."""
    from balise.takedown.holds import HoldError

    balise, actor, fail = _ctx()
    try:
        with balise.db.transaction() as session:
            balise.holds.lift(session, actor, hold_id, reason)
    except HoldError as exc:
        fail(str(exc))
    typer.echo(f"hold {hold_id} lifted")


@hold_app.command("list")
def hold_list(report_id: str) -> None:
    """The holds of a report, current and past."""
    balise, _, fail = _ctx()
    rid = _uuid(report_id, fail)
    with balise.db.sessions() as session:
        for h in balise.holds.for_report(session, rid):
            flags = ",".join(f for f, on in (("do-not-inform", h.do_not_inform), ("do-not-remove", h.do_not_remove)) if on)
            state = f"ended {h.lifted_at:%Y-%m-%d %H:%M} by {h.lifted_by}" if h.lifted_at else "active"
            typer.echo(f"{h.id:>4}  {flags:<28} until {h.expires_at:%Y-%m-%d %H:%M}Z  {h.authority}  ({state})")


# -- notices -------------------------------------------------------------------------------

@notice_app.command("list")
def notice_list(report_id: Annotated[str | None, typer.Option()] = None,
                status: Annotated[str | None, typer.Option(help="pending, sent, acknowledged, failed")] = None,
                limit: int = 50) -> None:
    """Notices with their delivery state."""
    from sqlalchemy import select

    from balise.adapters.db.models import Notice

    balise, _, fail = _ctx()
    query = select(Notice).order_by(Notice.id.desc()).limit(limit)
    if report_id:
        query = query.where(Notice.report_id == _uuid(report_id, fail))
    if status:
        query = query.where(Notice.status == status)
    with balise.db.sessions() as session:
        for n in session.execute(query).scalars():
            when = n.acknowledged_at or n.sent_at or n.failed_at or n.created_at
            error = f"  last error: {n.last_error[:120]}" if n.last_error and n.status != "sent" else ""
            typer.echo(f"{n.reference}  {n.kind:<17} {n.status:<12} {n.channel:<7} {n.recipient or '-'}  "
                       f"{when:%Y-%m-%d %H:%M}Z  attempts {n.attempts}{error}")


@notice_app.command("ack")
def notice_ack(reference: str, note: Annotated[str, typer.Option(help="e.g. the recipient's own reference")] = "") -> None:
    """Record that the recipient acknowledged a notice or package (once; repeats are ignored)."""
    balise, actor, fail = _ctx()
    try:
        with balise.db.transaction() as session:
            _, new = balise.notices.acknowledge(session, reference, actor, {"note": note} if note else None)
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{reference} acknowledged" if new else f"{reference} was already acknowledged; nothing changed")


@notice_app.command("retry")
def notice_retry(reference: str) -> None:
    """Queue a failed notice again (after fixing the recipient's endpoint)."""
    balise, actor, fail = _ctx()
    try:
        with balise.db.transaction() as session:
            balise.notices.retry(session, reference, actor)
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"{reference} queued again")


# -- takedowns and figures -----------------------------------------------------------------

@takedown_app.command("list")
def takedown_list(status: Annotated[str | None, typer.Option(
        help="pending, watching, removed, not_removed, on_hold, no_contact")] = None, limit: int = 50) -> None:
    """Reported URLs under removal verification, with their legs."""
    from sqlalchemy import select

    from balise.adapters.db.models import Takedown

    balise, _, _ = _ctx()
    query = select(Takedown).order_by(Takedown.received_at.desc()).limit(limit)
    if status:
        query = query.where(Takedown.status == status)

    def t(value: datetime | None) -> str:
        return f"{value:%m-%d %H:%M}" if value else "-"

    with balise.db.sessions() as session:
        for row in session.execute(query).scalars():
            typer.echo(f"{row.status:<11} received {t(row.received_at)} assessed {t(row.assessed_at)} "
                       f"police {t(row.police_notified_at)} host {t(row.host_notified_at)} removed {t(row.removed_at)}  "
                       f"report {row.report_id}  {row.url[:100]}")


@stats_app.command("ntd")
def stats_ntd(since: Annotated[str | None, typer.Option(help="reports received from this date")] = None,
              until: Annotated[str | None, typer.Option(help="reports received before this date")] = None,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Notice-and-takedown: median time to removal and the share removed within 2.5, 3 and 7 days."""
    from balise.takedown.takedowns import ntd_stats

    balise, _, fail = _ctx()
    with balise.db.sessions() as session:
        stats = ntd_stats(session, _parse_when(since, fail) if since else None,
                          _parse_when(until, fail) if until else None)
    data = stats.as_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return

    def h(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} h"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} %"

    m = data["median_hours"]
    typer.echo(f"reported URLs: {data['urls']}  host notified: {data['notified']}  removed: {data['removed']}  "
               f"not removed: {data['not_removed']}  on hold: {data['on_hold']}  "
               f"already gone when inspected: {data['gone_before_notice']}")
    typer.echo(f"median time to removal: {h(m['received_to_removed'])} from receipt, "
               f"{h(m['notice_to_removed'])} from the host notice")
    w = data["removed_within_percent"]
    typer.echo(f"removed within 2.5 days: {pct(w['2.5d'])}   3 days: {pct(w['3d'])}   7 days: {pct(w['7d'])}")
    typer.echo(f"median legs: received->assessed {h(m['received_to_assessed'])}, assessed->police notified "
               f"{h(m['assessed_to_police_notified'])}, assessed->host notified {h(m['assessed_to_host_notified'])}")
    r = data["referrals"]
    typer.echo(f"referred to partner installations: {r['referred_to_partners']}  removed there: "
               f"{r['removed_by_partners']}  not illegal there: {r['not_illegal_at_partners']}")
    typer.echo(f"referred to us by partner installations: {r['received_from_partners']}  removed here: "
               f"{r['removed_for_partners']}  not illegal here: {r['not_illegal_for_partners']}")
