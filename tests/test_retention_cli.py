"""`balise retention status|run [--dry-run]`, run as an operator would (the real command, in
this process, on the service's database, with the real clock): status counts what is due, the
next due date and the exemptions; a dry run lists what would go and changes nothing; a run does
it and says so."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Person, Report
from tests.helpers import make_provider
from tests.retention_support import app_on_clock, cli, close_unfounded, file_media_report, picture, vault_file
from tests.takedown_support import Clock


def _counts(app) -> tuple[int, int, int]:
    with app.db.sessions() as s:
        return (s.execute(select(func.count()).select_from(AuditRecord)).scalar(),
                s.execute(select(func.count()).select_from(Person)).scalar(),
                s.execute(select(func.count()).select_from(Report).where(Report.redacted_at.is_not(None))).scalar())


def _setup(tmp_path, db_url):
    """Three reports filed and decided 100 days ago: one due, one under a hold, one still open."""
    clock = Clock(datetime.now(timezone.utc) - timedelta(days=100))
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    due, held, still_open = (file_media_report(app, key, picture(seed)) for seed in (51, 52, 53))
    app.run_jobs()
    close_unfounded(app, due)
    close_unfounded(app, held)
    app.run_jobs()
    with app.db.transaction() as s:
        app.holds.set(s, Actor.system("test-police"), held, do_not_inform=True, do_not_remove=False,
                      authority="DEMO unit", expires_at=clock.now + timedelta(days=200))
    with app.db.sessions() as s:
        sha = s.get(Report, due).items[0].vault_object
    return app, due, held, still_open, sha


def test_status_dry_run_and_run(tmp_path, db_url):
    app, due, held, still_open, sha = _setup(tmp_path, db_url)

    status = cli(app, "retention", "status", "--json")
    assert status.returncode == 0, status.stderr
    rules = {r["rule"]: r for r in json.loads(status.stdout)["rules"]}
    assert rules["unfounded"]["due_now"] == 1 and rules["unfounded"]["period_days"] == 90
    assert rules["unfounded"]["exempt"] == {"law_enforcement_hold": 1}
    assert rules["forwarded"]["due_now"] == 0 and rules["jobs"]["period_days"] == 30
    assert json.loads(status.stdout)["open_reports"] == 1
    text = cli(app, "retention", "status").stdout
    assert "unfounded" in text and "law_enforcement_hold 1" in text and "open reports" in text

    before = _counts(app)
    dry = cli(app, "retention", "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run (nothing changed)" in dry.stdout
    assert "unfounded: 1 report(s) would be redacted" in dry.stdout and f"  {due}" in dry.stdout
    assert f"{held}: hold until" in dry.stdout and "law_enforcement_hold: 1" in dry.stdout
    # Counts per rule, right under its report ids, and in all.
    per_rule = dry.stdout.split(f"  {due}\n  would remove: ", 1)[1].split("\n", 1)[0]
    assert "persons 1" in per_rule and "vault_objects 1" in per_rule and "victims 1" in per_rule
    assert "would remove in all: " in dry.stdout
    assert str(still_open) not in dry.stdout
    # Nothing changed, not even the audit trail.
    assert _counts(app) == before and vault_file(app, sha).exists()

    done = cli(app, "retention", "run")
    assert done.returncode == 0, done.stderr
    assert "unfounded: 1 report(s) were redacted" in done.stdout and f"  {due}" in done.stdout
    per_rule = done.stdout.split(f"  {due}\n  removed: ", 1)[1].split("\n", 1)[0]
    assert "persons 1" in per_rule and "vault_objects 1" in per_rule and "removed in all: " in done.stdout
    assert f"{held}: hold until" in done.stdout
    with app.db.sessions() as s:
        assert s.get(Report, due).redacted_at is not None
        assert s.get(Report, held).redacted_at is None and s.get(Report, still_open).redacted_at is None
        run = s.execute(select(AuditRecord).where(AuditRecord.event_type == "retention:run")).scalar_one()
    assert run.actor_id == "cli" and run.details["reports_exempt"]["law_enforcement_hold"] == 1
    assert run.details["removed_by_rule"]["unfounded"]["persons"] == 1
    assert not vault_file(app, sha).exists()

    after = json.loads(cli(app, "retention", "status", "--json").stdout)
    assert after["redacted_reports"] == 1
    assert {r["rule"]: r["due_now"] for r in after["rules"]}["unfounded"] == 0
    as_json = json.loads(cli(app, "retention", "run", "--dry-run", "--json").stdout)
    assert as_json["dry_run"] is True and as_json["redacted"]["unfounded"] == []
    assert as_json["exempt"]["law_enforcement_hold"][0]["report"] == str(held)
    app.close()


def test_a_shorter_period_set_in_the_environment_applies(tmp_path, db_url):
    clock = Clock(datetime.now(timezone.utc) - timedelta(days=10))
    app = app_on_clock(tmp_path, db_url, clock)
    _, key = make_provider(app)
    report_id = file_media_report(app, key, picture(54))
    app.run_jobs()
    close_unfounded(app, report_id)
    app.run_jobs()
    assert "unfounded: 0 report(s) would be redacted" in cli(app, "retention", "run", "--dry-run").stdout
    result = cli(app, "retention", "run", BALISE_RETENTION_UNFOUNDED_DAYS="7")
    assert "unfounded: 1 report(s) were redacted" in result.stdout and str(report_id) in result.stdout
    app.close()


def test_invalid_retention_settings_stop_the_command_with_the_setting_named(tmp_path, db_url):
    app = app_on_clock(tmp_path, db_url, Clock())
    result = cli(app, "retention", "run", BALISE_RETENTION_FORWARDED_DAYS="0")
    assert result.returncode == 2 and result.stdout == ""
    assert "BALISE_RETENTION_FORWARDED_DAYS must be at least 1 day, not 0" in result.stderr
    assert _counts(app)[0] == 0  # nothing ran
    app.close()
