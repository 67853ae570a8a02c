"""`balise series recluster` recomputes the proposed series from scratch as the connected
components of the near-duplicate graph: a chain of near pictures is one series even when its
ends are far apart, the known reference is kept, a confirmed series is left as the analyst
decided, and the run is audited. The component function agrees with a brute-force union-find."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Series, SeriesHash
from balise.detection.adapters.pdq_index import hamming
from balise.victims.clustering import components
from tests.checkpoint_support import cli_env
from tests.cli_support import run_cli
from tests.helpers import make_provider
from tests.series_support import PDQ, flipped, indexed_items


def test_recluster(balise, client):
    _, key = make_provider(balise)
    far = f"{int(PDQ, 16) ^ int('0f' * 32, 16):064x}"  # 128 bits away
    # a - b - c is a chain (20 bits per step, 40 end to end); d alone; e near d: another series.
    pdqs = [PDQ, flipped(PDQ, 20), flipped(PDQ, 40), far, flipped(far, 10)]
    items = indexed_items(balise, client, key, pdqs)
    with balise.db.sessions() as s:
        by_item = {i: sid for i, sid in s.execute(select(SeriesHash.item_id, SeriesHash.series_id)).all()}
    first = by_item[items[0][1]]
    assert {by_item[i] for _, i in items[:3]} == {first}
    # An analyst confirms the second series; then the proposed one is broken by hand (as a
    # threshold change would leave it) and re-clustered.
    with balise.db.transaction() as s:
        balise.series.confirm(s, Actor.staff("u1", "ana"), by_item[items[3][1]], "same scene, checked")
        s.execute(SeriesHash.__table__.update().where(SeriesHash.item_id == items[2][1]).values(series_id=None))
    result = run_cli(cli_env(balise), "series", "recluster")
    assert result.returncode == 0, result.stderr
    with balise.db.sessions() as s:
        after = {i: sid for i, sid in s.execute(select(SeriesHash.item_id, SeriesHash.series_id)).all()}
        assert {after[i] for _, i in items[:3]} == {first}  # the reference people know survives
        assert after[items[3][1]] == after[items[4][1]] == by_item[items[3][1]]
        assert s.get(Series, first).item_count == 3
        (event,) = s.execute(select(AuditRecord).where(AuditRecord.event_type == "series:recluster")).scalars()
        assert event.details["confirmed_untouched"] == 1 and event.details["items"] == 3
    shown = run_cli(cli_env(balise), "series", "show", f"S-{first:06d}")
    assert shown.returncode == 0 and shown.stdout.count("report ") == 3
    assert run_cli(cli_env(balise), "series", "show", "nonsense").returncode == 2


def test_components_agree_with_brute_force():
    rng = np.random.default_rng(3)
    centres = rng.integers(0, 2**63, size=(30, 4), dtype=np.uint64)
    words = np.repeat(centres, 4, axis=0)
    flips = rng.integers(0, 64, size=(words.shape[0], 4, 6))
    for row in range(words.shape[0]):
        for w in range(4):
            for bit in flips[row, w][: rng.integers(0, 4)]:
                words[row, w] ^= np.uint64(1) << np.uint64(bit)
    node = np.arange(words.shape[0], dtype=np.int64)
    labels = components(words, node, 31)
    parent = list(range(len(node)))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    d = hamming(words[:, None, :], words[None, :, :])
    for a, b in zip(*np.nonzero(d <= 31)):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    expected = np.array([find(i) for i in range(len(node))])
    assert np.array_equal(labels, expected)
