"""`balise exchange partner add|set|remove|list` and `balise referral send|outcome`: each kind
of bad input is refused with the field named and nothing changed (no row, no audit event); good
input is stored and audited."""

from __future__ import annotations

import os
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, FederationPartner, Job, ReferralSent
from balise.container import Balise
from balise.intake.report_schema import ReportIn
from tests.cli_support import run_cli
from tests.helpers import minimal_report


def _pem(key) -> bytes:  # type: ignore[no-untyped-def]
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


class Cli:
    def __init__(self, app: Balise) -> None:
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("BALISE_")},
                    "BALISE_ENV": "development", "BALISE_DATA_DIR": str(app.settings.data_dir),
                    "BALISE_DATABASE_URL": app.settings.database_url}

    def ok(self, *args: str) -> str:
        r = run_cli(self.env, *args)
        assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
        return r.stdout

    def refused(self, *args: str) -> str:
        r = run_cli(self.env, *args)
        assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr, (args, r.stdout, r.stderr)
        return r.stderr.strip()


def _events(app: Balise, prefix: str) -> int:
    with app.db.sessions() as s:
        return s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.event_type.like(prefix + "%"))).scalar_one()


def test_partner_commands_name_the_bad_field_and_change_nothing(balise, tmp_path):
    cli = Cli(balise)
    good, other = tmp_path / "good.pem", tmp_path / "other.pem"
    good.write_bytes(_pem(Ed25519PrivateKey.generate()))
    other.write_bytes(_pem(Ed25519PrivateKey.generate()))
    rsa = tmp_path / "rsa.pem"
    rsa.write_bytes(_pem(generate_private_key(public_exponent=65537, key_size=2048)))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    base = ["exchange", "partner", "add", "Hotline NL", "--country", "NL"]
    for args, field in [
        ([*base, "--url", "http://balise.hotline.example", "--public-key-file", str(good)], "https is required"),
        ([*base, "--url", "ftp://127.0.0.1", "--public-key-file", str(good)], "base_url"),
        ([*base, "--url", "https://user:pw@balise.example", "--public-key-file", str(good)], "no user name"),
        ([*base, "--url", "https://balise.example/?x=1", "--public-key-file", str(good)], "query"),
        (["exchange", "partner", "add", "Hotline XX", "--country", "XX", "--url", "https://balise.example",
          "--public-key-file", str(good)], "country"),
        ([*base, "--url", "https://balise.example", "--public-key-file", str(rsa)], "not an Ed25519 key"),
        ([*base, "--url", "https://balise.example", "--public-key-file", str(junk)], "not a PEM public key"),
        ([*base, "--url", "https://balise.example", "--public-key-file", str(tmp_path / "none.pem")],
         "cannot read the public key"),
    ]:
        assert field in cli.refused(*args), args
    assert _events(balise, "federation:") == 0
    assert "no partner installations" in cli.ok("exchange", "partner", "list")

    added = cli.ok(*base, "--url", "http://127.0.0.1:8443/", "--public-key-file", str(good))
    assert "added Hotline NL: NL, http://127.0.0.1:8443, key " in added and "no content shared" in added
    assert "exists" in cli.refused(*base, "--url", "https://balise.example", "--public-key-file", str(other))
    assert "has this key already" in cli.refused("exchange", "partner", "add", "Other", "--country", "BE", "--url",
                                                 "https://balise.example", "--public-key-file", str(good))
    assert "nothing to change" in cli.refused("exchange", "partner", "set", "Hotline NL", "--country", "nl")
    assert "no partner 'Nobody'" in cli.refused("exchange", "partner", "set", "Nobody", "--country", "BE")
    changed = cli.ok("exchange", "partner", "set", "Hotline NL", "--url", "https://balise.hotline.example",
                     "--share-content")
    assert "https://balise.hotline.example" in changed and "content may be shared" in changed
    assert _events(balise, "federation:") == 2
    assert "Hotline NL: NL, https://balise.hotline.example" in cli.ok("exchange", "partner", "list")

    # A partner with an open referral stays until its outcome is known.
    report = balise.intake.file(actor=Actor.system("test"), organisation_id=None, files={}, fingerprint="fed",
                                idempotency_key=None, report=ReportIn.model_validate(minimal_report(
                                    items=[{"kind": "url", "url": "https://files.host.example/1"},
                                           {"kind": "url", "url": "https://files.host.example/2"}]))).report.id
    referral = ["referral", "send", str(report), "--partner", "Hotline NL"]
    assert "reason" in cli.refused(*referral, "--reason", "  ")
    assert "no partner 'Nobody'" in cli.refused("referral", "send", str(report), "--partner", "Nobody",
                                                "--reason", "x")
    assert "not an id" in cli.refused("referral", "send", "nope", "--partner", "Hotline NL", "--reason", "x")
    assert f"no report {uuid.UUID(int=1)}" in cli.refused("referral", "send", str(uuid.UUID(int=1)), "--partner",
                                                          "Hotline NL", "--reason", "x")
    assert _events(balise, "referral:") == 0
    sent = cli.ok(*referral, "--reason", "hosted in NL")
    assert sent.count("to Hotline NL (queued)") == 2
    assert "no URL left to refer" in cli.refused(*referral, "--reason", "again")
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(ReferralSent)).scalar_one() == 2
        jobs = s.execute(select(Job.kind).where(Job.kind == "referral.send")).scalars().all()
        assert jobs == ["referral.send", "referral.send"]
    assert _events(balise, "referral:send") == 2
    assert "2 open referral(s)" in cli.refused("exchange", "partner", "remove", "Hotline NL")
    listed = cli.ok("referral", "list")
    assert "sent (2):" in listed and "to Hotline NL  pending" in listed and "received (0):" in listed

    # Outcome of a referral received: the id must be one, and the outcome a known one.
    assert "not an id" in cli.refused("referral", "outcome", "nope", "removed")
    assert "no referral received" in cli.refused("referral", "outcome", str(uuid.uuid4()), "removed")
    assert "removed-at" in cli.refused("referral", "outcome", str(uuid.uuid4()), "removed", "--removed-at", "soon")

    with balise.db.transaction() as s:
        for ref in s.execute(select(ReferralSent)).scalars():
            ref.status = "closed"
    assert "removed Hotline NL" in cli.ok("exchange", "partner", "remove", "Hotline NL")
    with balise.db.sessions() as s:
        assert s.execute(select(func.count()).select_from(FederationPartner)).scalar_one() == 0
        # The referrals stay, with the partner's name, for the figures.
        assert {r.partner_name for r in s.execute(select(ReferralSent)).scalars()} == {"Hotline NL"}
    assert _events(balise, "federation:partner_remove") == 1
