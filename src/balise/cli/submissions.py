"""`balise submissions`: Article 36 submissions entered by staff (a coordinating authority's
decision received by mail or on paper, or a court decision), the centre's candidates waiting for
an authority and their clock, withdrawals, the periodic re-verification run now; and
`balise indicators history`: an indicator's provenance (CSAR Art. 36, 44(4), 46(7))."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Annotated

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

submissions_app = typer.Typer(help="Article 36 submissions: the only source of indicators (CSAR Art. 36).",
                              no_args_is_help=True)


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date or date and time (2026-12-31 or 2026-12-31T18:00:00+01:00), not {text!r}", 2)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hashes(values: list[str]) -> list[dict[str, str]]:
    out = []
    for n, text in enumerate(values):
        algorithm, sep, value = text.partition(":")
        if not sep:
            fail(f"--hash {n + 1}: write ALGORITHM:VALUE (md5:0123…), not {text!r}", 2)
        out.append({"algorithm": algorithm, "value": value})
    return out


@submissions_app.command("add")
def submissions_add(
    reference: Annotated[str, typer.Option(help="the authority's (or the court's) decision reference")],
    hash_: Annotated[list[str] | None, typer.Option("--hash", help="ALGORITHM:VALUE, e.g. md5:0123… (repeat)")] = None,
    file: Annotated[list[str] | None, typer.Option("--file", help="the confirmed material: a picture or video "
                                                               "file, hashed and kept encrypted (repeat)")] = None,
    authority: Annotated[str | None, typer.Option(help="the coordinating authority (organisation name)")] = None,
    court: Annotated[str | None, typer.Option(help="for a court decision: the court's name (no organisation)")] = None,
    kind: Annotated[str, typer.Option(help="known_csam, new_csam, solicitation or url")] = "known_csam",
    decided: Annotated[str | None, typer.Option(help="when the decision was taken (ISO date)")] = None,
    note: Annotated[str, typer.Option(help="what staff should know")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a submission received outside the API; its hashes become (or confirm) indicators."""
    from sqlalchemy import select

    from balise.adapters.db.models import Organisation
    from balise.detection.submissions import NotAnAuthority, hash_material
    from balise.domain.submissions import InvalidSubmission, SubmissionChannel, check_submission

    if (authority is None) == (court is None):
        fail("name either --authority (a coordinating authority) or --court (a court decision)", 2)
    balise = load_balise()
    stored: list = []  # type: ignore[type-arg]
    try:
        material = []
        for n, path in enumerate(file or []):
            name = f"--file {path}"
            if not os.path.isfile(path):
                raise InvalidSubmission(name, "is not a file")
            material.append(hash_material(name, os.path.basename(path), path, os.path.getsize(path),
                                          balise.settings.max_file_bytes, balise.media_hasher))
        with balise.db.transaction() as session:
            org_id = None
            if authority is not None:
                org_id = session.execute(select(Organisation.id).where(Organisation.name == authority)).scalar()
                if org_id is None:
                    fail(f"no organisation named {authority!r}", 2)
            terms = check_submission(reference=reference, hashes=_hashes(hash_ or []) + [h for m in material
                                                                                     for h in m.hashes],
                                     authority=court or authority,
                                     process="court_decision" if court else "authority_confirmation", kind=kind,
                                     decided_at=_moment(decided, "--decided"), note=note, now=balise.clock())
            result = balise.submissions.submit(session, CLI_ACTOR, terms, channel=SubmissionChannel.CLI,
                                               organisation_id=org_id, material=material, vault=balise.evidence,
                                               stored=stored)
            rows = [(i.id, i.algorithm, i.value, i.status, outcome) for i, outcome in result.indicators()]
            sid = result.submission.id
    except BaseException as exc:
        for blob in stored:  # the transaction failed: no encrypted file without its record
            balise.evidence.discard(balise.db.sessions, blob)
        if isinstance(exc, InvalidSubmission):
            fail(f"{exc.field}: {exc.message}", 2)
        if isinstance(exc, NotAnAuthority):
            fail(str(exc), 2)
        raise
    if as_json:
        typer.echo(json.dumps({"id": sid, "indicators": [dict(zip(("id", "algorithm", "value", "status", "outcome"), r,
                                                                  strict=True)) for r in rows]}))
        return
    typer.echo(f"submission {sid}: {len(rows)} indicator(s)")
    for iid, algorithm, value, status, outcome in rows:
        typer.echo(f"  {iid}\t{algorithm}\t{value[:64]}\t{status}\t{outcome}")


@submissions_app.command("list")
def submissions_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The submissions, newest first."""
    balise = load_balise()
    with balise.db.sessions() as session:
        rows = [{"id": s.id, "authority": s.authority, "reference": s.reference, "process": s.process,
                 "kind": s.kind, "channel": s.channel, "received_at": s.received_at.isoformat(),
                 "hashes": s.hash_count, "withdrawn_at": s.withdrawn_at.isoformat() if s.withdrawn_at else None}
                for s in balise.submissions.list(session)]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("no submission")
    for r in rows:
        withdrawn = f"\twithdrawn {r['withdrawn_at'][:10]}" if r["withdrawn_at"] else ""
        typer.echo(f"{r['id']}\t{r['received_at'][:16]}\t{r['authority']}\t{r['reference']}\t{r['process']}\t"
                   f"{r['kind']}\t{r['hashes']} hash(es){withdrawn}")


@submissions_app.command("withdraw")
def submissions_withdraw(submission_id: int, reason: Annotated[str, typer.Option(help="why (required)")]) -> None:
    """The authority withdrew its submission: suspend the indicators it backs."""
    from balise.detection.submissions import SubmissionConflict
    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            suspended = balise.submissions.withdraw(session, CLI_ACTOR, submission_id, reason)
            count = len(suspended)
    except InvalidSubmission as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    except SubmissionConflict as exc:
        fail(str(exc), 1)
    typer.echo(f"submission {submission_id} withdrawn; {count} indicator(s) suspended")


@submissions_app.command("awaiting")
def submissions_awaiting() -> None:
    """The centre's candidates confirmed by four eyes, waiting for an authority (CSAR Art. 36(3))."""
    balise = load_balise()
    with balise.db.sessions() as session:
        rows = [(i.id, i.algorithm, i.value, i.awaiting_since, i.authority_due_at)
                for i in balise.submissions.awaiting(session)]
    if not rows:
        typer.echo("no candidate waits for an authority")
    for iid, algorithm, value, since, due in rows:
        typer.echo(f"{iid}\t{algorithm}\t{value[:64]}\tsince {since:%Y-%m-%d}\tdue {due:%Y-%m-%d}")


@submissions_app.command("extend")
def submissions_extend(indicator_id: int, reason: Annotated[str, typer.Option(help="why (required)")]) -> None:
    """Extend the authority's month to two for a complex case (once)."""
    from balise.detection.submissions import SubmissionConflict
    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            due = balise.submissions.extend_clock(session, CLI_ACTOR, indicator_id, reason).authority_due_at
    except InvalidSubmission as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    except SubmissionConflict as exc:
        fail(str(exc), 1)
    typer.echo(f"indicator {indicator_id}: the authority now has until {due:%Y-%m-%d %H:%M} UTC")


@submissions_app.command("verify")
def submissions_verify() -> None:
    """Run the periodic re-verification now (CSAR Art. 46(7)) and print its result."""
    balise = load_balise()
    run = balise.verify_indicators()
    typer.echo(f"checked {run.checked} active indicator(s): {run.confirmed} confirmed, {run.unconfirmed} not "
               f"confirmed; {run.urls_checked} URL(s) fetched: {run.urls_live} live, {run.urls_gone} gone")
    for problem in run.problems[:50]:
        typer.echo(f"  indicator {problem['indicator']}: {problem['problem']}")


def indicators_history(indicator_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An indicator's submission (authority, reference, process) and every change since (audited)."""
    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            seen = balise.submissions.provenance(session, CLI_ACTOR, indicator_id, "read indicator provenance")
            sub = seen.submission
            out = {"id": seen.indicator.id, "algorithm": seen.indicator.algorithm, "value": seen.indicator.value,
                   "status": seen.indicator.status,
                   "submission": None if sub is None else {
                       "id": sub.id, "authority": sub.authority, "reference": sub.reference, "process": sub.process,
                       "received_at": sub.received_at.isoformat()},
                   "history": [{"at": h.at.isoformat(), "action": h.action, "status": h.status, "actor": h.actor,
                                "submission": h.submission_id, "detail": h.detail} for h in seen.history]}
    except InvalidSubmission as exc:
        fail(exc.message, 2)
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"indicator {out['id']} {out['algorithm']} {out['value'][:64]}: {out['status']}")
    s = out["submission"]
    typer.echo("submission: none (not generated from an Article 36 submission)" if s is None else
               f"submission {s['id']}: {s['authority']}, reference {s['reference']} ({s['process']}), "
               f"received {s['received_at'][:16]}")
    for h in out["history"]:
        via = f" [submission {h['submission']}]" if h["submission"] else ""
        typer.echo(f"  {h['at'][:19]}\t{h['action']}\t{h['status']}\t{h['actor']}{via}")


# -- the URL list (CSAR Art. 44(1)(b)) ------------------------------------------------------------

urllist_app = typer.Typer(help="The URL list (CSAR Art. 44(1)(b)) and its export per blocking order.",
                          no_args_is_help=True)


@urllist_app.command("add")
def urllist_add(
    url: str,
    host_country: Annotated[str, typer.Option(help="ISO code of the country where the host is (outside the EU)")],
    refusal: Annotated[str, typer.Option(help="evidence that the host refuses removal (notices, dates, answers)")],
    authority_non_cooperation: Annotated[str, typer.Option(
        help="evidence that the host country's authorities do not cooperate")],
    takedown_item: Annotated[str | None, typer.Option(help="the item id of the reported URL's takedown")] = None,
) -> None:
    """Put a URL on the URL list, with its evidence."""
    from balise.detection.url_list import UrlListConflict
    from balise.domain.submissions import InvalidSubmission, check_url_entry

    balise = load_balise()
    try:
        terms = check_url_entry(url=url, host_country=host_country, refusal=refusal,
                                authority_non_cooperation=authority_non_cooperation, takedown_item=takedown_item)
        with balise.db.transaction() as session:
            entry = balise.url_list.add(session, CLI_ACTOR, terms)
            eid, version = entry.id, entry.version
    except InvalidSubmission as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    except UrlListConflict as exc:
        fail(str(exc), 1)
    typer.echo(f"URL list entry {eid} (version {version}): {terms.url}")


@urllist_app.command("remove")
def urllist_remove(entry_id: int, reason: Annotated[str, typer.Option(help="why (required)")]) -> None:
    """Take a URL off the list (removed at last, or no longer justified)."""
    from balise.detection.url_list import UrlListConflict
    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.url_list.remove(session, CLI_ACTOR, entry_id, reason)
    except InvalidSubmission as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    except UrlListConflict as exc:
        fail(str(exc), 1)
    typer.echo(f"URL list entry {entry_id} removed")


@urllist_app.command("list")
def urllist_list(all_: Annotated[bool, typer.Option("--all", help="also the removed entries")] = False) -> None:
    """The URL list, newest first."""
    balise = load_balise()
    with balise.db.sessions() as session:
        rows = [(e.id, e.state, e.host_country, e.url, e.last_outcome) for e in
                balise.url_list.entries(session, listed_only=not all_)]
    if not rows:
        typer.echo("the URL list is empty")
    for eid, state, country, url, outcome in rows:
        typer.echo(f"{eid}\t{state}\t{country}\t{url}" + (f"\tlast check: {outcome}" if outcome else ""))


@urllist_app.command("export")
def urllist_export(
    order: Annotated[str, typer.Option("--order", help="the blocking order's id (balise orders list)")],
    out: Annotated[str, typer.Option(help="the directory to write the file in")],
    fmt: Annotated[str, typer.Option("--format", help="json (signed feed) or csv")] = "json",
    since: Annotated[int, typer.Option(help="only the changes after this version (0: the whole list)")] = 0,
) -> None:
    """Export the URL list for a blocking order in force, to the provider it is addressed to."""
    from pathlib import Path

    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    folder = Path(out)
    if not folder.is_dir():
        fail(f"--out: {out} is not a directory", 2)
    try:
        with balise.db.transaction() as session:
            export = balise.url_list.export(session, CLI_ACTOR, order, fmt=fmt, since_version=since)
    except InvalidSubmission as exc:
        fail(f"{'--' + exc.field if exc.field in ('order', 'format', 'since') else exc.field}: {exc.message}", 2)
    from balise.adapters.files import write_new_file

    path = folder / export.filename
    write_new_file(path, export.body)
    typer.echo(f"{path}: {export.entries} change(s) up to version {export.version}")


@urllist_app.command("verify")
def urllist_verify(
    sample: Annotated[int | None, typer.Option(help="how many URLs (default: the square root of the list + 10)")] = None,
    order_reference: Annotated[str | None, typer.Option("--order", help="the blocking order it prepares")] = None,
) -> None:
    """Fetch a representative sample of the listed URLs again and record what each answered."""
    from balise.domain.submissions import InvalidSubmission

    balise = load_balise()
    try:
        run = balise.url_list.verify_sample(balise.db.sessions, CLI_ACTOR, lambda u: balise.fetcher.fetch(u).outcome,
                                            wanted=sample, order_reference=order_reference)
    except InvalidSubmission as exc:
        fail(f"{exc.field}: {exc.message}", 2)
    typer.echo(f"verification {run.id}: {run.sample_size} of {run.population} URL(s): {run.live} still served, "
               f"{run.gone} gone, {run.other} could not tell")
    for r in run.results:
        typer.echo(f"  {r['entry']}\t{r['outcome']}\t{r['url']}")
