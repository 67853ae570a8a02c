"""The DEMO data shows the oversight features: DEMO match queries in the match access log and,
with BALISE_CHECKPOINT_DIR set (as `make run` sets it), a signed checkpoint that verifies."""

from __future__ import annotations

from sqlalchemy import select

from balise.adapters.db.models import AuditRecord, MatchAccessBatch
from balise.demo import seed
from balise.governance.checkpoints import checkpoint_files
from tests.checkpoint_support import checkpoint_balise, cli_env
from tests.cli_support import run_cli


def test_the_demo_logs_match_queries_and_writes_a_checkpoint(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url)
    try:
        seed(balise, reports=0)
        with balise.db.sessions() as s:
            batches = s.execute(select(MatchAccessBatch)).scalars().all()
            entries = [e for b in batches for e in b.entries]
            event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:checkpoint")).scalar_one()
        # Answered under the DEMO provider's live access grant, as through the API.
        assert len(entries) == 3 and all(e["grant_id"] for e in entries)
        assert all(e["purpose"] == f"provider match query (DEMO); under grant {e['grant_id']}: DEMO: check uploads "
                   "against the indicators before publication" for e in entries)
        [path] = checkpoint_files(balise.settings.checkpoint_dir)
        assert event.details["file"] == path.name and event.details["access_log_seq"] == len(batches)
        result = run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(balise.settings.checkpoint_dir))
        assert result.returncode == 0, result.stdout
    finally:
        balise.close()
