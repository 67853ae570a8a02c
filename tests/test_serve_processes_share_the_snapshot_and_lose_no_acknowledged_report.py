"""`balise serve --workers N` (issue 19 item 4) as real processes on loopback: every API
process maps the host's one PDQ snapshot (mmap) rather than holding its own copy, an indicator
added in the database is matched by every process shortly after; and a server killed with
SIGKILL in the middle of filing loses no report it had answered 201 for (each acknowledged id
is in the database)."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from balise.accounts.actors import Actor
from balise.container import Balise
from balise.detection.matching_types import HashQuery
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import Scope
from tests.conftest import make_settings
from tests.helpers import auth, make_provider, minimal_report
from tests.servers import running_server, wait_for

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def setup(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, db_url)
    balise = Balise(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
    env.update(BALISE_ENV="development", BALISE_DATA_DIR=str(settings.data_dir), BALISE_DATABASE_URL=db_url,
               BALISE_FETCH_RESOLVER="static", BALISE_API_RATE_LIMIT="100000/minute",
               BALISE_RUN_JOBS_IN_SERVER="false")
    yield balise, env
    balise.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_two_processes_map_one_snapshot_and_both_see_a_new_indicator(setup):
    balise, env = setup
    _, key = make_provider(balise, "DEMO Matcher", scopes=(Scope.MATCH,))
    with running_server(env, startup_seconds=300, workers=2) as (base, proc):
        servers = [c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(servers) == 2
        snapshot = str(balise.settings.data_dir / "index" / "pdq")
        # /readyz answered from one process; the other may still be loading its index.
        def maps() -> list[bool]:
            return [snapshot in Path(f"/proc/{pid}/maps").read_text() for pid in servers]
        assert wait_for(lambda: all(maps()), 120), f"each process maps the host's snapshot: {maps()}"
        body = {"hashes": [{"type": "pdq", "value": PDQ}]}
        with httpx.Client(base_url=base, headers=auth(key), timeout=30) as client:
            assert client.post("/api/v1/match", json=body).json()["matched"] == 0
            with balise.db.transaction() as session:
                balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=PDQ,
                                      kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "test"})
            # 20 answers in a row with the match: both processes (the kernel spreads the
            # connections) have it, whichever answers.
            def all_see() -> bool:
                return all(httpx.post(f"{base}/api/v1/match", json=body, headers=auth(key), timeout=30)
                           .json()["matched"] == 1 for _ in range(20))
            assert wait_for(all_see, 60, 0.1)
    assert balise.matcher.match([HashQuery("pdq", PDQ)])[0].matches


def test_kill_9_during_intake_loses_no_acknowledged_report(setup):
    balise, env = setup
    _, key = make_provider(balise, "DEMO Platform")
    acknowledged: list[str] = []
    errors: list[str] = []
    stop = threading.Event()
    with running_server(env, startup_seconds=300) as (base, proc):
        def file_reports() -> None:
            with httpx.Client(base_url=base, headers=auth(key), timeout=30) as client:
                while not stop.is_set():
                    try:
                        response = client.post("/api/v1/reports", json=minimal_report(
                            items=[{"kind": "hash_only", "hashes": {"md5": uuid.uuid4().hex}}]))
                    except httpx.HTTPError as exc:
                        errors.append(type(exc).__name__)
                        return
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])

        threads = [threading.Thread(target=file_reports) for _ in range(4)]
        for t in threads:
            t.start()
        assert wait_for(lambda: len(acknowledged) >= 20, 120, 0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
    assert errors, "the clients saw the server go away mid-flight"
    from sqlalchemy import select

    from balise.adapters.db.models import Report

    with balise.db.sessions() as session:
        stored = {str(r) for r in session.execute(select(Report.id)).scalars()}
    assert set(acknowledged) <= stored
