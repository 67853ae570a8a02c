"""The job runner pulls every indicator-list subscription on its own (BALISE_EXCHANGE_PULL_MINUTES):
a partner `balise serve` on loopback is pulled from the subscriber's last version, delta after
delta, while a partner that cannot be reached does not stop the others and is tried again at
the next run; the next run is queued in the same transaction as the run's end."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
import requests
from pydantic import ValidationError
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.migrate import upgrade
from balise.adapters.db.models import ExchangeSubscription, Indicator, Job
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind
from balise.domain.model import Scope
from tests.conftest import make_settings
from tests.helpers import grant_access, make_provider
from tests.servers import running_server

ACTOR = Actor.system("test")
KIND = "periodic.exchange.pull"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _partner_env(partner: Balise, db_url: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
            "BALISE_DATA_DIR": str(partner.settings.data_dir), "BALISE_DATABASE_URL": db_url,
            "BALISE_RUN_JOBS_IN_SERVER": "false"}


def test_periodic_job_pulls_each_subscription_and_skips_an_unreachable_partner(tmp_path, db_url):
    partner = Balise(make_settings(tmp_path / "partner", db_url))
    sub_url = f"sqlite:///{tmp_path / 'subscriber.sqlite3'}"
    upgrade(sub_url)
    mine = Balise(make_settings(tmp_path / "subscriber", sub_url, exchange_pull_minutes=30))
    try:
        org_id, key = make_provider(partner, "Hotline B", scopes=(Scope.MATCH,), grant=False)
        grant_access(partner, org_id, databases=("known_indicators",), operations=("download",))
        with partner.db.transaction() as s:
            partner.indicators.add(s, ACTOR, algorithm=Algorithm.MD5, value="a" * 32, kind=IndicatorKind.KNOWN_CSAM,
                                   provenance={})
        with running_server(_partner_env(partner, db_url), startup_seconds=180) as (url, _):
            pem = requests.get(f"{url}/api/v1/exchange-key", headers={"Authorization": f"Bearer {key}"},
                               timeout=10).json()["public_key_pem"]
            with mine.db.transaction() as s:
                # Named so that the unreachable one is pulled first: its failure must not stop the next.
                mine.subscriptions.subscribe(s, ACTOR, name="a-down", base_url=f"http://127.0.0.1:{_closed_port()}",
                                             list_name="known_indicators", public_key_pem=pem, api_key=key)
                mine.subscriptions.subscribe(s, ACTOR, name="b-partner", base_url=url, list_name="known_indicators",
                                             public_key_pem=pem, api_key=key)
            assert mine.periodic.ensure() >= 1
            mine.run_jobs()
            with mine.db.sessions() as s:
                values = set(s.execute(select(Indicator.value)).scalars())
                versions = dict(s.execute(select(ExchangeSubscription.name, ExchangeSubscription.version)).all())
                [following] = s.execute(select(Job).where(Job.kind == KIND, Job.status == "pending")).scalars()
                [done] = s.execute(select(Job).where(Job.kind == KIND, Job.status == "done")).scalars()
            assert values == {"a" * 32}
            assert versions["a-down"] == 0 and versions["b-partner"] > 0
            # The next run is due one interval after this one, whatever happened to the partner that was down.
            assert timedelta(minutes=29) < following.run_at - done.created_at < timedelta(minutes=31)

            with partner.db.transaction() as s:
                partner.indicators.add(s, ACTOR, algorithm=Algorithm.SHA256, value="b" * 64,
                                       kind=IndicatorKind.KNOWN_CSAM, provenance={})
            mine.periodic.handlers()[KIND]({})
            with mine.db.sessions() as s:
                assert set(s.execute(select(Indicator.value)).scalars()) == {"a" * 32, "b" * 64}
                assert s.execute(select(ExchangeSubscription.version).where(
                    ExchangeSubscription.name == "b-partner")).scalar_one() > versions["b-partner"]
    finally:
        mine.close()
        partner.close()


def test_no_periodic_pull_when_the_interval_is_zero(tmp_path, db_url):
    balise = Balise(make_settings(tmp_path, db_url, exchange_pull_minutes=0))
    try:
        assert KIND not in balise.periodic.handlers()
        balise.periodic.ensure()
        with balise.db.sessions() as s:
            assert s.execute(select(Job).where(Job.kind == KIND)).first() is None
    finally:
        balise.close()


def test_a_negative_or_huge_interval_is_refused_naming_the_setting(tmp_path, db_url):

    for value in (-1, 7 * 24 * 60 + 1):
        with pytest.raises(ValidationError, match="exchange_pull_minutes"):
            make_settings(tmp_path, db_url, exchange_pull_minutes=value)
