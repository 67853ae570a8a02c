"""`balise indicators import|add|add-video` generate indicators only under a coordinating
authority's or a court's decision (CSAR Art. 36, 44): without --authority/--court and
--reference, or naming an organisation that is not a coordinating authority, a precise error and
nothing stored. Each command records ONE Article 36 submission, which every indicator it creates
or changes keeps (provenance, submission id) with a history row (Art. 44(4)), also across the
import's pages of 2,000 lines."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Indicator, IndicatorHistory, IndicatorSubmission
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.servers import clean_env

PDQ = "f" * 64
FRAMES = "0,100,{h},0.0\n1,100,{h},1.0\n".format(h="a5" * 32)


def _lines(n: int) -> str:
    rng = random.Random(16)
    return "".join(f"pdq {rng.getrandbits(256):064x}\n" for _ in range(n))


def _counts(db_url: str, tmp_path) -> tuple[int, int, int]:
    balise = Balise(make_settings(tmp_path, db_url))
    try:
        with balise.db.sessions() as s:
            return (s.scalar(select(func.count()).select_from(Indicator)),
                    s.scalar(select(func.count()).select_from(IndicatorSubmission)),
                    s.scalar(select(func.count()).select_from(IndicatorHistory)))
    finally:
        balise.close()


def test_without_an_authority_s_decision_nothing_is_stored(tmp_path, db_url):
    env = clean_env(tmp_path / "data", BALISE_DATABASE_URL=db_url)
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "org", "create", "DEMO CA", "--kind", "coordinating_authority", "--country", "FR",
                   "--no-key").returncode == 0
    assert run_cli(env, "org", "create", "DEMO Platform", "--kind", "provider", "--country", "FR",
                   "--no-key").returncode == 0
    listing = tmp_path / "list.txt"
    listing.write_text(_lines(3))
    frames = tmp_path / "clip.vpdq"
    frames.write_text(FRAMES)
    cases = [
        (("import", str(listing), "--format", "te"), "an indicator needs an authority's confirmation"),
        (("add", "pdq", PDQ), "name the coordinating authority with --authority ORG, or the court with --court"),
        (("add-video", str(frames)), "an indicator needs an authority's confirmation"),
        (("import", str(listing), "--format", "te", "--authority", "DEMO CA"), "--reference is required"),
        (("add", "pdq", PDQ, "--court", "DEMO Tribunal", "--reference", "  "), "--reference: is required"),
        (("import", str(listing), "--format", "te", "--authority", "DEMO CA", "--court", "DEMO Tribunal",
          "--reference", "R"), "name either --authority or --court, not both"),
        (("import", str(listing), "--format", "te", "--authority", "DEMO Nobody", "--reference", "R"),
         "--authority: no organisation named 'DEMO Nobody' is known to Balise"),
        (("add", "pdq", PDQ, "--authority", "DEMO Platform", "--reference", "R"),
         "--authority 'DEMO Platform': only a coordinating authority submits confirmed material"),
        (("add-video", str(frames), "--authority", "DEMO Platform", "--reference", "R"),
         "only a coordinating authority submits confirmed material"),
        (("import", str(listing), "--format", "te", "--authority", "DEMO Platform", "--reference", "R"),
         "only a coordinating authority submits confirmed material"),
        (("add", "pdq", "12", "--authority", "DEMO CA", "--reference", "R"), "value: pdq must be 64 hex characters"),
    ]
    for args, message in cases:
        r = run_cli(env, "indicators", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert "nothing stored" in r.stderr or "value:" in r.stderr, (args, r.stderr)
    assert _counts(db_url, tmp_path) == (0, 0, 0)


def test_each_command_records_one_submission_that_its_indicators_keep(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    env = clean_env(settings.data_dir, BALISE_DATABASE_URL=settings.sqlalchemy_url)
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "org", "create", "DEMO CA", "--kind", "coordinating_authority", "--country", "FR",
                   "--no-key").returncode == 0
    balise = Balise(settings)
    try:
        # Predates the process: no submission yet; the authority's import will back it.
        listing_text = _lines(4500)
        old_value = listing_text.splitlines()[10].split()[1]
        with balise.db.transaction() as s:
            old = balise.indicators.add(s, Actor.system("test"), algorithm=Algorithm.PDQ, value=old_value,
                                        kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO old list"})
            old_id = old.id
        listing = tmp_path / "list.txt"
        listing.write_text(listing_text)
        r = run_cli(env, "indicators", "import", str(listing), "--format", "te", "--authority", "DEMO CA",
                    "--reference", "DEMO-CA-FR-2026-9")
        assert r.returncode == 0, r.stderr
        assert "imported 4499, updated 1, unchanged 0" in r.stdout and "Article 36 submission 1" in r.stdout
        r = run_cli(env, "indicators", "add", "pdq", PDQ, "--court", "DEMO Tribunal judiciaire de Lyon",
                    "--reference", "DEMO TJ 26/1", "--classification", '{"ncmec_category": "A1"}')
        assert r.returncode == 0, r.stderr
        assert "(created); Article 36 submission 2" in r.stdout
        frames = tmp_path / "clip.vpdq"
        frames.write_text(FRAMES)
        r = run_cli(env, "indicators", "add-video", str(frames), "--authority", "DEMO CA", "--reference", "DEMO-V-1")
        assert r.returncode == 0, r.stderr
        assert "Article 36 submission 3" in r.stdout

        with balise.db.sessions() as s:
            subs = s.execute(select(IndicatorSubmission).order_by(IndicatorSubmission.id)).scalars().all()
            assert [(x.authority, x.reference, x.process, x.channel, x.hash_count) for x in subs] == [
                ("DEMO CA", "DEMO-CA-FR-2026-9", "authority_confirmation", "cli", 4500),
                ("DEMO Tribunal judiciaire de Lyon", "DEMO TJ 26/1", "court_decision", "cli", 1),
                ("DEMO CA", "DEMO-V-1", "authority_confirmation", "cli", 1)]
            assert subs[0].organisation_id is not None and subs[1].organisation_id is None
            by_submission = dict(s.execute(select(Indicator.submission_id, func.count())
                                           .group_by(Indicator.submission_id)).all())
            assert by_submission == {1: 4500, 2: 1, 3: 1}
            new = s.execute(select(Indicator).where(Indicator.algorithm == "pdq", Indicator.id != old_id)
                            .order_by(Indicator.id).limit(1)).scalar_one()
            assert new.provenance["submission"] == {"id": 1, "authority": "DEMO CA",
                                                    "reference": "DEMO-CA-FR-2026-9",
                                                    "process": "authority_confirmation"}
            # Every indicator of the file has its history row, on every page of 2,000 lines.
            history = s.execute(select(IndicatorHistory.action, IndicatorHistory.submission_id, func.count())
                                .where(IndicatorHistory.submission_id == 1)
                                .group_by(IndicatorHistory.action, IndicatorHistory.submission_id)).all()
            assert sorted(history) == [("created", 1, 4499), ("reconfirmed", 1, 1)]
            assert s.scalar(select(func.count(func.distinct(IndicatorHistory.indicator_id)))
                            .where(IndicatorHistory.submission_id == 1)) == 4500
            row = s.execute(select(IndicatorHistory).where(IndicatorHistory.indicator_id == new.id)).scalar_one()
            assert (row.status, row.actor, row.detail["reference"], row.detail["source"]) == (
                "active", "system:cli", "DEMO-CA-FR-2026-9", "list.txt")
            old = s.get(Indicator, old_id)
            assert old.submission_id == 1
            assert [h.action for h in s.execute(select(IndicatorHistory).where(
                IndicatorHistory.indicator_id == old_id).order_by(IndicatorHistory.id)).scalars()] == [
                "created", "reconfirmed"]
            court = s.execute(select(Indicator).where(Indicator.submission_id == 2)).scalar_one()
            assert court.classification == {"ncmec_category": "A1"}
            video = s.execute(select(Indicator).where(Indicator.submission_id == 3)).scalar_one()
            assert video.algorithm == "vpdq"
            assert [(h.action, h.submission_id) for h in s.execute(select(IndicatorHistory).where(
                IndicatorHistory.indicator_id == video.id)).scalars()] == [("created", 3)]
            audited = s.execute(select(AuditRecord.details).where(AuditRecord.event_type == "submission:create")
                                .order_by(AuditRecord.seq)).scalars().all()
            assert [(a["reference"], a["channel"]) for a in audited] == [
                ("DEMO-CA-FR-2026-9", "cli"), ("DEMO TJ 26/1", "cli"), ("DEMO-V-1", "cli")]
            assert audited[0]["created"] == 4499 and audited[0]["updated"] == 1

        # Imported again: nothing changes, no new history; still one submission for the file.
        r = run_cli(env, "indicators", "import", str(listing), "--format", "te", "--authority", "DEMO CA",
                    "--reference", "DEMO-CA-FR-2026-10")
        assert "imported 0, updated 0, unchanged 4500" in r.stdout, r.stdout
        with balise.db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(IndicatorSubmission)) == 4
            assert s.scalar(select(func.count()).select_from(IndicatorHistory)
                            .where(IndicatorHistory.submission_id == 4)) == 0
    finally:
        balise.close()
