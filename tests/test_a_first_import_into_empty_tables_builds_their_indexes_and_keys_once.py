"""An import into empty indicator tables on PostgreSQL (a new installation's first list) sets
their secondary indexes and foreign keys aside and builds them once at its end (issue 19:
23 s of PostgreSQL's work on a million indicators became 11.5 s). The schema that results is the
one the migrations made; a failed import leaves it whole even if the caller commits; tables that
hold rows, or that another transaction holds, are imported into as before."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from sqlalchemy import create_engine, event, func, select, text

from balise.accounts.actors import Actor
from balise.adapters.db.bulk_load import first_load
from balise.adapters.db.models import Indicator, IndicatorHistory
from balise.detection.indicators import BATCH, ImportAborted
from balise.domain.indicators import IndicatorKind
from balise.domain.submissions import Decision, check_decision

ACTOR = Actor.system("test")
TABLES = ("indicators", "indicator_history")

postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _lines(count: int, start: int = 1) -> bytes:
    return "".join(f"pdq {n:064x}\n" for n in range(start, start + count)).encode()


def _schema(session) -> set[tuple[str, str]]:
    """Every index and constraint of the two tables, as PostgreSQL would write it."""
    indexes = session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('indicators', 'indicator_history')")).all()
    constraints = session.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid IN ('indicators'::regclass, 'indicator_history'::regclass)")).all()
    return {tuple(r) for r in indexes} | {tuple(r) for r in constraints}


def _decision() -> Decision:
    return check_decision(reference="DEMO TJ 26/7", authority="DEMO Tribunal judiciaire de Lyon",
                          process="court_decision", kind=IndicatorKind.KNOWN_CSAM)


def _watch(balise) -> list[str]:
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute", lambda c, cur, st, *r: seen.append(st))
    return seen


@postgresql
def test_a_first_import_sets_indexes_and_keys_aside_and_leaves_the_schema_as_migrated(balise):
    with balise.db.sessions() as s:
        migrated = _schema(s)
    assert any(name == "fk_indicator_history_indicator_id_indicators" for name, _ in migrated)
    seen = _watch(balise)
    with balise.db.transaction() as s:
        submission, report = balise.submissions.import_stream(
            s, ACTOR, _decision(), io.BytesIO(_lines(2 * BATCH + 7)), organisation_id=None, fmt="te",
            source="DEMO list", default_kind=IndicatorKind.KNOWN_CSAM)
    assert report.imported == 2 * BATCH + 7
    drops = [st for st in seen if st.startswith(("DROP INDEX", "ALTER TABLE"))]
    assert sum(st.startswith("DROP INDEX") for st in drops) == 5  # four of indicators, one of the history
    assert sum("DROP CONSTRAINT" in st for st in drops) == 3
    assert sum("ADD CONSTRAINT" in st for st in drops) == 3
    assert not any("uq_indicators" in st or "pk_" in st for st in drops)  # kept: they refuse bad rows
    with balise.db.sessions() as s:
        assert _schema(s) == migrated
        assert s.scalar(select(func.count()).select_from(IndicatorHistory)) == 2 * BATCH + 7
        # Each history row is its indicator's creation, found through the kept primary key.
        assert s.scalar(select(func.count()).select_from(IndicatorHistory).join(
            Indicator, Indicator.id == IndicatorHistory.indicator_id).where(
            IndicatorHistory.submission_id == submission.id, IndicatorHistory.action == "created")) == 2 * BATCH + 7


@postgresql
def test_a_failed_first_import_leaves_the_schema_whole_even_if_its_caller_commits(balise):
    with balise.db.sessions() as s:
        migrated = _schema(s)
    bad = _lines(2 * BATCH) + b"pdq \xff\xfe\n"  # not UTF-8, after two pages were written
    with balise.db.transaction() as s:
        with pytest.raises(ImportAborted, match="not UTF-8"):
            balise.indicators.import_stream(s, ACTOR, io.BytesIO(bad), fmt="te", source="broken")
        # A caller that goes on and commits its transaction.
    with balise.db.sessions() as s:
        assert _schema(s) == migrated
        assert s.scalar(select(func.count()).select_from(Indicator)) == 0


@postgresql
def test_an_import_into_tables_that_hold_rows_changes_no_schema(balise):
    with balise.db.transaction() as s:
        balise.indicators.import_stream(s, ACTOR, io.BytesIO(_lines(1)), fmt="te", source="first")
    seen = _watch(balise)
    with balise.db.transaction() as s:
        report = balise.indicators.import_stream(s, ACTOR, io.BytesIO(_lines(BATCH + 1, start=2)), fmt="te",
                                                 source="second")
    assert report.imported == BATCH + 1
    assert not [st for st in seen if st.startswith(("DROP", "ALTER", "LOCK", "CREATE"))]


@postgresql
def test_tables_another_transaction_holds_are_imported_into_with_their_indexes(balise):
    # A reader in another transaction holds the table: the first load does not wait for it
    # beyond its lock timeout, and imports as usual.
    holder = create_engine(balise.settings.sqlalchemy_url)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.connect() as c, c.begin():
            c.execute(text("SELECT count(*) FROM indicators"))
            held.set()
            release.wait(30)

    reader = threading.Thread(target=hold)
    reader.start()
    try:
        assert held.wait(10)
        seen = _watch(balise)
        with balise.db.transaction() as s:
            with first_load(s, TABLES, lock_timeout="200ms") as set_aside:
                assert set_aside is False
                report = balise.indicators.import_lines(s, ACTOR, iter(_lines(10).decode().splitlines(True)),
                                                        fmt="te", source="held")
        assert report.imported == 10
        assert not [st for st in seen if st.startswith(("DROP", "CREATE"))]
    finally:
        release.set()
        reader.join()
        holder.dispose()


@sqlite
def test_on_sqlite_nothing_is_set_aside(balise):
    with balise.db.transaction() as s:
        with first_load(s, TABLES) as set_aside:
            assert set_aside is False


@postgresql
def test_a_role_that_may_not_alter_the_tables_imports_with_their_indexes(balise):
    # Production may run the service under a role that writes rows but does not own the
    # tables (migrations under another): setting the indexes aside is refused, and the import
    # goes on as it would into tables that hold rows.
    role = f"balise_rows_only_{uuid.uuid4().hex[:8]}"
    with balise.db.transaction() as s:
        s.execute(text(f"CREATE ROLE {role}"))
        s.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        s.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        migrated = _schema(s)
    try:
        seen = _watch(balise)
        with balise.db.transaction() as s:
            s.execute(text(f"SET LOCAL ROLE {role}"))
            report = balise.indicators.import_stream(s, ACTOR, io.BytesIO(_lines(BATCH + 3)), fmt="te",
                                                     source="rows only")
        assert report.imported == BATCH + 3
        assert any(st.startswith("ALTER TABLE") and "DROP CONSTRAINT" in st for st in seen)  # tried, refused
        assert not any(st.startswith("CREATE INDEX") for st in seen)
        with balise.db.sessions() as s:
            assert _schema(s) == migrated
            assert s.scalar(select(func.count()).select_from(Indicator)) == BATCH + 3
    finally:
        with balise.db.transaction() as s:
            s.execute(text(f"DROP OWNED BY {role}"))
            s.execute(text(f"DROP ROLE {role}"))
