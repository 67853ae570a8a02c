"""Issue 19: a query on a PDQ index refreshed within BALISE_INDEX_REFRESH_SECONDS goes on
without taking the refresh lock, so it does not queue behind another thread's refresh (a read
of the database, longer on a busy host). An index that is due still waits for the refresh and
then answers with the change. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from balise.accounts.actors import Actor
from balise.detection.adapters.pdq_index import hex_to_words
from balise.detection.matching import PdqIndexHolder
from balise.domain.indicators import Algorithm, IndicatorKind

KNOWN = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _query_in_a_thread(holder: PdqIndexHolder) -> tuple[threading.Thread, list[list[int]]]:
    found: list[list[int]] = []
    thread = threading.Thread(target=lambda: found.append(holder.query(hex_to_words([KNOWN]), 0).ids.tolist()))
    thread.start()
    return thread, found


def test_a_fresh_index_answers_while_another_thread_holds_the_refresh(balise, tmp_path):
    holder = PdqIndexHolder(balise.db.read_sessions, balise.indicators, tmp_path / "snapshots", refresh_interval=60)
    holder.refresh(force=True)
    with holder._lock:  # a refresh in progress elsewhere
        thread, found = _query_in_a_thread(holder)
        thread.join(timeout=5)
        assert not thread.is_alive(), "the query waited for the refresh"
    assert found == [[]]


def test_an_index_that_is_due_waits_for_the_refresh_and_sees_the_change(balise, tmp_path):
    holder = PdqIndexHolder(balise.db.read_sessions, balise.indicators, tmp_path / "snapshots", refresh_interval=60)
    holder.refresh(force=True)
    with balise.db.transaction() as session:
        added = balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=KNOWN,
                                      kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"})
    holder._last_refresh -= 61  # its last refresh a minute ago: due
    with holder._lock:
        thread, found = _query_in_a_thread(holder)
        thread.join(timeout=0.3)
        assert thread.is_alive() and found == []
    thread.join(timeout=10)
    assert found == [[added.id]]
