"""`balise grant`: a request entered on an organisation's behalf (bad input refused with the
reason, nothing stored), decisions by named administrators (two for a download), and the
Art. 46(7) review listing grants unused for 90 days and grants ending within 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from balise.adapters.db.models import AccessGrant
from balise.container import Balise
from balise.settings import Settings
from tests.cli_support import run_cli
from tests.servers import clean_env

UNTIL = (datetime.now(timezone.utc) + timedelta(days=200)).date().isoformat()


def ok(env, *args, input=None) -> str:
    r = run_cli(env, *args, input=input)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def setup(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    ok(env, "db", "upgrade")
    ok(env, "org", "create", "Hotline", "--kind", "hotline", "--no-key")
    for name, role in (("anne", "admin"), ("ben", "admin"), ("ana", "analyst")):
        ok(env, "user", "create", name, "--role", role, "--password-stdin", input="correct horse battery\n")
    return env


def request(env, *extra):
    return run_cli(env, "grant", "request", "Hotline", "--database", "known_indicators", "--purpose", "block hashes",
                   "--legal-basis", "hotline agreement", "--until", UNTIL, *extra)


def requested(env, *extra) -> str:
    r = request(env, *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def grant_count(db_url, tmp_path) -> int:
    balise = Balise(Settings(env="development", data_dir=tmp_path / "data", database_url=db_url))
    try:
        with balise.db.sessions() as s:
            return s.execute(select(func.count()).select_from(AccessGrant)).scalar_one()
    finally:
        balise.close()


def test_bad_requests_are_refused_with_the_reason_and_store_nothing(tmp_path, db_url):
    env = setup(tmp_path, db_url)
    for extra, words in ((("--operation", "fly"), "unknown operation 'fly'"),
                         (("--operation", "match", "--until", "2099-01-01"), "at most 24 months"),
                         (("--operation", "match", "--from", UNTIL, "--until", "2026-01-01"), "before it starts"),
                         (("--operation", "match", "--purpose", " "), "state the purpose")):
        r = request(env, *extra)
        assert r.returncode == 2 and words in r.stderr and "nothing stored" in r.stderr, (extra, r.stderr)
    assert grant_count(db_url, tmp_path) == 0


def test_a_download_grant_is_approved_by_two_named_administrators(tmp_path, db_url):
    env = setup(tmp_path, db_url)
    assert "grant 1 requested" in requested(env, "--operation", "download")
    refused = run_cli(env, "grant", "approve", "1", "--reason", "checked", "--by", "ana")
    assert refused.returncode == 2 and "not admin" in refused.stderr
    assert "a second, different administrator" in ok(env, "grant", "approve", "1", "--reason", "checked", "--by", "anne")
    again = run_cli(env, "grant", "approve", "1", "--reason", "checked twice", "--by", "anne")
    assert again.returncode == 1 and "anne gave the first approval" in again.stderr
    assert "grant 1 is approved" in ok(env, "grant", "approve", "1", "--reason", "agreed", "--by", "ben")
    assert "grant 1 is revoked" in ok(env, "grant", "revoke", "1", "--reason", "agreement ended", "--by", "anne")
    assert "[revoked] download" in ok(env, "grant", "list", "--org", "Hotline")


def test_the_review_lists_unused_and_ending_grants_and_waiting_requests(tmp_path, db_url):
    env = setup(tmp_path, db_url)
    soon = (datetime.now(timezone.utc) + timedelta(days=10)).date().isoformat()
    requested(env, "--operation", "match", "--until", soon)  # 1: ends soon
    requested(env, "--operation", "match")  # 2: used recently
    requested(env, "--operation", "match")  # 3: waiting
    ok(env, "grant", "approve", "1", "--reason", "agreed", "--by", "anne")
    ok(env, "grant", "approve", "2", "--reason", "agreed", "--by", "anne")
    balise = Balise(Settings(env="development", data_dir=tmp_path / "data", database_url=db_url))
    try:
        with balise.db.transaction() as s:
            now = datetime.now(timezone.utc)
            # Approved half a year ago; 1 never used since, 2 used yesterday.
            for grant_id, used in ((1, None), (2, now - timedelta(days=1))):
                grant = s.get(AccessGrant, grant_id)
                grant.decided_at, grant.last_used_at = now - timedelta(days=180), used
    finally:
        balise.close()
    out = ok(env, "grant", "review")
    lines = out.splitlines()
    unused = lines.index("unused for 90 days or more: 1")
    assert lines[unused + 1].startswith("  grant 1 [approved]") and lines[unused + 1].endswith("never used")
    assert lines[unused + 2] == "ending within 30 days: 1"
    assert lines[unused + 3].startswith("  grant 1 [approved]") and "day(s) left" in lines[unused + 3]
    assert lines[unused + 4] == "waiting for a decision: 1"
    assert lines[unused + 5].startswith("  grant 3 [requested]")
