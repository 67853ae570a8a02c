"""With BALISE_TSA_URL, each checkpoint gets an RFC 3161 TimeStampToken for its digest from the
time-stamping authority (here a local one on loopback speaking the real protocol), stored beside
it; verification checks the token's message imprint and signature. A TSA that refuses or answers
for another digest leaves the checkpoint written but not timestamped, and says so."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord
from balise.governance.adapters.timestamping import read_token
from tests.checkpoint_support import add_events, checkpoint_balise, cli_env
from tests.cli_support import run_cli
from tests.tsa_server import local_tsa

SYSTEM = Actor.system("test")


def verify(balise):
    return run_cli(cli_env(balise), "audit", "verify", "--checkpoints", str(balise.settings.checkpoint_dir))


@pytest.fixture
def tsa():
    with local_tsa() as server:
        yield server


def test_a_checkpoint_carries_a_token_for_its_own_digest(tmp_path, db_url, tsa):
    balise = checkpoint_balise(tmp_path, db_url, tsa_url=tsa.url)
    try:
        add_events(balise, 3)
        written = balise.checkpoints.write(SYSTEM)
        token = written.path.with_suffix(".tsr").read_bytes()
        assert written.timestamped and len(tsa.requests) == 1
        assert read_token(token).hashed_message == written.checkpoint.digest()
        result = verify(balise)
        assert result.returncode == 0 and "(1 timestamped)" in result.stdout
    finally:
        balise.close()


def test_a_token_moved_from_another_checkpoint_is_named(tmp_path, db_url, tsa):
    balise = checkpoint_balise(tmp_path, db_url, tsa_url=tsa.url)
    try:
        first = balise.checkpoints.write(SYSTEM)
        add_events(balise, 1)
        second = balise.checkpoints.write(SYSTEM)
        shutil.copy(first.path.with_suffix(".tsr"), second.path.with_suffix(".tsr"))
        result = verify(balise)
        assert result.returncode == 1
        assert f"checkpoint {second.path.name}: its timestamp token {second.path.stem}.tsr timestamps another document" \
            in result.stdout
    finally:
        balise.close()


def test_an_altered_token_is_named(tmp_path, db_url, tsa):
    balise = checkpoint_balise(tmp_path, db_url, tsa_url=tsa.url)
    try:
        written = balise.checkpoints.write(SYSTEM)
        token_path = written.path.with_suffix(".tsr")
        token = bytearray(token_path.read_bytes())
        token[token.index(written.checkpoint.digest())] ^= 1
        token_path.write_bytes(bytes(token))
        result = verify(balise)
        assert result.returncode == 1
        assert f"checkpoint {written.path.name}: its timestamp token" in result.stdout and "altered" in result.stdout
    finally:
        balise.close()


@pytest.mark.parametrize(("mode", "why"), [("reject", "refused: rejection"), ("other-digest", "a token for another request")])
def test_a_tsa_that_refuses_or_answers_for_another_digest_leaves_the_checkpoint_untimestamped(tmp_path, db_url, mode, why):
    with local_tsa(mode) as bad:
        balise = checkpoint_balise(tmp_path, db_url, tsa_url=bad.url)
        try:
            written = balise.checkpoints.write(SYSTEM)
            assert written.path.exists() and not written.path.with_suffix(".tsr").exists()
            assert not written.timestamped and why in written.problems[0]
            with balise.db.sessions() as s:
                event = s.execute(select(AuditRecord).where(AuditRecord.event_type == "audit:checkpoint")).scalar_one()
            assert event.details["timestamped"] is False and why in event.details["problems"][0]
            assert verify(balise).returncode == 0
        finally:
            balise.close()


def test_an_unreachable_tsa_is_reported_by_the_cli(tmp_path, db_url):
    balise = checkpoint_balise(tmp_path, db_url)
    try:
        env = {**cli_env(balise), "BALISE_TSA_URL": "http://127.0.0.1:9/tsa", "BALISE_TSA_TIMEOUT_SECONDS": "2"}
        result = run_cli(env, "audit", "checkpoint")
        assert result.returncode == 0 and "not timestamped" in result.stdout
        assert "could not be reached" in result.stderr
    finally:
        balise.close()


def test_openssl_verifies_the_token_against_the_checkpoint_as_docs_say(tmp_path, db_url, tsa):
    # docs/oversight.md tells a verifier to check tokens without Balise: the canonical JSON's
    # SHA-256 and `openssl ts -verify` with the TSA's CA certificate.
    import hashlib
    import json
    import subprocess

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    balise = checkpoint_balise(tmp_path, db_url, tsa_url=tsa.url)
    try:
        written = balise.checkpoints.write(SYSTEM)
    finally:
        balise.close()
    doc = json.loads(written.path.read_text())
    body = json.dumps(doc["checkpoint"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ca = tmp_path / "tsa-ca.pem"
    ca.write_bytes(x509.load_der_x509_certificate(tsa.cert_der).public_bytes(Encoding.PEM))

    def openssl_verify(digest: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", "ts", "-verify", "-digest", digest, "-in", str(written.path.with_suffix(".tsr")),
                               "-token_in", "-CAfile", str(ca)], capture_output=True, text=True)

    assert "Verification: OK" in openssl_verify(hashlib.sha256(body).hexdigest()).stdout
    assert openssl_verify(hashlib.sha256(body + b" ").hexdigest()).returncode != 0
