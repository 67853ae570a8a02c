"""Reveal tokens do not pile up: retention deletes each an hour after it expired, whether it was
used or not, and keeps the ones still within that hour (a late use is then refused as expired,
not unknown). The reveal itself stays in the audit trail."""

from __future__ import annotations

from sqlalchemy import func, select

from balise.adapters.db.models import RevealToken
from balise.demo import demo_image
from balise.domain.retention import Rule
from tests.exposure_support import analyst, claim, events, file_report, reveal_url, workbench


def tokens(balise) -> int:
    with balise.db.sessions() as s:
        return s.execute(select(func.count()).select_from(RevealToken)).scalar()


def test_expired_reveal_tokens_are_deleted_an_hour_after_expiry_and_the_reveal_stays_audited(tmp_path, db_url):
    with workbench(tmp_path, db_url) as (balise, clock, key):
        report_id, (item_id,) = file_report(balise, key, [("p.jpg", demo_image(71, (320, 240)), "image/jpeg")])
        with analyst(balise, "ana") as ana:
            claim(ana, report_id)
            used = reveal_url(ana, item_id, "age")
            assert ana.get(used).status_code == 200
            reveal_url(ana, item_id, "age")  # never used
            assert tokens(balise) == 2

            clock.advance(minutes=30)  # both expired (60 s), not yet an hour ago
            assert balise.retention.run(dry_run=True).housekeeping[Rule.REVEAL_TOKENS] == 0
            assert balise.retention.run().housekeeping[Rule.REVEAL_TOKENS] == 0
            assert tokens(balise) == 2

            clock.advance(minutes=31)
            assert balise.retention.run(dry_run=True).housekeeping[Rule.REVEAL_TOKENS] == 2
            assert tokens(balise) == 2  # a dry run deletes nothing
            assert balise.retention.run().housekeeping[Rule.REVEAL_TOKENS] == 2
            assert tokens(balise) == 0
        assert len(events(balise, "media:reveal")) == 2
