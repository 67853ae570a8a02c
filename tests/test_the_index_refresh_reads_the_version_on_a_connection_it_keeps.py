"""In a process that refreshes its PDQ index in the background (an API process, `keep_fresh`),
on PostgreSQL, the refresh reads the committed indicator version on one connection it keeps in
autocommit (issue 19: ten reads a second per API process, each through a new ORM
session, were 3–5 % of the 100-hash match figure). No transaction stays open on it; a
connection the server ended is replaced and the refresh still sees every change; closing the
holder gives it back. Elsewhere (a command, a test's container) it reads through a session as
before, holding no connection between reads."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from balise.accounts.actors import Actor
from balise.detection.matching import PdqIndexHolder
from balise.domain.indicators import Algorithm, IndicatorKind

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def _add(balise, value: str) -> int:
    with balise.db.transaction() as session:
        return balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=value,
                                     kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"}).version


def _state(balise, pid: int) -> str | None:
    with balise.db.sessions() as s:
        return s.execute(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()


def _pid(holder: PdqIndexHolder) -> int:
    with holder._lock:  # the connection is the refreshing thread's too
        connection = holder._version_connection
        assert connection is not None
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _serving(balise, tmp_path) -> PdqIndexHolder:
    # A long interval: the background thread's first refresh comes after the test is over.
    holder = PdqIndexHolder(balise.db.read_sessions, balise.indicators, tmp_path / "snapshots", refresh_interval=60)
    holder.keep_fresh()
    return holder


def test_refreshes_read_on_one_connection_left_idle_between_them(balise, tmp_path):
    holder = _serving(balise, tmp_path)
    try:
        holder.refresh(force=True)
        pid = _pid(holder)
        version = _add(balise, "a" * 64)
        holder.refresh(force=True)
        assert holder.version == version
        assert _pid(holder) == pid
        assert _state(balise, pid) == "idle"  # not "idle in transaction": nothing held open
        kept = holder._version_connection
        assert kept is not None and not kept.closed
    finally:
        holder.close()
    assert holder._version_connection is None
    assert kept.closed  # given back to the pool


def test_a_connection_the_server_ended_is_replaced_and_the_change_still_seen(balise, tmp_path):
    holder = _serving(balise, tmp_path)
    try:
        holder.refresh(force=True)
        pid = _pid(holder)
        with balise.db.sessions() as s:
            assert s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        version = _add(balise, "b" * 64)
        holder.refresh(force=True)  # the read fails on the ended connection, then succeeds on a new one
        assert holder.version == version
        assert _pid(holder) != pid
    finally:
        holder.close()


def test_a_holder_that_does_not_refresh_in_the_background_keeps_no_connection(balise, tmp_path):
    holder = PdqIndexHolder(balise.db.read_sessions, balise.indicators, tmp_path / "snapshots")
    try:
        holder.refresh(force=True)
        version = _add(balise, "c" * 64)
        holder.refresh(force=True)
        assert holder.version == version
        assert holder._version_connection is None
    finally:
        holder.close()
