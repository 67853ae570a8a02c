"""`balise audit verify --checkpoints DIR` holds the database against signed checkpoints written
outside it: a truncated tail, a rewritten tail, a rolled-back database, a tampered checkpoint
file and a checkpoint signed by another key all fail, naming the checkpoint."""

from __future__ import annotations

import json

import pytest

from balise.evidence.adapters.signing import write_new_key
from tests.checkpoint_support import (
    add_access_batches,
    add_events,
    checkpoint_balise,
    cli_env,
    copy_of_trail,
    cut_audit_tail,
    exec_sql,
    restore,
    rewrite_audit_tail,
)
from tests.cli_support import run_cli


@pytest.fixture
def balise(tmp_path, db_url):
    app = checkpoint_balise(tmp_path, db_url)
    yield app
    app.close()


def checkpoint(balise) -> str:
    result = run_cli(cli_env(balise), "audit", "checkpoint")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1].rsplit("/", 1)[1].rstrip(":")


def verify(balise, *extra: str):
    return run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(balise.settings.checkpoint_dir), *extra)


def test_an_untouched_trail_agrees_with_its_checkpoints(balise):
    add_events(balise, 5)
    add_access_batches(balise, 2)
    checkpoint(balise)
    add_events(balise, 3)
    latest = checkpoint(balise)
    result = verify(balise)
    assert result.returncode == 0, result.stdout
    assert "OK: 2 checkpoints" in result.stdout and latest in result.stdout


def test_the_issue_s_truncation_passes_the_chain_but_not_the_checkpoint(balise):
    add_events(balise, 10)
    name = checkpoint(balise)
    cut_audit_tail(balise, 4)
    # The chain alone says nothing: that is the hole the checkpoints close.
    assert run_cli(cli_env(balise), "audit", "verify").returncode == 0
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {name}" in result.stdout and "events were deleted after the checkpoint" in result.stdout


def test_a_rewritten_tail_with_recomputed_macs_is_named(balise):
    add_events(balise, 10)
    name = checkpoint(balise)
    rewrite_audit_tail(balise, 4)
    assert run_cli(cli_env(balise), "audit", "verify").returncode == 0
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {name}" in result.stdout and "was rewritten after the checkpoint" in result.stdout


def test_a_database_restored_from_an_older_copy_is_detected(balise):
    add_events(balise, 5)
    add_access_batches(balise, 1)
    backup = copy_of_trail(balise)
    add_events(balise, 5)
    add_access_batches(balise, 2)
    name = checkpoint(balise)
    restore(balise, backup)
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {name}" in result.stdout and "rolled back" in result.stdout
    assert "the match access log" in result.stdout


def test_a_checkpoint_written_after_a_rollback_is_named_against_the_one_before(balise):
    add_events(balise, 3)
    backup = copy_of_trail(balise)
    add_events(balise, 5)
    first = checkpoint(balise)
    restore(balise, backup)
    second = checkpoint(balise)
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {second} records event 3, below event 8 of the earlier checkpoint {first}" in result.stdout


def test_a_truncated_access_log_is_detected(balise):
    add_access_batches(balise, 4)
    name = checkpoint(balise)
    exec_sql(balise, "DELETE FROM match_access_batches WHERE seq > 2")
    exec_sql(balise, "UPDATE match_access_head SET seq = 2, mac = (SELECT mac FROM match_access_batches WHERE seq = 2)")
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {name}" in result.stdout and "batch 4 of the match access log" in result.stdout


def test_a_tampered_checkpoint_file_is_named(balise):
    add_events(balise, 4)
    name = checkpoint(balise)
    path = balise.settings.checkpoint_dir / name
    doc = json.loads(path.read_text())
    doc["checkpoint"]["audit"]["seq"] = 2  # as if the trail had been shorter
    path.write_text(json.dumps(doc))
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {name} was altered: its signature does not match its content" in result.stdout


def test_a_checkpoint_signed_by_another_key_is_named(balise, tmp_path):
    add_events(balise, 4)
    checkpoint(balise)
    other_key = tmp_path / "other-key.pem"
    write_new_key(other_key)
    env = {**cli_env(balise), "BALISE_CHECKPOINT_KEY_FILE": str(other_key)}
    forged = run_cli(env, "audit", "checkpoint").stdout.split()[1].rsplit("/", 1)[1].rstrip(":")
    result = verify(balise)
    assert result.returncode == 1
    assert f"checkpoint {forged} is signed by key" in result.stdout and "which is not the checkpoint key" in result.stdout


def test_a_file_that_is_not_a_checkpoint_is_named(balise):
    add_events(balise, 1)
    checkpoint(balise)
    (balise.settings.checkpoint_dir / "checkpoint-zz.json").write_text("{\"checkpoint\": 1}")
    result = verify(balise)
    assert result.returncode == 1
    assert "checkpoint checkpoint-zz.json is not a Balise checkpoint" in result.stdout


def test_an_empty_or_missing_directory_is_refused(balise, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(tmp_path / "empty"))
    assert result.returncode == 1 and "holds no checkpoint" in result.stdout
    result = run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "is not a directory" in result.stderr


def test_verification_with_the_published_public_key_alone(balise, tmp_path):
    add_events(balise, 2)
    checkpoint(balise)
    public = tmp_path / "checkpoint-public.pem"
    public.write_text(run_cli(cli_env(balise), "audit", "public-key").stdout)
    assert verify(balise, "--public-key", str(public)).returncode == 0
    other = tmp_path / "other.pem"
    write_new_key(other)
    wrong = tmp_path / "wrong-public.pem"
    wrong.write_text(run_cli({**cli_env(balise), "BALISE_CHECKPOINT_KEY_FILE": str(other)}, "audit", "public-key").stdout)
    result = verify(balise, "--public-key", str(wrong))
    assert result.returncode == 1 and "which is not the checkpoint key" in result.stdout
