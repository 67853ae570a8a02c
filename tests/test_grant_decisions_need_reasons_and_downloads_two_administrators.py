"""Administrators decide on grants with reasons. A grant that allows downloading indicators
needs two different administrators: the first approval leaves it awaiting the second, and the
same administrator cannot give both. Only a requested grant is approved or rejected, only an
approved one revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AccessGrant, AuditRecord
from balise.domain.grants import GrantState
from balise.governance.grants import GrantError
from tests.helpers import grant_access, make_provider

ANNE = Actor.staff("00000000-0000-0000-0000-00000000000a", "anne")
BEN = Actor.staff("00000000-0000-0000-0000-00000000000b", "ben")


def requested(balise, operations=("download",)) -> int:
    from datetime import timedelta

    from balise.domain.grants import check_terms

    org_id, _ = make_provider(balise)
    now = balise.clock()
    terms = check_terms(databases=("known_indicators",), operations=operations, purpose="block known material",
                        legal_basis="agreement", order_reference=None, valid_from=now,
                        valid_until=now + timedelta(days=30), max_months=24, now=now)
    with balise.db.transaction() as s:
        return balise.grants.request(s, Actor.organisation(str(org_id)), org_id, terms).id


def decide(balise, action, actor, grant_id, reason="decided after review"):
    with balise.db.transaction() as s:
        return getattr(balise.grants, action)(s, actor, grant_id, reason).state


def test_a_download_grant_needs_a_second_different_administrator(balise):
    grant_id = requested(balise)
    assert decide(balise, "approve", ANNE, grant_id) == GrantState.AWAITING_SECOND_APPROVAL
    with pytest.raises(GrantError, match="a second, different administrator"):
        decide(balise, "approve", ANNE, grant_id)
    assert decide(balise, "approve", BEN, grant_id) == GrantState.APPROVED
    with balise.db.sessions() as s:
        grant = s.get(AccessGrant, grant_id)
        assert grant.first_approved_by.startswith("staff:00000000-0000-0000-0000-00000000000a")
        assert grant.decided_by.startswith("staff:00000000-0000-0000-0000-00000000000b")
        stages = [e.details["stage"] for e in s.execute(
            select(AuditRecord).where(AuditRecord.event_type == "grant:approve").order_by(AuditRecord.seq)).scalars()]
    assert stages == ["first", "final"]


def test_a_match_grant_needs_one_approval(balise):
    assert decide(balise, "approve", ANNE, requested(balise, ("match",))) == GrantState.APPROVED


@pytest.mark.parametrize("action", ["approve", "reject", "revoke"])
def test_every_decision_needs_a_reason(balise, action):
    grant_id = requested(balise, ("match",))
    if action == "revoke":
        decide(balise, "approve", ANNE, grant_id)
    with pytest.raises(GrantError, match="give the reason"):
        decide(balise, action, BEN, grant_id, reason="  ")


def test_decisions_follow_the_states(balise):
    rejected = requested(balise, ("match",))
    assert decide(balise, "reject", ANNE, rejected) == GrantState.REJECTED
    with pytest.raises(GrantError, match="is rejected; only a requested grant can be approved"):
        decide(balise, "approve", BEN, rejected)
    with pytest.raises(GrantError, match="only an approved grant can be revoked"):
        decide(balise, "revoke", BEN, rejected)
    org_id, _ = make_provider(balise, "Live")
    live = grant_access(balise, org_id)
    assert decide(balise, "revoke", ANNE, live) == GrantState.REVOKED
    with pytest.raises(GrantError, match="no grant 999"):
        decide(balise, "approve", ANNE, 999)
