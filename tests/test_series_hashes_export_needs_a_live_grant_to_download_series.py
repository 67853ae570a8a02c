"""A partner downloads a series' hashes only under a live access grant to download the
database `series` (CSAR Art. 46): without one, 403 no_grant (audited grant:refuse); with one,
the hashes and the series' state, nothing about reports, providers or the case reference;
audited series:export with the grant. A bad reference is 422 naming it; an unknown series 404."""

from __future__ import annotations

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from tests.helpers import auth, grant_access, make_provider
from tests.series_support import PDQ, flipped, indexed_items


def test_series_export_under_grant(balise, client):
    _, provider = make_provider(balise)
    items = indexed_items(balise, client, provider, [PDQ, flipped(PDQ, 6)])
    from balise.adapters.db.models import SeriesHash

    with balise.db.transaction() as s:
        sid = s.execute(select(SeriesHash.series_id).where(SeriesHash.item_id == items[0][1])).scalar_one()
        balise.series.identify(s, Actor.staff("u1", "liaison"), sid, "CASE-77", "identified by the unit")
    ref = f"S-{sid:06d}"
    partner_id, key = make_provider(balise, name="DEMO Police partner")
    r = client.get(f"/api/v1/series/{ref}/hashes", headers=auth(key))
    assert r.status_code == 403 and r.json()["error"] == "no_grant"
    grant_access(balise, partner_id, databases=("series",), operations=("download",), purpose="victim identification")
    r = client.get(f"/api/v1/series/{ref}/hashes", headers=auth(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["series"] == ref and body["identified"] is True and body["items"] == 2
    assert sorted(h["value"] for h in body["hashes"]) == sorted([PDQ, flipped(PDQ, 6)])
    assert "CASE-77" not in r.text and items[0][0] not in r.text
    assert client.get("/api/v1/series/nonsense/hashes", headers=auth(key)).json()["fields"][0]["field"] == "path.reference"
    assert client.get("/api/v1/series/S-999999/hashes", headers=auth(key)).status_code == 404
    with balise.db.sessions() as s:
        types = [t for (t,) in s.execute(select(AuditRecord.event_type).where(
            AuditRecord.event_type.in_(("grant:refuse", "series:export")))).all()]
    assert types == ["grant:refuse", "series:export"]
