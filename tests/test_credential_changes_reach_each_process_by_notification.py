"""On PostgreSQL each process holds the credential epoch in memory, kept current by
LISTEN/NOTIFY (issue 19 item 2, BALISE_CREDENTIAL_CHANGES=listen): an authenticated request
whose key and grants are cached costs no round trip at all. What must hold for that to be
safe: a change made elsewhere is heard within milliseconds; a change made through this
process counts at the very next call; while the listening connection is lost every call
reads the epoch itself; closing stops the thread and its connection. PostgreSQL only
(SQLite reads the epoch on each request: no server, no notifications)."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import create_engine, select, text

from balise.accounts.actors import Actor
from balise.adapters.db.epoch import EpochReader, EpochWatch
from balise.adapters.db.models import ApiKey
from balise.container import Balise
from balise.domain.model import Scope
from tests.conftest import _reset_postgres, make_settings
from tests.helpers import make_provider


def _sql(url: str, statement: str, **params: object) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def _container(tmp_path, database, **overrides) -> Balise:
    _reset_postgres(database)
    return Balise(make_settings(tmp_path, database.url, **overrides))


def _counting(balise: Balise) -> tuple[EpochWatch, list[int | None]]:
    """The container's watch, with its direct reads counted (its `read` port)."""
    watch = balise.credential_epoch
    assert isinstance(watch, EpochWatch)
    reads: list[int | None] = []
    direct = watch._read

    def counted() -> int | None:
        reads.append(direct())
        return reads[-1]

    watch._read = counted
    return watch, reads


def _listening(balise: Balise) -> tuple[EpochWatch, list[int | None], EpochReader]:
    """The watch once it listens, its direct reads counted from then on, and the truth."""
    watch, reads = _counting(balise)
    watch()
    assert watch.wait_for(lambda: watch.live, 5)
    reads.clear()
    return watch, reads, EpochReader(balise.db.engine)


def test_a_listening_process_answers_the_epoch_without_reading_it(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database)
    try:
        watch, reads = _counting(balise)
        assert watch() == EpochReader(balise.db.engine)() and len(reads) == 1  # read directly: nothing heard yet
        watch, reads, truth = _listening(balise)
        assert {watch() for _ in range(200)} == {truth()}
        assert reads == []
    finally:
        balise.close()


def test_a_change_made_elsewhere_is_heard_within_milliseconds(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database)
    try:
        make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
        watch, reads, truth = _listening(balise)
        before = watch()
        _sql(postgres_database.url, "UPDATE api_keys SET revoked_at = now()")
        after = truth()
        assert after is not None and before is not None and after > before
        started = time.monotonic()
        assert watch.wait_for(lambda: watch() == after, 2.0)
        assert time.monotonic() - started < 1.0
        # Heard, not read: the watch's own connection read the new value.
        assert reads == []
        # A statement that changes no watched column is not a credential change.
        _sql(postgres_database.url, "UPDATE api_keys SET last_used_at = now()")
        assert truth() == after
    finally:
        balise.close()


def test_a_change_made_through_this_process_counts_at_the_next_call(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database)
    try:
        _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
        watch, reads, truth = _listening(balise)
        before = watch()
        with balise.db.transaction() as s:
            balise.organisations.revoke_key(s, Actor.system("test"), key.split("_")[1])
        # No waiting for the notification: the commit through this process's sessions marked
        # the epoch stale, so this very call reads it.
        assert watch() == truth() != before
        # Settled: this process's own notification heard, nothing left stale.
        assert watch.wait_for(lambda: watch() == truth() and not watch._stale, 5)

        # A commit that changes only other columns (a key's last use) keeps it in memory.
        with balise.db.transaction() as s:
            stored = s.execute(select(ApiKey)).scalar_one()
            stored.last_used_at = balise.clock()
        reads.clear()
        assert watch() == truth() and reads == []
    finally:
        balise.close()


def test_while_the_listening_connection_is_lost_every_call_reads_the_epoch(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database)
    try:
        make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
        watch, reads, truth = _listening(balise)
        listener = watch.backend_pid
        # The server stays unreachable for the listener until `down` is cleared.
        down = [True]
        connect = watch._connect

        def refused():
            if down[0]:
                raise psycopg.OperationalError("connection refused (test)")
            return connect()

        watch._connect = refused
        admin = create_engine(postgres_database.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": listener}).scalar() is True
        assert watch.wait_for(lambda: not watch.live, 5)
        _sql(postgres_database.url, "UPDATE organisations SET suspended_at = now()")
        reads.clear()
        assert watch() == truth()
        assert len(reads) == 1  # read directly: nothing is answered from a memory nobody keeps current
        down[0] = False
        assert watch.wait_for(lambda: watch.live and watch.backend_pid not in (None, listener), 5)
        reads.clear()
        assert watch() == truth() and reads == []
        admin.dispose()
    finally:
        balise.close()


def test_closing_ends_the_listening_thread_and_its_connection(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database)
    watch = balise.credential_epoch
    watch()
    assert watch.wait_for(lambda: watch.live, 5)
    connection, thread = watch._listening, watch._thread
    assert connection is not None and not connection.closed
    started = time.monotonic()
    balise.close()
    # Woken at once (not at its next periodic read, 5 s away), joined, its connection closed.
    assert time.monotonic() - started < 1.0
    assert thread is not None and not thread.is_alive()
    assert connection.closed and watch._listening is None and not watch.live


def test_read_mode_reads_the_epoch_on_every_call_and_starts_no_thread(tmp_path, postgres_database) -> None:
    balise = _container(tmp_path, postgres_database, credential_changes="read")
    try:
        assert isinstance(balise.credential_epoch, EpochReader)
        assert balise.credential_epoch() == 0
    finally:
        balise.close()
