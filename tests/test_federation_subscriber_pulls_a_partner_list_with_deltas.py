"""Two installations: a hotline's Balise subscribes to a partner Balise's indicator list (the
partner a running `balise serve`, on the test's database; the subscriber its own SQLite file, so
one of the runs pairs PostgreSQL with SQLite). Pulls bring additions, changes and deletions with
vPDQ frame numbers intact, page by page from the last version; a page signed by another key, or
one that goes back before the checkpoint (a replay), is refused, audited, and imports nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests
from sqlalchemy import create_engine, select, text

from balise.accounts.actors import Actor
from balise.adapters.db.models import Indicator
from balise.container import Balise
from balise.domain.indicators import Algorithm, IndicatorKind, IndicatorStatus
from balise.domain.model import Scope
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.helpers import grant_access, make_provider
from tests.servers import running_server

ACTOR = Actor.system("test")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ2 = "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"


def _env(data: Path, db_url: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
            "BALISE_DATA_DIR": str(data), "BALISE_DATABASE_URL": db_url, "BALISE_RUN_JOBS_IN_SERVER": "false"}


def _ok(env, *args):
    r = run_cli(env, *args)
    assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
    return r


def test_subscriber_pulls_partner_list_with_deltas_and_refuses_forged_or_replayed_pages(tmp_path, db_url):
    partner = Balise(make_settings(tmp_path / "partner", db_url))
    try:
        org_id, key = make_provider(partner, "Hotline B", scopes=(Scope.MATCH,), grant=False)
        grant_access(partner, org_id, databases=("known_indicators",), operations=("download",))
        with partner.db.transaction() as s:
            partner.indicators.add(s, ACTOR, algorithm=Algorithm.PDQ, value=PDQ, kind=IndicatorKind.KNOWN_CSAM,
                                   provenance={}, quality=95, classification={"ncmec_category": "A1"})
            partner.indicators.add(s, ACTOR, algorithm=Algorithm.MD5, value="a" * 32, kind=IndicatorKind.KNOWN_CSAM,
                                   provenance={})
            partner.indicators.add_vpdq(s, ACTOR, frames=[(30, 90, PDQ, 1.0), (60, 100, PDQ2, 2.0)],
                                        kind=IndicatorKind.KNOWN_CSAM, provenance={})
        mine_url = f"sqlite:///{tmp_path / 'subscriber.sqlite3'}"
        mine = _env(tmp_path / "subscriber", mine_url)
        _ok(mine, "db", "upgrade")
        with running_server(_env(tmp_path / "partner" / "data", db_url), startup_seconds=180) as (url, _):
            pem = requests.get(f"{url}/api/v1/exchange-key", headers={"Authorization": f"Bearer {key}"},
                               timeout=10).json()["public_key_pem"]
            (tmp_path / "partner.pem").write_text(pem)
            (tmp_path / "key.txt").write_text(key + "\n")
            files = ["--public-key-file", str(tmp_path / "partner.pem"), "--api-key-file", str(tmp_path / "key.txt")]
            bad = run_cli(mine, "exchange", "subscribe", "partner", "--url", "ftp://x", "--list", "known_indicators",
                          *files)
            assert bad.returncode == 2 and "base_url" in bad.stderr
            _ok(mine, "exchange", "subscribe", "partner", "--url", url, "--list", "known_indicators", *files)

            first = _ok(mine, "exchange", "pull", "partner")
            assert "imported 3" in first.stdout, first.stdout
            with partner.db.transaction() as s:
                md5 = s.execute(select(Indicator).where(Indicator.algorithm == "md5")).scalar_one()
                partner.indicators.set_status(s, ACTOR, md5.id, IndicatorStatus.DELETED, "withdrawn")
                partner.indicators.add(s, ACTOR, algorithm=Algorithm.SHA256, value="b" * 64,
                                       kind=IndicatorKind.KNOWN_CSAM, provenance={})
            second = _ok(mine, "exchange", "pull", "partner")
            assert "imported 1, updated 1" in second.stdout, second.stdout
            assert "imported 0, updated 0" in _ok(mine, "exchange", "pull", "partner").stdout

            # A subscription trusting another key: the page is refused, nothing imported.
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
            other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            (tmp_path / "other.pem").write_bytes(other)
            _ok(mine, "exchange", "subscribe", "forged", "--url", url, "--list", "known_indicators",
                "--public-key-file", str(tmp_path / "other.pem"), "--api-key-file", str(tmp_path / "key.txt"))
            forged = run_cli(mine, "exchange", "pull", "forged")
            assert forged.returncode == 1 and "signature does not verify" in forged.stderr
            # A checkpoint ahead of the partner: its page goes back, refused as a replay.
            _ok(mine, "exchange", "subscribe", "replayed", "--url", url, "--list", "known_indicators",
                *files)
            engine = create_engine(mine_url)
            with engine.begin() as conn:
                conn.execute(text("UPDATE exchange_subscriptions SET version = 999 WHERE name = 'replayed'"))
            replayed = run_cli(mine, "exchange", "pull", "replayed")
            assert replayed.returncode == 1 and "replayed" in replayed.stderr
            listed = _ok(mine, "exchange", "list").stdout
            assert "partner: known_indicators" in listed and "forged:" in listed and "version 0, pulled never" in listed

        with engine.connect() as conn:
            rows = {(a, v): (st, fr) for a, v, st, fr in conn.execute(
                text("SELECT algorithm, value, status, frames FROM indicators"))}
            events = [e for e, in conn.execute(text(
                "SELECT event_type FROM audit_events WHERE event_type LIKE 'exchange:%' ORDER BY seq"))]
        engine.dispose()
        assert len(rows) == 4
        assert rows[("md5", "a" * 32)][0] == "deleted" and rows[("sha256", "b" * 64)][0] == "active"
        frames = next(fr for (a, _), (_, fr) in rows.items() if a == "vpdq")
        frames = json.loads(frames) if isinstance(frames, str) else frames
        assert frames == [[30, 90, PDQ, 1.0], [60, 100, PDQ2, 2.0]]  # frame numbers kept
        assert events.count("exchange:pull_refused") == 2 and events.count("exchange:pull") == 3
    finally:
        partner.close()
