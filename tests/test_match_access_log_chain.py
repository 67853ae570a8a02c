"""The match access log is written in batches (at most BALISE_MATCH_LOG_BATCH_SIZE entries, at
least every BALISE_MATCH_LOG_FLUSH_MS) and chained: `balise audit verify` names an altered,
removed or reordered batch, and two writers (two processes) never fork the chain."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from balise.adapters.db.models import MatchAccessBatch
from balise.container import Balise
from balise.domain.checkpoints import match_entry
from tests.checkpoint_support import cli_env, exec_sql
from tests.cli_support import run_cli
from tests.conftest import make_settings


def entry(balise: Balise, i: int) -> dict:
    return match_entry(at=balise.clock(), actor_type="organisation", actor_id="o", organisation_id="o", key_id="k",
                       grant_id=None, purpose="provider match query", hash_types=["md5"] * (i % 3 + 1),
                       threshold=31, matched_hashes=0, indicator_ids=[])


@pytest.fixture
def balise(tmp_path, db_url):
    app = Balise(make_settings(tmp_path, db_url, match_log_batch_size=10, match_log_flush_ms=50,
                               checkpoint_dir=tmp_path / "cp"))
    yield app
    app.close()


def batches(balise: Balise) -> list[MatchAccessBatch]:
    with balise.db.sessions() as s:
        return list(s.execute(select(MatchAccessBatch).order_by(MatchAccessBatch.seq)).scalars())


def test_entries_are_written_in_batches_by_the_background_writer(balise):
    for i in range(25):
        balise.match_log.append(entry(balise, i))
    # Nobody flushes: the writer writes the full batches and, after the interval, the rest.
    deadline = time.monotonic() + 10
    while sum(b.entry_count for b in batches(balise)) < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
    written = batches(balise)
    assert sum(b.entry_count for b in written) == 25
    assert all(b.entry_count <= 10 for b in written) and len(written) >= 3
    assert [e["hashes"] for b in written for e in b.entries] == [i % 3 + 1 for i in range(25)]


def test_an_untouched_log_verifies_and_the_cli_says_how_many_batches(balise):
    for i in range(12):
        balise.match_log.append(entry(balise, i))
    balise.match_log.flush()
    with balise.db.sessions() as s:
        assert balise.match_log.verify(s).ok
    result = run_cli(cli_env(balise), "audit", "verify")
    assert result.returncode == 0 and f"{len(batches(balise))} access log batches, chain intact" in result.stdout


@pytest.mark.parametrize(("attack", "message"), [
    ("UPDATE match_access_batches SET entry_count = 5 WHERE seq = 2", "access log batch 2 was altered"),
    ("UPDATE match_access_batches SET prev_mac = mac WHERE seq = 2", "access log batch 2 does not follow batch 1"),
    ("DELETE FROM match_access_batches WHERE seq = 2", "access log batch 2 is missing"),
    ("DELETE FROM match_access_batches WHERE seq = 3", "access log batches 3..3 are missing"),
])
def test_a_changed_or_removed_batch_is_named(balise, attack, message):
    for n in range(3):
        balise.match_log.append(entry(balise, n))
        balise.match_log.flush()
    for statement in attack.split("; "):
        exec_sql(balise, statement)
    result = run_cli(cli_env(balise), "audit", "verify")
    assert result.returncode == 1 and message in result.stdout


def test_an_altered_entry_is_named(balise):
    balise.match_log.append(entry(balise, 0))
    balise.match_log.flush()
    with balise.db.transaction() as s:
        row = s.get(MatchAccessBatch, 1)
        row.entries = [{**row.entries[0], "purpose": "something else"}]
    result = run_cli(cli_env(balise), "audit", "verify")
    assert result.returncode == 1 and "access log batch 1 was altered" in result.stdout


def test_two_writers_share_one_chain(tmp_path, db_url, balise):
    # A second process's log on the same database (two `balise serve` workers).
    other = Balise(make_settings(tmp_path, db_url, match_log_batch_size=3, match_log_flush_ms=5))
    try:
        def feed(app: Balise) -> None:
            for i in range(30):
                app.match_log.append(entry(app, i))
                time.sleep(0.001)
            app.match_log.flush()

        threads = [threading.Thread(target=feed, args=(app,)) for app in (balise, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with balise.db.sessions() as s:
            assert balise.match_log.verify(s).ok
        assert sum(b.entry_count for b in batches(balise)) == 60
    finally:
        other.close()


def test_balise_match_on_the_command_line_is_one_entry(balise):
    result = run_cli(cli_env(balise), "match", "md5", "d35c785545392755e7e4164457657269", "0" * 32)
    assert result.returncode == 1  # nothing matched: there are no indicators
    [batch] = batches(balise)
    [logged] = batch.entries
    assert {k: logged[k] for k in ("actor", "organisation", "purpose", "hashes", "algorithms", "matched")} == {
        "actor": "system:cli", "organisation": None, "purpose": "match from CLI", "hashes": 2,
        "algorithms": {"md5": 2}, "matched": 0}
    assert "d35c785545392755e7e4164457657269" not in str(logged)
