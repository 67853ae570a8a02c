"""`balise orders`: the orders registry (CSAR Art. 7, 14, 16; docs/orders.md): register a
coordinating authority's signing key, list and show orders with their clocks, give the centre's
opinion on a draft detection order, and register an order from a JSON file entered by staff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from balise.cli.common import CLI_ACTOR, fail, load_balise

orders_app = typer.Typer(help="Removal, blocking and detection orders (CSAR Art. 7, 14, 16).", no_args_is_help=True)


def _row(order: Any, clock: Any, now: Any) -> str:
    left = ""
    if clock is not None:
        minutes = int((clock.deadline - now).total_seconds() // 60)
        left = f"  {clock.kind.value} {clock.state(now).value} ({'late by' if minutes < 0 else 'due in'} " \
               f"{abs(minutes) // 60}h{abs(minutes) % 60:02d}m)"
    return (f"{order.id}  {order.kind:<9} {order.state:<23} {order.reference}  {order.authority_name} "
            f"({order.authority_member_state}) -> {order.addressee_name}{left}")


@orders_app.command("register-key")
def register_key(organisation: Annotated[str, typer.Argument(help="the coordinating authority's organisation")],
                 public_key: Annotated[Path, typer.Argument(help="file holding the base64 raw Ed25519 public key")]
                 ) -> None:
    """Register the Ed25519 public key an authority signs its orders with; prints the key id
    it puts in each order's signature."""
    from balise.domain.orders import InvalidOrder
    from balise.orders.registry import NotAuthority

    balise = load_balise()
    try:
        text = public_key.read_text().strip()
    except OSError as exc:
        fail(f"cannot read {public_key}: {exc.strerror}", 2)
    with balise.db.transaction() as session:
        org = balise.organisations.get_by_name(session, organisation)
        if org is None:
            fail(f"no organisation named {organisation!r}", 2)
        try:
            key_id = balise.orders.register_key(session, CLI_ACTOR, org, text)
        except (NotAuthority, InvalidOrder) as exc:
            fail(str(exc), 2)
    typer.echo(key_id)


@orders_app.command("list")
def orders_list(kind: Annotated[str | None, typer.Option(help="removal, blocking or detection")] = None,
                state: Annotated[str | None, typer.Option(help="e.g. received, executed")] = None,
                as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Orders, newest first, with the clock running on each."""
    from balise.domain.clocks import ClockKind

    balise = load_balise()
    now = balise.clock()
    with balise.db.sessions() as session:
        orders = balise.orders.list(session, kind=kind, state=state)
        clocks = {c.subject_id: c for c in balise.clocks.running(
            session, [ClockKind.ORDER_REMOVAL, ClockKind.ORDER_OPINION, ClockKind.ORDER_PERIOD])}
    if as_json:
        typer.echo(json.dumps([{"id": str(o.id), "kind": o.kind, "state": o.state, "reference": o.reference,
                                "authority": o.authority_name, "addressee": o.addressee_name,
                                "clock": None if str(o.id) not in clocks else {
                                    "kind": clocks[str(o.id)].kind.value,
                                    "deadline": clocks[str(o.id)].deadline.isoformat(),
                                    "state": clocks[str(o.id)].state(now).value}} for o in orders], indent=2))
        return
    if not orders:
        typer.echo("no order")
    for o in orders:
        typer.echo(_row(o, clocks.get(str(o.id)), now))


@orders_app.command("show")
def orders_show(order_id: Annotated[str, typer.Argument(help="the order's id")]) -> None:
    """One order: its annex fields, URLs, reports and state changes (audited as order:read)."""
    from balise.orders.registry import OrderNotFound

    balise = load_balise()
    with balise.db.transaction() as session:
        try:
            order = balise.orders.get(session, order_id)
        except OrderNotFound as exc:
            fail(str(exc), 2)
        balise.orders.read(session, CLI_ACTOR, order, "read an order on the command line")
        typer.echo(f"{order.kind} order {order.reference} [{order.state}]")
        typer.echo(f"issued by {order.authority_name} ({order.authority_member_state}) to {order.addressee_name}")
        typer.echo(f"legal basis: {order.legal_basis}")
        typer.echo(f"sent {order.sent_at.isoformat()}, registered {order.recorded_at.isoformat()}, received "
                   f"{order.received_at.isoformat() if order.received_at else '-'}")
        if order.execution:
            typer.echo(f"executed: {order.execution} at {order.executed_at.isoformat()}")
        for u in order.urls:
            typer.echo(f"url {u.url}" + (f"  last check: {u.last_outcome}" if u.last_outcome else ""))
        for rid in balise.orders.report_ids(session, order):
            typer.echo(f"report {rid}")
        for e in order.events:
            typer.echo(f"{e.at.isoformat()}  {e.from_state or '-'} -> {e.to_state}  by {e.part}"
                       + (f"  ({e.note})" if e.note else ""))


@orders_app.command("opinion")
def orders_opinion(order_id: Annotated[str, typer.Argument(help="a draft detection order's id")],
                   text: Annotated[str, typer.Option("--text", help="the centre's opinion")]) -> None:
    """Record the centre's opinion on a draft detection order (Art. 7(3), within 4 weeks)."""
    from balise.domain.orders import InvalidOrder
    from balise.orders.registry import OrderConflict, OrderNotFound

    balise = load_balise()
    try:
        with balise.db.transaction() as session:
            balise.orders.give_opinion(session, CLI_ACTOR, order_id, text)
    except (InvalidOrder, OrderConflict, OrderNotFound) as exc:
        fail(str(exc), 2)
    typer.echo("opinion recorded")


@orders_app.command("enter")
def orders_enter(path: Annotated[Path, typer.Argument(help="the order as JSON (the API's fields, no signature)")],
                 verification: Annotated[str, typer.Option(help="how the authority's signature was verified")]
                 ) -> None:
    """Register an order received by other means (letter, secure e-mail)."""
    from balise.domain.orders import InvalidOrder
    from balise.orders.registry import OrderConflict

    balise = load_balise()
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path} as JSON: {exc}", 2)
    try:
        with balise.db.transaction() as session:
            order = balise.orders.enter(session, CLI_ACTOR, body, verification)
            typer.echo(f"{order.id} {order.state}")
    except InvalidOrder as exc:
        fail(f"nothing stored: {exc}", 2)
    except OrderConflict as exc:
        fail(str(exc), 2)
