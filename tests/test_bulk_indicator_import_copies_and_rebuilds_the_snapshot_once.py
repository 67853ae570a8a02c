"""Bulk indicator import (issue 19 item 6): new indicators go in through PostgreSQL's COPY
(and one executemany per batch on SQLite), with consecutive versions; `balise indicators
import` of many changes rebuilds the PDQ snapshot once at its end, and a running process far
behind opens that snapshot rather than applying each change."""

from __future__ import annotations

import random

from sqlalchemy import event, func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.container import Balise
from balise.detection.matching_types import HashQuery
from tests.cli_support import run_cli
from tests.conftest import make_settings


def _lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"pdq {rng.getrandbits(256):064x}\n" for _ in range(n)]


def test_new_indicators_are_copied_or_inserted_in_pages_with_consecutive_versions(balise):
    seen: list[str] = []
    event.listen(balise.db.engine, "before_cursor_execute", lambda c, cur, st, *r: seen.append(st))
    with balise.db.transaction() as session:
        report = balise.indicators.import_lines(session, Actor.system("test"), iter(_lines(4500, 1)),
                                                fmt="te", source="DEMO list")
    assert (report.read, report.imported, report.first_version, report.last_version) == (4500, 4500, 1, 4500)
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO INDICATORS")]
    if balise.db.engine.dialect.name == "postgresql":
        assert inserts == []  # COPY, which SQLAlchemy does not see
    else:
        assert len(inserts) == 3  # one executemany per page of 2,000
    with balise.db.sessions() as s:
        versions = s.execute(select(Indicator.version).order_by(Indicator.version)).scalars().all()
        assert versions == list(range(1, 4501))
        assert s.execute(select(Indicator.provenance).where(Indicator.version == 4500)).scalar_one() == {
            "source": "DEMO list", "line": 4500}
        # Stored as an insert would store it: JSON null, read back as None.
        assert set(s.execute(select(Indicator.classification)).scalars()) == {None}
        assert s.scalar(select(func.count()).where(Indicator.classification.is_(None))) == 0  # not SQL NULL
    # Matched straight away, as any indicator.
    value = _lines(4500, 1)[-1].split()[1]
    assert balise.matcher.match([HashQuery("pdq", value)])[0].matches[0]["distance"] == 0


def test_a_big_import_rebuilds_the_snapshot_once_and_a_process_behind_opens_it(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, index_snapshot_after_changes=1000)
    running = Balise(settings)  # an API process already serving, its index at version 0
    try:
        assert len(running.pdq_index) == 0
        path = tmp_path / "list.txt"
        path.write_text("".join(_lines(1500, 2)))
        env = {"BALISE_ENV": "development", "BALISE_DATA_DIR": str(settings.data_dir),
               "BALISE_DATABASE_URL": settings.sqlalchemy_url, "BALISE_INDEX_SNAPSHOT_AFTER_CHANGES": "1000"}
        result = run_cli(env, "indicators", "import", str(path), "--format", "te", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1")
        assert result.returncode == 0, result.stderr
        assert "imported 1500" in result.stdout and "PDQ index snapshot rebuilt at version 1500" in result.stdout
        seen: list[str] = []
        event.listen(running.db.engine, "before_cursor_execute", lambda c, cur, st, *r: seen.append(st))
        running.pdq_index.refresh(force=True)
        assert running.pdq_index.version == 1500 and len(running.pdq_index) == 1500
        # Opened, not replayed: no read of the changes themselves.
        assert [s for s in seen if "indicators.status" in s] == []
        # A small import afterwards is applied as changes, without a rebuild.
        path.write_text("".join(_lines(10, 3)))
        small = run_cli(env, "indicators", "import", str(path), "--format", "te", "--court", "DEMO Tribunal judiciaire de Lyon", "--reference", "DEMO TJ 26/1")
        assert "imported 10" in small.stdout and "rebuilt" not in small.stdout
        running.pdq_index.refresh(force=True)
        assert len(running.pdq_index) == 1510
    finally:
        running.close()
