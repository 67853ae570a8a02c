"""A URL hosted in the country of a partner Balise installation is referred to it by the
routing step, in place of the notice to that country's hotline or host. The referral's job is
durable: a partner that does not answer is tried again later (backoff), and a partner that
refuses it (here a running `balise serve` that does not know us: 403 unknown_partner) ends it,
audited, and hands the URL back to a person (the takedown shows no contact)."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from balise.accounts.actors import Actor
from balise.adapters.db.models import AuditRecord, Job, Notice, ReferralSent, Takedown
from balise.domain.partners import PartnerKind
from balise.takedown.partners import PartnerChanges
from tests.servers import clean_env, free_port, running_server
from tests.takedown_support import (
    Clock,
    demo_site,
    file_url_report,
    forward,
    known_picture,
    mailbox,
    reencoded,
    routing_app,
    routing_overrides,
)

ADMIN = Actor.system("test")


def test_a_url_hosted_in_a_partner_installation_country_is_referred_retried_and_ended_when_refused(
        tmp_path, db_url, sqlite_template) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    clock = Clock()
    with demo_site() as site, mailbox() as box:
        app = routing_app(tmp_path, db_url, clock, box.port)
        routing_overrides(tmp_path, country="DE")
        # The partner's key: any Ed25519 key; the partner server below does not know ours anyway.
        pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        with app.db.transaction() as s:
            app.partners.seed(s, ADMIN)
            hotline = app.partners.find(s, PartnerKind.HOTLINE, "DE")[0]
            app.partners.update(s, ADMIN, hotline.id, PartnerChanges(channel="email",
                                                                     endpoint="hotline@de-hotline.example"))
            app.federation_partners.add(s, ADMIN, name="Hotline DE (Balise)", country="DE",
                                        base_url=f"http://127.0.0.1:{free_port()}", public_key_pem=pem.decode())
        url = site.serve("/de/1.jpg", reencoded(known_picture(app)))
        report_id = file_url_report(app, url, upload_ip=None)
        app.run_jobs()
        forward(app, report_id)
        app.run_jobs()
        with app.db.sessions() as s:
            notices = s.execute(select(Notice.kind).where(Notice.report_id == report_id,
                                                          Notice.item_id.is_not(None))).scalars().all()
            [referral] = s.execute(select(ReferralSent)).scalars().all()
            takedown = s.get(Takedown, referral.item_id)
            [job] = s.execute(select(Job).where(Job.kind == "referral.send")).scalars().all()
        # No hotline e-mail, no host notice: the partner installation has it.
        assert notices == [] and box.recipients == []
        assert (referral.partner_name, referral.url, referral.status) == ("Hotline DE (Balise)", url, "pending")
        assert "hosted in DE" in referral.reason and takedown.status == "referred"
        # Nobody answers at the partner's address: the job waits to try again.
        assert job.status == "pending" and job.attempts == 1 and "partner not reached" in job.last_error
        assert job.run_at > clock()

        # The partner, now answering, does not know us: refused for good.
        shutil.copy(sqlite_template, tmp_path / "partner.sqlite3")
        env = clean_env(tmp_path / "partner", BALISE_DATABASE_URL=f"sqlite:///{tmp_path / 'partner.sqlite3'}",
                        BALISE_RUN_JOBS_IN_SERVER="false")
        with running_server(env, startup_seconds=180) as (base, _):
            with app.db.transaction() as s:
                app.federation_partners.set(s, ADMIN, "Hotline DE (Balise)", base_url=base)
            assert app.jobs.retry(job.id)
            app.run_jobs()
        with app.db.sessions() as s:
            referral = s.get(ReferralSent, referral.id)
            job = s.get(Job, job.id)
            takedown = s.get(Takedown, referral.item_id)
            refused = s.execute(select(AuditRecord.details).where(
                AuditRecord.event_type == "referral:send_refused")).scalars().all()
        assert referral.status == "refused" and "403 unknown_partner" in referral.error
        assert job.status == "failed" and takedown.status == "no_contact"
        assert len(refused) == 1 and refused[0]["http_status"] == 403
        app.close()
