"""Group commit of intakes (issue 19, intake/grouping.py): reports without files that are filed
while a commit is in flight share the next transaction and its one commit, and each caller is
answered only once that commit is done. A report that fails in a group is undone alone and its
caller gets its error; a group whose commit fails files each report again alone. Each report
runs in its caller's context (the request id its jobs carry), and closing the service commits
what waits. On both real databases."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, IdempotencyKey, Job, Report
from balise.adapters.logs import bound_request_id
from balise.casework.triage import TRIAGE_JOB
from balise.container import Balise
from balise.intake.filing import IntakeError, request_fingerprint
from balise.intake.grouping import TransactionGroups
from balise.intake.report_schema import ReportIn
from balise.settings import Settings
from tests.conftest import make_settings
from tests.helpers import make_provider, minimal_report


def _document(n: int) -> dict[str, Any]:
    return minimal_report(items=[{"kind": "hash_only", "hashes": {"md5": f"{n:032x}", "sha256": f"{n:064x}"}}])


class _Filer:
    """Files hash-only reports as the API does (grouped), from threads of its own."""

    def __init__(self, balise: Balise) -> None:
        self.balise = balise
        self.org, _ = make_provider(balise, "DEMO Platform")
        self.actor = Actor.organisation(str(self.org), "DEMO Platform")
        self.pool = ThreadPoolExecutor(max_workers=16)

    def file(self, document: dict[str, Any], key: str | None = None, request_id: str | None = None,
             also_store: Any = None) -> Future[Any]:
        report = ReportIn.model_validate(document)

        def go() -> Any:
            with bound_request_id(request_id):
                return self.balise.intake.file(
                    actor=self.actor, organisation_id=self.org, report=report, files={},
                    fingerprint=request_fingerprint(document, {}), idempotency_key=key, grouped=True,
                    also_store=also_store)

        return self.pool.submit(go)


@pytest.fixture
def filer(balise: Balise) -> Iterator[_Filer]:
    f = _Filer(balise)
    yield f
    f.pool.shutdown(wait=True)


def _hold_the_committer(groups: TransactionGroups) -> tuple[threading.Event, Future[Any]]:
    """A unit that keeps the committer busy until released: what arrives meanwhile waits, and
    forms the next group."""
    started, release = threading.Event(), threading.Event()

    def busy(session: Session) -> tuple[str, list[Any]]:
        started.set()
        assert release.wait(30)
        return "held", []

    pool = ThreadPoolExecutor(max_workers=1)
    held = pool.submit(groups.run, busy)
    pool.shutdown(wait=False)
    assert started.wait(30)
    return release, held


def _until_waiting(groups: TransactionGroups, n: int) -> None:
    # Each unit that joins the queue notifies every waiter of the groups' condition.
    with groups._cond:
        assert groups._cond.wait_for(lambda: len(groups._waiting) >= n, timeout=30), \
            f"{len(groups._waiting)} units wait, not {n}"


def _each_stored_once(balise: Balise, ids: set[uuid.UUID]) -> None:
    """These reports and no other, each with its one report:create event and its triage job
    (queued in the same transaction), and the audit chain intact."""
    with balise.db.sessions() as s:
        assert set(s.scalars(select(Report.id))) == ids
        created = s.scalars(select(AuditRecord.subject_id).where(AuditRecord.event_type == "report:create")).all()
        assert sorted(created) == sorted(str(i) for i in ids)
        triaged = [p["report_id"] for p in s.scalars(select(Job.payload).where(Job.kind == TRIAGE_JOB))]
        assert sorted(triaged) == sorted(str(i) for i in ids)
        assert balise.audit.verify(s).ok


def _reports(balise: Balise) -> int:
    with balise.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Report))


def test_reports_arriving_during_a_commit_share_the_next_one(balise, filer):
    groups = balise.intake_groups
    commits: list[str] = []

    def note(conn: Any) -> None:
        commits.append(threading.current_thread().name)

    event.listen(balise.db.engine, "commit", note)
    release, held = _hold_the_committer(groups)
    before = groups.groups_committed
    futures = [filer.file(_document(n)) for n in range(10)]
    _until_waiting(groups, 10)
    # Nobody is answered before the commit: their reports are not yet on disk.
    assert not any(f.done() for f in futures)
    commits.clear()
    release.set()
    filed = [f.result(30) for f in futures]
    assert held.result(30) == "held"
    assert groups.groups_committed == before + 2  # the held unit's group, then one for all ten
    # One commit for the ten (the held unit wrote nothing: its group took no connection).
    assert commits == ["balise-intake-commit"]
    assert len({f.report.id for f in filed}) == 10
    _each_stored_once(balise, {f.report.id for f in filed})
    event.remove(balise.db.engine, "commit", note)


def test_the_chains_head_is_locked_once_per_group_after_all_its_reports(balise, filer):
    """The group's audit events are one append, made last: the head is locked from there to the
    commit, while the reports' own rows were written before it without holding it, all five by
    one statement."""
    groups = balise.intake_groups
    seen: list[str] = []
    rows: dict[str, int] = {}

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "balise-intake-commit":
            seen.append(" ".join(statement.split()))
            if statement.startswith("INSERT INTO reports "):
                rows["reports"] = len(params) if executemany else 1

    release, _ = _hold_the_committer(groups)
    event.listen(balise.db.engine, "before_cursor_execute", note)
    try:
        futures = [filer.file(_document(n)) for n in range(5)]
        _until_waiting(groups, 5)
        release.set()
        [f.result(30) for f in futures]
    finally:
        event.remove(balise.db.engine, "before_cursor_execute", note)
    locks = [i for i, sql in enumerate(seen) if sql.startswith("SELECT audit_head.seq, audit_head.mac")]
    assert len(locks) == 1, seen
    before, after = seen[:locks[0]], [sql.split()[0] for sql in seen[locks[0] + 1:] if sql != "COMMIT"]
    assert sum(sql.startswith("INSERT INTO reports ") for sql in before) == 1
    assert rows == {"reports": 5}
    assert after == (["WITH"] if balise.db.engine.dialect.name == "postgresql" else ["INSERT", "UPDATE"])
    with balise.db.sessions() as s:
        created = s.scalars(select(AuditRecord.subject_id).where(AuditRecord.event_type == "report:create")
                            .order_by(AuditRecord.seq)).all()
        assert sorted(created) == sorted(str(f.result().report.id) for f in futures)
        assert balise.audit.verify(s).ok


def test_a_lone_report_commits_at_once_without_waiting_for_company(balise, filer):
    groups = balise.intake_groups
    before = groups.groups_committed
    filed = filer.file(_document(1)).result(30)
    assert groups.groups_committed == before + 1
    with balise.db.sessions() as s:
        assert s.get(Report, filed.report.id) is not None


def test_a_report_that_fails_in_a_group_is_undone_alone(balise, filer):
    groups = balise.intake_groups
    first = filer.file(_document(1), key="k-1").result(30)
    release, _ = _hold_the_committer(groups)
    # The same key with another body: refused (409) inside the group, after the others began.
    good_before = filer.file(_document(2), key="k-2")
    _until_waiting(groups, 1)
    conflict = filer.file(_document(99), key="k-1")
    _until_waiting(groups, 2)
    good_after = filer.file(_document(3), key="k-3")
    _until_waiting(groups, 3)
    release.set()
    with pytest.raises(IntakeError) as refused:
        conflict.result(30)
    assert refused.value.status == 409 and refused.value.code == "idempotency_conflict"
    assert good_before.result(30).report.id != good_after.result(30).report.id
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 3
        keys = s.execute(select(IdempotencyKey.key, IdempotencyKey.report_id).order_by(IdempotencyKey.key)).all()
        assert [k for k, _ in keys] == ["k-1", "k-2", "k-3"]
        assert keys[0].report_id == first.report.id
        assert balise.audit.verify(s).ok


def test_a_report_that_fails_after_writing_leaves_nothing_and_its_group_commits(balise, filer):
    """The failure comes after the report left its rows to the group (a channel's own row
    refused): they are taken back, and the group still commits once, without re-running."""
    groups = balise.intake_groups

    def refuse(session: Session, report: Report) -> None:
        raise ValueError("DEMO: the channel refuses this report")

    release, _ = _hold_the_committer(groups)
    before = groups.groups_committed
    good = [filer.file(_document(1)), filer.file(_document(2), also_store=refuse), filer.file(_document(3))]
    _until_waiting(groups, 3)
    release.set()
    with pytest.raises(ValueError, match="the channel refuses"):
        good[1].result(30)
    kept = {good[0].result(30).report.id, good[2].result(30).report.id}
    assert groups.groups_committed == before + 2  # the held unit's group, then the three's
    _each_stored_once(balise, kept)


def test_a_unit_that_writes_through_the_session_sends_its_group_to_file_alone(balise, filer):
    """A unit must leave its rows to the group: what it adds to the session could not be taken
    back if it failed, and would be flushed before the report it names. Its caller gets an
    error; the other reports of its group are stored, each once."""
    groups = balise.intake_groups
    now = balise.clock()

    def writes(session: Session, report: Report) -> None:
        session.add(Job(kind="demo.noop", payload={"report_id": str(report.id)}, status="pending", attempts=0,
                        max_attempts=1, run_at=now, created_at=now))

    release, _ = _hold_the_committer(groups)
    futures = [filer.file(_document(1)), filer.file(_document(2), also_store=writes), filer.file(_document(3))]
    _until_waiting(groups, 3)
    release.set()
    with pytest.raises(RuntimeError, match="writes through its pending rows"):
        futures[1].result(30)
    filed = [futures[0].result(30), futures[2].result(30)]
    _each_stored_once(balise, {f.report.id for f in filed})
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).where(Job.kind == "demo.noop")) == 0


def test_the_same_key_twice_in_one_group_is_one_report_and_a_replay(balise, filer):
    groups = balise.intake_groups
    release, _ = _hold_the_committer(groups)
    a = filer.file(_document(7), key="twice")
    _until_waiting(groups, 1)
    b = filer.file(_document(7), key="twice")
    _until_waiting(groups, 2)
    release.set()
    first, second = a.result(30), b.result(30)
    assert not first.replayed and second.replayed
    assert first.report.id == second.report.id
    assert _reports(balise) == 1


def test_a_group_whose_commit_fails_files_each_report_alone(balise, filer, db_url):
    groups = balise.intake_groups
    fail = {"left": 1}
    new_session = groups._new_session

    def sessions_whose_first_commit_fails() -> Session:
        session = new_session()

        @event.listens_for(session, "before_commit")
        def refuse(s: Session) -> None:
            if fail["left"] and not s.in_nested_transaction():  # the commit, not a savepoint's release
                fail["left"] -= 1
                raise RuntimeError("DEMO: the disk is full")

        return session

    groups._new_session = sessions_whose_first_commit_fails  # type: ignore[method-assign]
    release, held = _hold_the_committer(groups)
    futures = [filer.file(_document(n)) for n in range(4)]
    _until_waiting(groups, 4)
    release.set()
    # The held unit's group was the one refused: it ran again alone, as did nothing else.
    assert held.result(30) == "held"
    filed = [f.result(30) for f in futures]
    assert len({f.report.id for f in filed}) == 4
    assert fail["left"] == 0
    with balise.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 4
        assert balise.audit.verify(s).ok


def test_a_commit_refused_for_a_group_of_reports_stores_each_once(balise, filer):
    groups = balise.intake_groups
    new_session = groups._new_session
    refused: list[int] = []
    committed = {"reports": 0}

    def sessions_refusing_groups() -> Session:
        session = new_session()

        @event.listens_for(session, "before_commit")
        def refuse(s: Session) -> None:
            # The reports this transaction adds (the group's rows are written before its commit).
            stored = s.scalar(select(func.count()).select_from(Report))
            if stored - committed["reports"] > 1:
                refused.append(stored - committed["reports"])
                raise RuntimeError("DEMO: a group is refused")
            committed["reports"] = stored

        return session

    release, _ = _hold_the_committer(groups)
    groups._new_session = sessions_refusing_groups  # type: ignore[method-assign]
    futures = [filer.file(_document(n)) for n in range(5)]
    _until_waiting(groups, 5)
    release.set()
    filed = [f.result(30) for f in futures]
    assert refused, "the group was never refused: the test proved nothing"
    # Each report stored exactly once, though its unit ran twice.
    assert len({f.report.id for f in filed}) == 5
    _each_stored_once(balise, {f.report.id for f in filed})


def test_each_report_runs_in_its_callers_context(balise, filer):
    groups = balise.intake_groups
    release, _ = _hold_the_committer(groups)
    futures = {f"req-{n}": filer.file(_document(n), request_id=f"req-{n}") for n in range(5)}
    _until_waiting(groups, 5)
    release.set()
    by_report = {str(f.result(30).report.id): rid for rid, f in futures.items()}
    with balise.db.sessions() as s:
        jobs = s.execute(select(Job.payload, Job.request_id).where(Job.kind == TRIAGE_JOB)).all()
    assert {p["report_id"]: rid for p, rid in jobs} == by_report


def test_closing_commits_what_waits_and_later_reports_commit_alone(settings: Settings):
    balise = Balise(settings)
    filer = _Filer(balise)
    try:
        groups = balise.intake_groups
        release, _ = _hold_the_committer(groups)
        futures = [filer.file(_document(n)) for n in range(3)]
        _until_waiting(groups, 3)
        closer = threading.Thread(target=groups.close)
        closer.start()
        release.set()
        closer.join(30)
        assert not closer.is_alive()
        # close returned once what waited was committed.
        assert _reports(balise) == 3
        assert len({f.result(30).report.id for f in futures}) == 3
        assert groups._thread is not None and not groups._thread.is_alive()
        # After close no committer runs: a report is filed in its caller's own transaction.
        committed = groups.groups_committed
        filer.file(_document(9)).result(30)
        assert groups.groups_committed == committed
        assert _reports(balise) == 4
    finally:
        # Without waiting: a unit close() left behind would never be answered.
        filer.pool.shutdown(wait=False, cancel_futures=True)
        balise.close()


def test_a_group_size_of_one_files_each_report_in_its_own_transaction(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, intake_group_size=1))
    filer = _Filer(balise)
    try:
        filed = [f.result(30) for f in [filer.file(_document(n)) for n in range(3)]]
        assert len({f.report.id for f in filed}) == 3
        assert balise.intake_groups._thread is None
        assert _reports(balise) == 3
    finally:
        filer.pool.shutdown(wait=True)
        balise.close()


@pytest.mark.parametrize("size", [0, 65, -1])
def test_a_group_size_outside_1_to_64_is_refused(tmp_path, size):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="intake_group_size"):
        Settings(env="development", data_dir=tmp_path, intake_group_size=size)
    with pytest.raises(ValueError, match="1 to 64"):
        TransactionGroups(lambda: None, lambda session, tails: None, max_units=size)  # type: ignore[arg-type,return-value]


def test_a_group_holds_at_most_its_size(balise, filer):
    groups = balise.intake_groups
    groups.max_units = 4
    release, _ = _hold_the_committer(groups)
    before = groups.groups_committed
    futures = [filer.file(_document(n)) for n in range(10)]
    _until_waiting(groups, 10)
    release.set()
    assert len({f.result(30).report.id for f in futures}) == 10
    assert groups.groups_committed == before + 1 + 3  # 4 + 4 + 2


def test_the_api_answers_201_for_reports_filed_together(client, balise):
    """Through HTTP, as providers send: concurrent hash-only reports, every 201 a stored row."""
    _, key = make_provider(balise, "DEMO Platform")
    headers = {"Authorization": f"Bearer {key}"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: client.post("/api/v1/reports", json=_document(n), headers=headers),
                                range(24)))
    assert [a.status_code for a in answers] == [201] * 24
    ids = {a.json()["id"] for a in answers}
    with balise.db.sessions() as s:
        assert {str(i) for i in s.scalars(select(Report.id))} == ids
        assert balise.audit.verify(s).ok



def test_a_forked_process_files_through_a_committer_of_its_own(balise, filer):
    """A process forked after the parent's committer started (a pre-forking server) inherits
    no thread: its reports still commit, through a committer it starts itself."""
    import multiprocessing

    filer.file(_document(1)).result(30)
    assert balise.intake_groups._thread is not None and balise.intake_groups._thread.is_alive()
    balise.db.engine.dispose(close=False)  # the child must not share the parent's connections
    context = multiprocessing.get_context("fork")
    answer = context.Queue()

    def child() -> None:
        try:
            balise.db.engine.dispose(close=False)
            groups = balise.intake_groups
            inherited = groups._thread
            report = ReportIn.model_validate(_document(2))
            result = balise.intake.file(actor=filer.actor, organisation_id=filer.org, report=report, files={},
                                        fingerprint=request_fingerprint(_document(2), {}), idempotency_key=None,
                                        grouped=True)
            answer.put((inherited is None, groups._thread is not None and groups._thread.is_alive(),
                        str(result.report.id)))
        except BaseException as exc:  # the parent reads what went wrong
            answer.put(("error", repr(exc), ""))

    process = context.Process(target=child)
    process.start()
    try:
        reset, own_committer, report_id = answer.get(timeout=30)
    finally:
        process.join(10)
        if process.is_alive():  # a child waiting for a committer that never comes
            process.kill()
            process.join()
    assert (reset, own_committer) == (True, True), (reset, own_committer)
    with balise.db.sessions() as s:
        assert s.get(Report, uuid.UUID(report_id)) is not None
        assert s.scalar(select(func.count()).select_from(Report)) == 2


def test_a_unit_cannot_file_another_from_inside_its_group(balise):
    groups = balise.intake_groups

    def nested(session: Session) -> tuple[str, list[Any]]:
        return groups.run(lambda s: ("inner", [])), []

    with pytest.raises(RuntimeError, match="cannot run another unit"):
        groups.run(nested)
    assert _reports(balise) == 0
