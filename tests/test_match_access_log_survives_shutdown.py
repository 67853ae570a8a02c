"""A real `balise serve`: SIGTERM writes every match access log entry still waiting (nothing
answered is lost on a clean stop); SIGKILL loses at most the batch being gathered, never a
batch already written."""

from __future__ import annotations

import signal

import httpx
from sqlalchemy import func, select

from balise.adapters.db.models import MatchAccessBatch
from balise.container import Balise
from balise.domain.model import Scope
from tests.conftest import make_settings
from tests.helpers import auth, make_provider
from tests.servers import clean_env, running_server, wait_for

MD5 = "d35c785545392755e7e4164457657269"


def entries(balise: Balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.coalesce(func.sum(MatchAccessBatch.entry_count), 0))).scalar_one()


def serve_env(balise: Balise, **extra: str) -> dict[str, str]:
    return clean_env(balise.settings.data_dir, BALISE_DATABASE_URL=str(balise.settings.database_url),
                     BALISE_RUN_JOBS_IN_SERVER="false", **extra)


def match(base: str, key: str, n: int) -> None:
    with httpx.Client(base_url=base, headers=auth(key), timeout=30) as client:
        for _ in range(n):
            assert client.post("/api/v1/match", json={"hashes": [{"type": "md5", "value": MD5}]}).status_code == 200


def test_sigterm_writes_every_waiting_entry(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    try:
        _, key = make_provider(balise, "Matcher", scopes=(Scope.MATCH,))
        # Batches would wait a minute or 1,000 entries: only the shutdown can write these.
        with running_server(serve_env(balise, BALISE_MATCH_LOG_FLUSH_MS="60000")) as (base, proc):
            match(base, key, 7)
            assert entries(balise) == 0
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down (the app's lifespan end writes the log), then re-raises SIGTERM.
            assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert entries(balise) == 7
        with balise.db.sessions() as s:
            assert balise.match_log.verify(s).ok
    finally:
        balise.close()


def test_sigkill_loses_at_most_the_batch_being_gathered(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    try:
        _, key = make_provider(balise, "Matcher", scopes=(Scope.MATCH,))
        env = serve_env(balise, BALISE_MATCH_LOG_FLUSH_MS="60000", BALISE_MATCH_LOG_BATCH_SIZE="5")
        with running_server(env) as (base, proc):
            match(base, key, 12)
            # Two full batches are written by the writer on its own; two entries wait for a third.
            assert wait_for(lambda: entries(balise) == 10, seconds=10)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert entries(balise) == 10
        with balise.db.sessions() as s:
            assert balise.match_log.verify(s).ok
    finally:
        balise.close()
