"""The audit trail is a hash chain: editing, deleting or inserting any single row is detected
and the first broken event is named."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text

from balise.accounts.actors import Actor
from balise.domain.audit import AuditEvent

ACTOR = Actor.staff("00000000-0000-0000-0000-000000000001", "auditor")


def _append(balise, n: int) -> None:
    with balise.db.transaction() as s:
        for i in range(n):
            balise.audit.record(s, AuditEvent.REPORT_READ, ACTOR, "report", f"r{i}", "review", {"i": i, "note": "é"})


def _verify(balise):
    with balise.db.sessions() as s:
        return balise.audit.verify(s)


def _exec(balise, sql: str, **params) -> None:
    with balise.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_untouched_chain_verifies(balise):
    _append(balise, 10)
    result = _verify(balise)
    assert result.ok and result.checked == 10


def test_an_empty_trail_verifies(balise):
    assert _verify(balise).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_type", "report:create"),
        ("actor_id", "someone-else"),
        ("actor_type", "system"),
        ("subject_type", "item"),
        ("subject_id", "r999"),
        ("purpose", "curiosity"),
        ("details", json.dumps({"i": 99, "note": "é"})),
        ("occurred_at", "2020-01-01 00:00:00"),
        ("prev_mac", "1" * 64),
        ("mac", "2" * 64),
    ],
)
def test_editing_any_column_of_one_row_is_detected_at_that_row(balise, column, value):
    _append(balise, 6)
    _exec(balise, f"UPDATE audit_events SET {column} = :v WHERE seq = 4", v=value)
    result = _verify(balise)
    assert not result.ok
    assert result.first_broken_seq == 4, result


def test_deleting_a_middle_row_is_detected(balise):
    _append(balise, 6)
    _exec(balise, "DELETE FROM audit_events WHERE seq = 3")
    result = _verify(balise)
    assert not result.ok and result.first_broken_seq == 3 and "missing" in result.reason


def test_deleting_the_last_row_is_detected(balise):
    _append(balise, 6)
    _exec(balise, "DELETE FROM audit_events WHERE seq = 6")
    result = _verify(balise)
    assert not result.ok and result.first_broken_seq == 6


def test_deleting_the_first_row_is_detected(balise):
    _append(balise, 3)
    _exec(balise, "DELETE FROM audit_events WHERE seq = 1")
    result = _verify(balise)
    assert not result.ok and result.first_broken_seq == 1


def test_renumbering_after_a_delete_is_detected(balise):
    _append(balise, 5)
    _exec(balise, "DELETE FROM audit_events WHERE seq = 2")
    for seq in (3, 4, 5):
        _exec(balise, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    _exec(balise, "UPDATE audit_head SET seq = 4")
    result = _verify(balise)
    assert not result.ok and result.first_broken_seq == 2


def test_a_forged_row_appended_without_the_key_is_detected(balise):
    _append(balise, 3)
    _exec(balise, """INSERT INTO audit_events (seq, occurred_at, event_type, actor_type, actor_id, subject_type,
                     subject_id, purpose, details, prev_mac, mac)
                     SELECT 4, occurred_at, event_type, actor_type, actor_id, subject_type, subject_id, purpose,
                            details, mac, mac FROM audit_events WHERE seq = 3""")
    _exec(balise, "UPDATE audit_head SET seq = 4, mac = (SELECT mac FROM audit_events WHERE seq = 4)")
    result = _verify(balise)
    assert not result.ok and result.first_broken_seq == 4


def test_concurrent_writers_keep_one_unbroken_chain(balise):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(10):
                _append(balise, 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = _verify(balise)
    assert result.ok and result.checked == 40


def test_a_rolled_back_transaction_leaves_no_event(balise):
    with pytest.raises(RuntimeError), balise.db.transaction() as s:
        balise.audit.record(s, AuditEvent.REPORT_READ, ACTOR, "report", "x", "review")
        raise RuntimeError("abort")
    assert _verify(balise).checked == 0


def test_an_event_without_purpose_is_refused(balise):
    with pytest.raises(ValueError), balise.db.transaction() as s:
        balise.audit.record(s, AuditEvent.REPORT_READ, ACTOR, "report", "x", "")
