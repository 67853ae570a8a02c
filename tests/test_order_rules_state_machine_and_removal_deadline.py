"""The pure rules of orders (domain/orders.py): who may move an order from which state to which,
closed orders stay closed, and the removal deadline is 24 h from receipt plus every paused
interval (clarification requested, impossible), none while paused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from balise.domain.orders import (
    StateChange,
    TransitionRefused,
    check_order,
    check_transition,
    removal_deadline,
    signed_bytes,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("current", "target", "part", "allowed"), [
    ("issued", "received", "provider", True),
    ("received", "executed", "provider", True),
    ("received", "clarification_requested", "authority", False),
    ("clarification_requested", "received", "provider", False),
    ("clarification_requested", "received", "authority", True),
    ("impossible", "received", "provider", True),
    ("executed", "final", "provider", False),
    ("executed", "final", "authority", True),
    ("issued", "final", "authority", False),
    ("final", "revoked", "authority", False),
    ("revoked", "received", "staff", False),
    ("draft", "received", "staff", False),
    ("received", "nonsense", "staff", False),
])
def test_transitions(current, target, part, allowed):
    if allowed:
        assert check_transition(current, target, part).value == target
    else:
        with pytest.raises(TransitionRefused):
            check_transition(current, target, part)


def test_removal_deadline_adds_the_paused_intervals():
    changes = [StateChange("received", T0), StateChange("clarification_requested", T0 + timedelta(hours=2)),
               StateChange("received", T0 + timedelta(hours=5)), StateChange("impossible", T0 + timedelta(hours=6)),
               StateChange("received", T0 + timedelta(hours=7))]
    assert removal_deadline(T0, changes, T0) == T0 + timedelta(hours=28)
    assert removal_deadline(T0, changes[:2], T0) is None
    assert removal_deadline(T0, [], T0) == T0 + timedelta(hours=24)


def test_the_signature_covers_everything_but_itself_in_one_canonical_form():
    a = {"b": 1, "a": "é", "signature": {"value": "x"}}
    assert signed_bytes(a) == '{"a":"é","b":1}'.encode()
    assert signed_bytes({"a": "é", "b": 1}) == signed_bytes(a)


def test_a_solicitation_detection_order_lasts_at_most_twelve_months():
    body = {"kind": "detection", "reference": "R", "issuing_authority": {"name": "A", "member_state": "FR"},
            "legal_basis": "Art. 7", "addressee": {"name": "P"}, "reasons": "r", "redress": "x",
            "sent_at": T0.isoformat(), "services": ["S"], "databases": ["known_indicators"],
            "period": {"start": T0.isoformat(), "end": (T0 + timedelta(days=400)).isoformat()}}
    assert check_order(body, now=T0).period_end == T0 + timedelta(days=400)
    with pytest.raises(ValueError, match="period.end"):
        check_order({**body, "databases": ["solicitation_indicators"]}, now=T0)
