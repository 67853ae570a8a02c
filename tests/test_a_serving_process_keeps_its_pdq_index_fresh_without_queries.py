"""An API process refreshes its PDQ index in a thread of its own (`keep_fresh`, started by
`balise serve`), once half BALISE_INDEX_REFRESH_SECONDS has passed: a change of an indicator
reaches the index without any query asking for it, so that a small match almost never finds the
index due and the event loop can answer it (tests/test_a_small_match_held_in_memory_is_answered_
on_the_event_loop.py). Closing stops the thread. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from balise.accounts.actors import Actor
from balise.detection.adapters.pdq_index import hex_to_words
from balise.detection.matching import PdqIndexHolder
from balise.domain.indicators import Algorithm, IndicatorKind

KNOWN = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_a_change_reaches_the_index_without_a_query_and_close_stops_the_thread(balise, tmp_path):
    closed = threading.Condition()

    def sessions():  # type: ignore[no-untyped-def]
        # A refresh that brings changes in reads them in a session, and has moved its version
        # when the session closes: that is when the test looks again.
        session = balise.db.read_sessions()
        close = session.close

        def close_and_tell() -> None:
            close()
            with closed:
                closed.notify_all()

        session.close = close_and_tell  # type: ignore[method-assign]
        return session

    holder = PdqIndexHolder(sessions, balise.indicators, tmp_path / "snapshots", refresh_interval=0.4)
    holder.refresh(force=True)
    assert holder.fresh()
    holder.keep_fresh()
    holder.keep_fresh()  # once per process: a second call starts no second thread
    assert [t.name for t in threading.enumerate()].count("balise-pdq-refresh") == 1
    with balise.db.transaction() as session:
        added = balise.indicators.add(session, Actor.system("test"), algorithm=Algorithm.PDQ, value=KNOWN,
                                      kind=IndicatorKind.KNOWN_CSAM, provenance={"source": "DEMO test"})
        version = added.version
    # Nothing here queries the holder: only its thread can bring the change in.
    # The version moves before the hash is added: wait for both.
    def arrived() -> bool:
        index = holder._index
        return holder.version >= version and index is not None and \
            index.query(hex_to_words([KNOWN]), 0).ids.tolist() == [added.id]

    with closed:
        assert closed.wait_for(arrived, timeout=5), "the change did not reach the index within 5 s"
    found = holder._index.query(hex_to_words([KNOWN]), 0) if holder._index is not None else None
    assert found is not None and found.ids.tolist() == [added.id]
    thread = holder._keeper[2] if holder._keeper else None
    holder.close()
    assert thread is not None and not thread.is_alive()
    assert "balise-pdq-refresh" not in [t.name for t in threading.enumerate()]


def test_nothing_is_started_when_every_query_refreshes(balise, tmp_path):
    holder = PdqIndexHolder(balise.db.read_sessions, balise.indicators, tmp_path / "snapshots", refresh_interval=0)
    holder.keep_fresh()
    assert holder._keeper is None and not holder.fresh()
