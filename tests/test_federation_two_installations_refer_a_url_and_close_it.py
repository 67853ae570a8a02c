"""Two Balise installations, each a running `balise serve` on loopback with its own database —
hotline A on a SQLite file, hotline B on PostgreSQL — each configured with the other as a
partner (keys exchanged through GET /api/v1/exchange-key). A reported URL at A is referred to
B (a job at A delivers it, signed); B files it in its queue, an analyst at B decides it was
removed, and the outcome flows back (a job at B) and closes A's leg, which A's NTD figures
count on its side and B's on the other. A captured referral sent again is refused as a replay."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from balise.container import Balise
from balise.domain.federation import signed_message, timestamp_text
from tests.cli_support import run_cli
from tests.conftest import make_settings
from tests.helpers import auth, make_provider
from tests.servers import running_server, wait_for

URL = "https://files.hosted-in-nl.example/album/1"


def _env(data: Path, db_url: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}, "BALISE_ENV": "development",
            "BALISE_DATA_DIR": str(data), "BALISE_DATABASE_URL": db_url, "BALISE_FETCH_RESOLVER": "static",
            # Each server runs its jobs, so the referral and its outcome travel on their own.
            "BALISE_RUN_JOBS_IN_SERVER": "true"}


def _ok(env, *args):  # type: ignore[no-untyped-def]
    r = run_cli(env, *args)
    assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
    return r.stdout


def _one(engine, sql: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql)).first()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_url_referred_from_a_to_b_is_assessed_at_b_and_closes_a_leg(tmp_path, db_url, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "a.sqlite3")
    a_url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    a = Balise(make_settings(tmp_path / "a", a_url))
    b = Balise(make_settings(tmp_path / "b", db_url))
    a_env, b_env = _env(tmp_path / "a" / "data", a_url), _env(tmp_path / "b" / "data", db_url)
    a_engine, b_engine = create_engine(a_url), create_engine(db_url)
    try:
        _, a_key = make_provider(a, "Provider at A")
        _, b_key = make_provider(b, "Hotline A at B")
        with running_server(a_env, startup_seconds=180) as (a_base, _), \
                running_server(b_env, startup_seconds=180) as (b_base, _):
            # Key exchange: each fetches the other's signing key (its id checked out of band).
            for base, key, name in ((b_base, b_key, "b.pem"), (a_base, a_key, "a.pem")):
                got = httpx.get(f"{base}/api/v1/exchange-key", headers=auth(key), timeout=10).json()
                (tmp_path / name).write_text(got["public_key_pem"])
            _ok(a_env, "exchange", "partner", "add", "Hotline B", "--country", "NL", "--url", b_base,
                "--public-key-file", str(tmp_path / "b.pem"))
            _ok(b_env, "exchange", "partner", "add", "Hotline A", "--country", "FR", "--url", a_base,
                "--public-key-file", str(tmp_path / "a.pem"))

            filed = httpx.post(f"{a_base}/api/v1/reports", headers=auth(a_key), timeout=30, json={
                "reported_at": "2026-12-03T08:00:00+01:00", "type": "new_csam",
                "service": {"type": "hosting", "url": "https://files.hosted-in-nl.example/"},
                "awareness": {"source": "own_motion"}, "content_removed": False,
                "items": [{"kind": "url", "url": URL}]})
            assert filed.status_code == 201, filed.text
            report_id = filed.json()["id"]
            sent = _ok(a_env, "referral", "send", report_id, "--partner", "Hotline B",
                       "--reason", "hosted in the Netherlands")
            assert f"{URL} to Hotline B (queued)" in sent

            # A's job delivers it; B acknowledges with its own id.
            acked = wait_for(lambda: _one(a_engine, "SELECT receiver_reference FROM referrals_sent "
                                                    "WHERE status = 'acknowledged'"), 30)
            assert acked, _ok(a_env, "referral", "list")
            received = _one(b_engine, "SELECT id, report_id, url, status FROM referrals_received")
            assert str(uuid.UUID(str(received[0]))) == str(uuid.UUID(acked[0]))
            assert received[2] == URL and received[3] == "open"
            source = _one(b_engine, f"SELECT source FROM reports WHERE id = '{received[1]}'")
            assert source[0] == "hotline"

            # B decides; B's job sends the outcome back; A's leg closes.
            closed = _ok(b_env, "referral", "outcome", str(received[0]), "removed")
            assert "closed: removed" in closed
            leg = wait_for(lambda: _one(a_engine, "SELECT outcome, removed_at FROM referrals_sent "
                                                  "WHERE status = 'closed'"), 30)
            assert leg and leg[0] == "removed" and leg[1] is not None, _ok(a_env, "referral", "list")
            assert wait_for(lambda: _one(b_engine, "SELECT outcome_sent_at FROM referrals_received "
                                                   "WHERE outcome_sent_at IS NOT NULL"), 30)

            listed = _ok(a_env, "referral", "list")
            assert "to Hotline B  closed, removed" in listed
            a_ntd = json.loads(_ok(a_env, "stats", "ntd", "--json"))["referrals"]
            b_ntd = json.loads(_ok(b_env, "stats", "ntd", "--json"))["referrals"]
            assert (a_ntd["referred_to_partners"], a_ntd["removed_by_partners"]) == (1, 1)
            assert (b_ntd["received_from_partners"], b_ntd["removed_for_partners"]) == (1, 1)

            # A referral signed by A (its key, as A's server would) sent twice: the second is a replay.
            body = json.dumps({"version": 1, "recipient": b.signer.key_id, "referral_id": str(uuid.uuid4()),
                               "url": "https://files.hosted-in-nl.example/album/2"}).encode()
            stamp, nonce = timestamp_text(a.clock()), secrets.token_urlsafe(18)
            signature = a.signer.sign(signed_message("POST", "/api/v1/referrals", a.signer.key_id, stamp, nonce, body))
            headers = {"Balise-Sender": a.signer.key_id, "Balise-Timestamp": stamp, "Balise-Nonce": nonce,
                       "Balise-Signature": "ed25519=" + base64.b64encode(signature).decode(),
                       "Content-Type": "application/json"}
            first = httpx.post(f"{b_base}/api/v1/referrals", content=body, headers=headers, timeout=30)
            again = httpx.post(f"{b_base}/api/v1/referrals", content=body, headers=headers, timeout=30)
            assert first.status_code == 201, first.text
            assert (again.status_code, again.json()["error"]) == (409, "replayed")
        events_a = {e for e, in create_engine(a_url).connect().execute(
            text("SELECT event_type FROM audit_events WHERE event_type LIKE 'referral:%'"))}
        assert {"referral:send", "referral:acknowledged", "referral:outcome_receive"} <= events_a
        with b_engine.connect() as conn:
            events_b = [e for e, in conn.execute(
                text("SELECT event_type FROM audit_events WHERE event_type LIKE 'referral:%' ORDER BY seq"))]
        assert events_b.count("referral:receive") == 2 and "referral:close" in events_b
        assert "referral:outcome_send" in events_b and events_b.count("referral:refuse") == 1
    finally:
        a_engine.dispose()
        b_engine.dispose()
        a.close()
        b.close()
