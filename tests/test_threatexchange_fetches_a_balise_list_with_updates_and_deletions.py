"""python-threatexchange's own fetch code (fetch_iter, naive_fetch_merge,
naive_convert_to_signal_type and its PDQ index), driven by the balise_exchange extension, pulls
a Balise list from a running `balise serve` on loopback: paged, signature checked, then the
updates and deletions made since its checkpoint. Without a download grant it is refused and the
refusal audited; a page signed by another key is not trusted."""

from __future__ import annotations

import os

import pytest
import requests
from sqlalchemy import select
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.url import URLSignal

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Indicator
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus
from balise.domain.model import Scope
from balise_exchange import BaliseCollabConfig, BaliseCredentials, BaliseExchangeError, BaliseSignalExchangeAPI
from tests.conftest import make_settings
from tests.helpers import grant_access, make_provider
from tests.servers import running_server

ACTOR = Actor.system("test")
PDQS = ["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af",
        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"]
TYPES = [PdqSignal, VideoMD5Signal, URLSignal]


def _fetch(api, collab, store, checkpoint):
    for delta in api.fetch_iter(TYPES, checkpoint):
        BaliseSignalExchangeAPI.naive_fetch_merge(store, delta.updates)
        checkpoint = delta.checkpoint
    return checkpoint, BaliseSignalExchangeAPI.naive_convert_to_signal_type(TYPES, collab, store)


def test_threatexchange_fetch_against_running_balise(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url))
    try:
        org_id, key = make_provider(balise, "HMA platform", scopes=(Scope.MATCH,), grant=False)
        with balise.db.transaction() as s:
            for pdq in PDQS:
                balise.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=pdq, kind=IndicatorKind.KNOWN_CSAM,
                                      provenance={}, quality=100, classification={"ncmec_category": "A1"})
            balise.indicators.add(s, ACTOR, algorithm=Algorithm.VIDEO_MD5, value="d" * 32,
                                  kind=IndicatorKind.KNOWN_CSAM, provenance={})
            balise.indicators.add(s, ACTOR, algorithm=Algorithm.URL, value="https://url.test/not-this-list",
                                  kind=IndicatorKind.URL, provenance={})
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
               "BALISE_DATA_DIR": str(tmp_path / "data"), "BALISE_DATABASE_URL": db_url,
               "BALISE_RUN_JOBS_IN_SERVER": "false"}
        with running_server(env, startup_seconds=180) as (url, _):
            pem = requests.get(f"{url}/api/v1/exchange-key", headers={"Authorization": f"Bearer {key}"},
                               timeout=10).json()["public_key_pem"]
            collab = BaliseCollabConfig(name="balise-known", base_url=url, list_name="known_indicators",
                                        public_key_pem=pem, page_size=2)
            api = BaliseSignalExchangeAPI.for_collab(collab, BaliseCredentials(key))

            with pytest.raises(BaliseExchangeError, match="403: no live access grant"):
                list(api.fetch_iter(TYPES, None))
            grant_access(balise, org_id, databases=("known_indicators",), operations=("download",))

            store: dict = {}
            checkpoint, index = _fetch(api, collab, store, None)
            assert set(index[PdqSignal]) == set(PDQS) and set(index[VideoMD5Signal]) == {"d" * 32}
            assert URLSignal not in index  # the URL list is another list
            assert "ncmec_A1" in index[PdqSignal][PDQS[0]].get_as_opinions()[0].tags
            first = checkpoint.version

            # Matching as HMA does: threatexchange's own PDQ index over what was fetched.
            pdq_index = PdqSignal.get_index_cls().build(index[PdqSignal].items())
            assert pdq_index.query(PDQS[1])

            with balise.db.transaction() as s:
                gone = s.execute(select(Indicator).where(Indicator.value == PDQS[0])).scalar_one()
                balise.indicators.set_status(s, ACTOR, gone.id, IndicatorStatus.DELETED, "withdrawn")
                balise.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value="a" * 64,
                                      kind=IndicatorKind.KNOWN_CSAM, provenance={})
            checkpoint, index = _fetch(api, collab, store, checkpoint)
            assert set(index[PdqSignal]) == {PDQS[1], PDQS[2], "a" * 64}
            assert checkpoint.version > first

            # Nothing new: one page, nothing changes.
            again, index = _fetch(api, collab, store, checkpoint)
            assert again.version == checkpoint.version and len(index[PdqSignal]) == 3

            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
            wrong = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            forged = BaliseSignalExchangeAPI(
                BaliseCollabConfig(name="x", base_url=url, list_name="known_indicators", public_key_pem=wrong.decode()),
                key)
            with pytest.raises(BaliseExchangeError, match="signature does not verify"):
                list(forged.fetch_iter(TYPES, None))
            missing = requests.get(f"{url}/api/v1/exchange/reports", headers={"Authorization": f"Bearer {key}"},
                                   timeout=10)
            assert missing.status_code == 404 and "no exchange list 'reports'" in missing.json()["message"]
            bad = requests.get(f"{url}/api/v1/exchange/known_indicators?since=-1",
                               headers={"Authorization": f"Bearer {key}"}, timeout=10)
            assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "query.since"
        with balise.db.sessions() as s:
            events = [e for e, in s.execute(select(AuditRecord.event_type).where(AuditRecord.event_type.in_(
                ["exchange:fetch", "grant:refuse"])).order_by(AuditRecord.seq))]
        assert events[0] == "grant:refuse" and events.count("exchange:fetch") >= 5
    finally:
        balise.close()
