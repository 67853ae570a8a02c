"""The DEMO data holds a partner installation, labelled DEMO, and one referral of a DEMO URL to
it, closed by the partner's outcome (removed): `balise referral list` and the NTD figures show
it, and no job tries to deliver anything to the DEMO partner."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from balise import demo
from balise.adapters.db.models import Job
from balise.takedown.takedowns import ntd_stats


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_referral(balise):
    demo.seed(balise, reports=1, error_history=False)
    with balise.db.sessions() as session:
        [partner] = balise.federation_partners.list(session)
        [referral] = balise.referrals.sent(session)
        jobs = session.execute(select(Job.kind).where(Job.kind.like("referral.%"))).scalars().all()
        figures = ntd_stats(session).referrals
    assert partner.name.startswith("DEMO") and partner.country == "NL"
    assert referral.partner_name == partner.name and referral.url.startswith("https://provider.demo.invalid/")
    assert (referral.status, referral.outcome) == ("closed", "removed") and referral.removed_at is not None
    assert jobs == []
    assert figures["referred_to_partners"] == 1 and figures["removed_by_partners"] == 1
