"""Wiring: builds each service from the settings with the adapters they name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from balise.accounts.actors import Actor
    # Every service is imported where it is built, so that a command pays only for what it
    # uses: `balise jobs list` needs the database, not the intake's schemas or TOTP.
    from balise.accounts.organisations import Organisations
    from balise.accounts.security_keys import SecurityKeys
    from balise.accounts.sso import SingleSignOn
    from balise.accounts.users import Users
    from balise.adapters.db.engine import Database
    from balise.casework.assessment import Assessment
    from balise.casework.clocks import Clocks
    from balise.casework.triage import Triage
    from balise.detection.indicators import Indicators
    from balise.detection.matching import Matcher, PdqIndexHolder
    from balise.detection.media_hashing import MediaHashing
    from balise.detection.submissions import Submissions
    from balise.detection.url_list import UrlList
    from balise.evidence.adapters.signing import Ed25519Signer
    from balise.evidence.exposure import Exposure
    from balise.evidence.packages import EvidencePackages
    from balise.exchange.federation import FederationPartners, Referrals
    from balise.exchange.feed import ExchangeFeed
    from balise.exchange.subscriptions import Subscriptions
    from balise.evidence.vault import EvidenceVault
    from balise.governance.access_log import AccessLog
    from balise.governance.audit import AuditTrail
    from balise.governance.error_rates import ErrorRates
    from balise.governance.checkpoints import Checkpoints
    from balise.governance.grants import Grants
    from balise.governance.retention import Retention
    from balise.governance.transparency import Transparency
    from balise.intake.filing import Intake
    from balise.intake.grouping import TransactionGroups
    from balise.intake.ispws import IspwsService
    from balise.intake.report_defaults import ReportDefaults
    from balise.intelligence.entities import EntityIndex
    from balise.intelligence.file_leads import FileLeads
    from balise.intelligence.financial import FinancialAlerts
    from balise.jobs.periodic import Periodic
    from balise.jobs.queue import JobQueue
    from balise.orders.clocks import OrderClocks
    from balise.orders.registry import Orders
    from balise.ports import Mailer
    from balise.settings import Settings
    from balise.takedown.adapters.webhook import HttpWebhookSender
    from balise.takedown.holds import Holds
    from balise.takedown.notices import Notices
    from balise.takedown.partners import Partners
    from balise.takedown.ports import AbuseDirectory, Locator, UrlFetcher
    from balise.takedown.routing import Router
    from balise.takedown.takedowns import Takedowns
    from balise.takedown.url_inspection import UrlInspector
    from balise.victims.assignment import SeriesAssignment
    from balise.victims.requests import VictimRequests
    from balise.victims.series import SeriesService


# A package zip without a record is removed only when older than this: a build still in its
# (long) routing transaction is younger.
PACKAGE_ORPHAN_AGE = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def next_daily(now: datetime, hour: int) -> datetime:
    """The next time it is ``hour``:00 UTC, strictly after ``now``."""
    at = now.astimezone(timezone.utc).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


class Balise:
    def __init__(self, settings: Settings, clock=utc_now) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.clock = clock

    @cached_property
    def db(self) -> Database:
        from balise.adapters.db.engine import Database

        return Database(self.settings.sqlalchemy_url)

    @cached_property
    def audit(self) -> AuditTrail:
        from balise.domain.audit import derive_audit_key
        from balise.governance.audit import AuditTrail

        return AuditTrail(derive_audit_key(self.settings.secret_key.get_secret_value()), self.clock)

    @cached_property
    def match_log(self) -> AccessLog:
        """The batched, chained log of answered match queries (docs/oversight.md)."""
        from balise.domain.checkpoints import derive_access_log_key
        from balise.governance.access_log import AccessLog

        s = self.settings
        return AccessLog(self.db.sessions, derive_access_log_key(s.secret_key.get_secret_value()), self.clock,
                         batch_size=s.match_log_batch_size, flush_interval=s.match_log_flush_ms / 1000)

    @cached_property
    def checkpoint_signer(self) -> Ed25519Signer:
        """The Ed25519 key of the audit checkpoints (BALISE_CHECKPOINT_KEY_FILE; generated under the
        data directory in development)."""
        from balise.evidence.adapters.signing import SigningKeyError, load_or_create_dev_signer, load_signer
        from balise.settings import UnsafeConfiguration

        problem = self.settings.checkpoint_key_problem()
        if problem:
            raise UnsafeConfiguration(problem)
        path = self.settings.checkpoint_key_path
        if path is None:
            raise UnsafeConfiguration("BALISE_CHECKPOINT_KEY_FILE is missing (checkpoints are signed with it)")
        try:
            if self.settings.checkpoint_key_file is not None:
                return load_signer(path)
            return load_or_create_dev_signer(path)
        except SigningKeyError as exc:
            raise UnsafeConfiguration(f"BALISE_CHECKPOINT_KEY_FILE: {exc}") from exc

    @cached_property
    def checkpoints(self) -> Checkpoints:
        """Needs BALISE_CHECKPOINT_DIR (the CLI says so before asking)."""
        from balise.governance.checkpoints import Checkpoints

        s = self.settings
        if s.checkpoint_dir is None:
            raise ValueError("BALISE_CHECKPOINT_DIR is not set: checkpoints are off")
        timestamp = None
        deliver = []
        if s.tsa_url:
            from balise.governance.adapters.timestamping import request_timestamp

            url, timeout = s.tsa_url, s.tsa_timeout_seconds
            timestamp = lambda digest: request_timestamp(url, digest, timeout)
        if s.checkpoint_webhook_url:
            from balise.governance.adapters.checkpoint_webhook import CheckpointWebhook

            deliver.append(("webhook", CheckpointWebhook(s.checkpoint_webhook_url, s.webhook_timeout_seconds)))
        if s.checkpoint_mail_to:
            from balise.governance.adapters.checkpoint_mail import CheckpointMail

            deliver.append(("mail", CheckpointMail(self.mailer, s.checkpoint_mail_to, s.centre_name)))
        return Checkpoints(self.db.sessions, self.audit, self.match_log, self.checkpoint_signer, s.checkpoint_dir,
                           self.clock, s.centre_name, timestamp=timestamp, deliver=deliver)

    @cached_property
    def evidence(self) -> EvidenceVault:
        from balise.evidence.adapters.vault_local import LocalVault
        from balise.evidence.vault import EvidenceVault

        blobs = LocalVault(self.settings.vault_path, self.settings.vault_master_key)
        return EvidenceVault(blobs, self.audit)

    @cached_property
    def organisations(self) -> Organisations:
        from balise.accounts.organisations import Organisations

        return Organisations(self.audit, self.clock)

    @cached_property
    def grants(self) -> Grants:
        from balise.governance.grants import Grants

        return Grants(self.audit, self.clock)

    @cached_property
    def sso(self) -> SingleSignOn:
        from balise.accounts.sso import SingleSignOn

        return SingleSignOn(self.settings.oidc_providers, self.users, self.audit, self.clock)

    @cached_property
    def security_keys(self) -> SecurityKeys:
        from balise.accounts.security_keys import Relying, SecurityKeys

        settings = self.settings
        return SecurityKeys(self.audit, self.clock, Relying(settings.webauthn_rp_id, settings.webauthn_origin),
                            settings.security_key_roles)

    @cached_property
    def users(self) -> Users:
        from balise.accounts.users import Users
        from balise.adapters.secretbox import SecretBox

        box = SecretBox(self.settings.secret_key.get_secret_value(), b"balise totp seed v1")
        return Users(self.audit, box, self.clock, enrolment_hours=self.settings.enrolment_link_hours,
                     hash_cost=self.settings.password_hash_cost)

    @cached_property
    def indicators(self) -> Indicators:
        from balise.detection.indicators import Indicators

        return Indicators(self.audit, self.clock)

    @cached_property
    def report_defaults(self) -> ReportDefaults:
        from balise.intake.report_defaults import ReportDefaults

        return ReportDefaults(self.audit, self.clock)

    @cached_property
    def subscriptions(self) -> Subscriptions:
        from balise.adapters.secretbox import SecretBox
        from balise.exchange.adapters.feed_client import fetch_page
        from balise.exchange.subscriptions import Subscriptions

        box = SecretBox(self.settings.secret_key.get_secret_value(), b"balise exchange api key v1")
        return Subscriptions(self.indicators, self.audit, box, self.clock, fetch_page)

    @cached_property
    def exchange_feed(self) -> ExchangeFeed:
        from balise.exchange.feed import ExchangeFeed

        return ExchangeFeed(self.indicators, self.audit, self.clock)

    @cached_property
    def pdq_index(self) -> PdqIndexHolder:
        # Imported here: numpy and the index load only in processes that match.
        from balise.detection.matching import PdqIndexHolder

        return PdqIndexHolder(self.db.read_sessions, self.indicators, self.settings.data_dir / "index" / "pdq",
                              refresh_interval=self.settings.index_refresh_seconds,
                              reload_after=self.settings.index_snapshot_after_changes)

    @cached_property
    def credential_epoch(self) -> Callable[[], int | None]:
        """The credential epoch, read where an authenticated request starts: on PostgreSQL held
        in memory by a listening thread (BALISE_CREDENTIAL_CHANGES=listen), else one read."""
        from balise.adapters.db.epoch import EpochReader, EpochWatch, invalidate_after_credential_commits

        reader = EpochReader(self.db.engine)
        if self.db.engine.dialect.name != "postgresql" or self.settings.credential_changes != "listen":
            return reader
        import psycopg

        engine = self.db.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        watch = EpochWatch(reader, lambda: psycopg.connect(*cargs, **cparams, autocommit=True))
        invalidate_after_credential_commits(self.db.sessions, watch)
        return watch

    @cached_property
    def matcher(self) -> Matcher:
        from balise.detection.matching import Matcher

        return Matcher(self.db.read_sessions, self.pdq_index, connect=self.db.read_engine.connect)

    @cached_property
    def intake(self) -> Intake:
        from balise.intake.filing import Intake

        return Intake(
            self.audit, self.evidence, self.db.sessions, self.clock,
            max_file_bytes=self.settings.max_file_bytes,
            max_items=self.settings.max_items_per_report,
            matcher=self.matcher,
            perceptual_hashing=True,
            after_store=self._after_intake,
            groups=self.intake_groups,
        )

    @cached_property
    def intake_groups(self) -> TransactionGroups:
        """Reports filed at the same time share one commit (intake/grouping.py)."""
        from balise.intake.grouping import TransactionGroups

        # The audit events of a whole group are appended at once, last: the chain's head is then
        # locked from that one append to the commit, not from the group's first report.
        return TransactionGroups(self.db.sessions, self.audit.record_batches,
                                 max_units=self.settings.intake_group_size)

    def _after_intake(self, session, report) -> None:  # type: ignore[no-untyped-def]
        """The jobs a new report needs, in the transaction that stores it: perceptual hashing of
        its pictures and videos (which queues the triage once all are hashed), or the triage
        right away; and a fetch of each reported URL."""
        from balise.jobs.queue import NewJob
        from balise.takedown.url_inspection import URL_FETCH_JOB

        jobs = self.media_hashing.jobs_for(report) or [self._triage_job(report)]
        # The cross-report entity index (docs/intelligence.md) reads what the report names.
        jobs.append(self.entities.job_for(report))
        # Each reported URL is fetched, located and matched (INHOPE ICCAM), in the same
        # transaction as the report so that none is forgotten.
        jobs += [NewJob(URL_FETCH_JOB, {"item_id": str(item.id)}, f"fetch:{item.id}")
                 for item in report.items if item.kind == "url" and item.url]
        # One statement for all of them: this runs while the intake holds its transaction.
        self.jobs.enqueue_many(session, jobs)

    @staticmethod
    def _triage_job(report) -> Any:  # type: ignore[no-untyped-def]
        from balise.casework.triage import TRIAGE_JOB
        from balise.jobs.queue import NewJob

        return NewJob(TRIAGE_JOB, {"report_id": str(report.id)}, f"triage:{report.id}")

    def _enqueue_triage(self, session, report) -> None:  # type: ignore[no-untyped-def]
        job = self._triage_job(report)
        self.jobs.enqueue(session, job.kind, job.payload, dedupe_key=job.dedupe_key)

    def _after_hashing(self, session, report) -> None:  # type: ignore[no-untyped-def]
        """In the transaction that records the last perceptual hash of a report: a NCMEC report's
        type follows its files' matches, and the report goes to triage."""
        self.ispws.decide_type_when_hashed(session, report)
        self._enqueue_triage(session, report)

    @cached_property
    def media_hashing(self) -> MediaHashing:
        from balise.detection.media_hashing import MediaHashing

        return MediaHashing(self.db.sessions, self.audit, self.clock, evidence=self.evidence, matcher=self.matcher,
                            media_hasher=self._hash_and_read_leads, tmp_dir=self.settings.data_dir / "tmp",
                            when_hashed=self._after_hashing, keep_preview=self._keep_preview,
                            when_item_hashed=lambda session, item, frames: self.series_assignment.assign(
                                session, item, frames),
                            on_result=lambda session, item, result: self.file_leads.record(
                                session, item, result.get("leads")))

    @cached_property
    def series_assignment(self) -> SeriesAssignment:
        """Series of near-duplicates across reports, assigned at hashing time (docs/victims.md)."""
        from balise.victims.assignment import SeriesAssignment

        return SeriesAssignment(self.audit, self.clock)

    @cached_property
    def series(self) -> SeriesService:
        from balise.victims.series import SeriesService

        return SeriesService(self.audit, self.clock, self.series_assignment, self.grants)

    @cached_property
    def victim_requests(self) -> VictimRequests:
        """Victims' requests filed by coordinating authorities (CSAR Art. 20, 21)."""
        from balise.victims.requests import VictimRequests

        return VictimRequests(self.audit, self.clock, self.series_assignment, notices=self.notices,
                              takedowns_check=self.takedowns.recheck_now, holds=self.holds)

    def _hash_and_read_leads(self, path: str) -> dict:  # type: ignore[type-arg]
        """The media.hash job's hasher: the hashes, and what the file says of itself (EXIF,
        XMP, C2PA) read from the same private copy in a bounded child (docs/intelligence.md)."""
        from balise.intelligence.adapters.file_leads import read_leads_isolated

        result = self._hash_with_preview(path)
        if result.get("status") != "error":
            result["leads"] = read_leads_isolated(path, timeout_s=self.settings.hash_timeout_seconds,
                                                  memory_bytes=self.settings.hash_memory_bytes)
        return result

    @cached_property
    def file_leads(self) -> FileLeads:
        import hashlib

        from balise.adapters.secretbox import SecretBox
        from balise.intelligence.file_leads import FileLeads

        secret = self.settings.secret_key.get_secret_value()
        box = SecretBox(secret, b"balise item leads v1")
        return FileLeads(self.audit, box, self.clock, hashlib.sha256(b"balise camera serial v1\x00" + secret.encode()).digest())

    @cached_property
    def entities(self) -> EntityIndex:
        from balise.intelligence.entities import EntityIndex

        return EntityIndex(self.audit, self.clock, self.db.sessions)

    @cached_property
    def financial(self) -> FinancialAlerts:
        from balise.intelligence.financial import FinancialAlerts

        return FinancialAlerts(self.audit, self.clock, self.notices, self.settings.centre_name)

    @cached_property
    def jobs(self) -> JobQueue:
        from balise.jobs.queue import JobQueue

        return JobQueue(self.db.sessions, self.clock, lease=timedelta(seconds=self.settings.job_lease_seconds))

    # -- routing, notices, takedown (issue 5) ----------------------------------------------

    @cached_property
    def partners(self) -> Partners:
        from balise.adapters.secretbox import SecretBox
        from balise.takedown.partners import Partners

        box = SecretBox(self.settings.secret_key.get_secret_value(), b"balise partner webhook secret v1")
        return Partners(self.audit, box, self.clock)

    @cached_property
    def holds(self) -> Holds:
        from balise.takedown.holds import Holds

        return Holds(self.audit, self.clock, on_change=lambda session, report_id: self.router.resume(session, report_id))

    @cached_property
    def triage(self) -> Triage:
        from balise.casework.triage import Triage

        return Triage(self.db.sessions, self.audit, self.clock,
                      series_links=lambda session, report_id: self.series.links_for_triage(session, report_id))

    @cached_property
    def assessment(self) -> Assessment:
        from balise.casework.assessment import Assessment

        return Assessment(self.audit, self.indicators, self.clock, forwarder=self.router)

    @cached_property
    def exposure(self) -> Exposure:
        """What of an item reaches the staff browser: blurred derivatives, reveal tokens."""
        from balise.evidence.exposure import Exposure

        return Exposure(self.db.transaction, self.evidence, self.audit, self.clock, self.settings.reveal_daily_cap,
                        new_session=self.db.sessions)

    @cached_property
    def mailer(self) -> Mailer:
        return mailer_from_settings(self.settings, self.clock)

    @cached_property
    def webhooks(self) -> HttpWebhookSender:
        from balise.takedown.adapters.webhook import HttpWebhookSender

        return HttpWebhookSender(timeout_s=self.settings.webhook_timeout_seconds,
                                 overall_timeout_s=self.settings.webhook_overall_timeout_seconds,
                                 max_response_bytes=self.settings.webhook_max_response_bytes, clock=self.clock)

    @cached_property
    def signer(self) -> Ed25519Signer:
        """The centre's Ed25519 key for evidence packages (BALISE_SIGNING_KEY_FILE; generated
        under the data directory in development)."""
        from balise.evidence.adapters.signing import SigningKeyError, load_or_create_dev_signer, load_signer
        from balise.settings import UnsafeConfiguration

        problem = self.settings.signing_key_problem()
        if problem:
            raise UnsafeConfiguration(problem)
        path = self.settings.signing_key_path
        assert path is not None
        try:
            if self.settings.signing_key_file is not None:
                return load_signer(path)
            return load_or_create_dev_signer(path)
        except SigningKeyError as exc:
            raise UnsafeConfiguration(f"BALISE_SIGNING_KEY_FILE: {exc}") from exc

    @cached_property
    def packages(self) -> EvidencePackages:
        from balise.evidence.packages import EvidencePackages

        return EvidencePackages(self.db.sessions, self.audit, self.evidence, self.signer, self.clock,
                                self.settings.package_path, self.settings.centre_name)

    # -- routing, notices, takedown: the network side ---------------------------------------

    @cached_property
    def fetcher(self) -> UrlFetcher:
        from balise.takedown.adapters.fetcher import Fetcher
        from balise.takedown.adapters.routing_adapters import SafeUrlFetcher

        return SafeUrlFetcher(Fetcher.from_settings(self.settings, resolver=self.resolver))

    @cached_property
    def resolver(self):  # type: ignore[no-untyped-def]
        """The fetcher's name resolution: the system's, or a fixed table so that no DNS query
        leaves the machine (BALISE_FETCH_RESOLVER=static)."""
        if self.settings.fetch_resolver == "system":
            return None
        from balise.settings import static_hosts
        from balise.takedown.adapters.routing_adapters import OfflineResolver

        return OfflineResolver(static_hosts(self.settings.fetch_static_hosts))

    @cached_property
    def locator(self) -> Locator:
        from balise.takedown.adapters.geo import GeoLocator
        from balise.takedown.adapters.geo_overrides import OverridingLocator
        from balise.takedown.adapters.routing_adapters import geo_location

        return OverridingLocator(geo_location(GeoLocator()), self.geo_overrides)

    @cached_property
    def geo_overrides(self) -> list:  # type: ignore[type-arg]
        from balise.takedown.adapters.geo_overrides import load_overrides

        return load_overrides(self.settings.geo_overrides_file) if self.settings.geo_overrides_file else []

    @cached_property
    def abuse_directory(self) -> AbuseDirectory:
        from balise.takedown.adapters.fetcher import Fetcher
        from balise.takedown.adapters.rdap import RdapClient
        from balise.takedown.adapters.routing_adapters import DbRdapCache, RdapAbuseDirectory

        fetcher = Fetcher.from_settings(self.settings, resolver=self.resolver)
        client = RdapClient.from_settings(self.settings, fetcher, DbRdapCache(self.db.sessions, self.clock))
        from balise.takedown.adapters.geo_overrides import OverridingAbuseDirectory

        return OverridingAbuseDirectory(RdapAbuseDirectory(client), self.geo_overrides)

    @cached_property
    def url_inspector(self) -> UrlInspector:
        from balise.takedown.url_inspection import UrlInspector

        return UrlInspector(self.db.sessions, self.audit, self.clock, fetcher=self.fetcher, locator=self.locator,
                            abuse=self.abuse_directory, matcher=self.matcher, media_hasher=self.media_hasher,
                            evidence=self.evidence, reuse=self.triage.reuse_assessment,
                            tmp_dir=self.settings.data_dir / "tmp", enqueue=self._enqueue_fetch,
                            max_page_media=self.settings.page_media_limit)

    def _enqueue_fetch(self, session, item) -> None:  # type: ignore[no-untyped-def]
        from balise.takedown.url_inspection import URL_FETCH_JOB

        self.jobs.enqueue(session, URL_FETCH_JOB, {"item_id": str(item.id)}, dedupe_key=f"fetch:{item.id}")

    @cached_property
    def notices(self) -> Notices:
        from balise.takedown.adapters.delivery import ChannelDeliverer, ExportDeliverer
        from balise.takedown.adapters.routing_adapters import email_sender, reply_address, webhook_sender
        from balise.takedown.notice_templates import new_notice_reference, render_notice
        from balise.takedown.notices import Notices
        from balise.takedown.partners import slug
        from balise.takedown.ports import Rendered

        reply_to = reply_address(self.settings.mail_from)
        centre = self.settings.centre_name

        def render(kind: str, language: str, context: dict) -> Rendered:  # type: ignore[type-arg]
            values = {"sender_name": centre, "reply_to": reply_to, **context}
            # Names come from registries and providers: one line, bounded, whatever they sent.
            for key in ("recipient_name", "host_name", "provider_name"):
                if isinstance(values.get(key), str):
                    values[key] = " ".join(values[key].split())[:300] or None
            rendered = render_notice(kind, language, {k: v for k, v in values.items() if v is not None})
            return Rendered(rendered.subject, rendered.body, rendered.language_used)

        deliverer = ChannelDeliverer(email=email_sender(self.mailer, reply_to), webhook=webhook_sender(self.webhooks),
                                     export=ExportDeliverer(self.settings.exports_path / "notices"))
        notices = Notices(self.db.sessions, self.audit, self.jobs, self.clock, render, deliverer,
                          lambda: new_notice_reference(self.clock()), self.partners.webhook_secret, slug)
        notices.on_sent(lambda session, notice: self.takedowns.notice_sent(session, notice))
        notices.on_sent(lambda session, notice: self._package_custody(session, notice, "delivered"))
        notices.on_acknowledged(lambda session, notice: self.takedowns.notice_acknowledged(session, notice))
        notices.on_acknowledged(lambda session, notice: self._package_custody(session, notice, "received"))
        return notices

    def _package_custody(self, session, notice, kind: str) -> None:  # type: ignore[no-untyped-def]
        """The package's chain of custody follows its delivery and its receipt."""
        import uuid

        from balise.accounts.actors import Actor
        from balise.adapters.db.models import Partner

        if not notice.package_id:
            return
        partner = session.get(Partner, notice.partner_id) if notice.partner_id else None
        recipient = (partner.name if partner else notice.recipient or "unknown")[:200]
        self.packages.record_custody(session, Actor.system("notices"), uuid.UUID(notice.package_id), kind, recipient,
                                     {"notice": notice.reference, "channel": notice.channel})

    @cached_property
    def router(self) -> Router:
        from balise.takedown.routing import Router

        return Router(self.db.sessions, self.audit, self.clock, jobs=self.jobs, partners=self.partners,
                      holds=self.holds, notices=self.notices, locator=self.locator, packages=self.packages,
                      centre_country=self.settings.centre_country, centre_name=self.settings.centre_name,
                      include_media=self.settings.package_include_media,
                      respond_within=timedelta(hours=self.settings.removal_sla_hours),
                      federation=self.federation_partners, referrals=self.referrals)

    @cached_property
    def federation_partners(self) -> FederationPartners:
        from balise.exchange.federation import FederationPartners

        return FederationPartners(self.audit, self.clock)

    @cached_property
    def referrals(self) -> Referrals:
        from balise.exchange.adapters.partner_client import post_signed
        from balise.exchange.federation import Referrals

        return Referrals(self.db.sessions, self.federation_partners, self.audit, self.clock, self.jobs,
                         lambda: self.signer, post_signed, self._file_referral)

    def _file_referral(self, document: dict, partner_name: str, also_store) -> Any:  # type: ignore[no-untyped-def]
        """A referral received from a partner, filed as a report in our queue (source hotline)."""
        from pydantic import ValidationError

        from balise.accounts.actors import Actor
        from balise.domain.model import ReportSource
        from balise.exchange.federation import FederationError
        from balise.intake.report_schema import ReportIn, describe_errors

        try:
            report = ReportIn.model_validate(document)
        except ValidationError as exc:
            errors, _ = describe_errors(exc)
            raise FederationError("; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])) from None
        self.intake.prepare_files(report, {})
        return self.intake.file(actor=Actor.system(f"partner {partner_name}"[:64]), organisation_id=None,
                                report=report, files={}, fingerprint="", idempotency_key=None,
                                source=ReportSource.HOTLINE, also_store=also_store)

    @cached_property
    def takedowns(self) -> Takedowns:
        from balise.takedown.takedowns import Takedowns

        return Takedowns(self.db.sessions, self.audit, self.clock, jobs=self.jobs, fetcher=self.fetcher,
                         holds=self.holds, notices=self.notices, partners=self.partners,
                         schedule=self.settings.removal_checks,
                         sla=timedelta(hours=self.settings.removal_sla_hours),
                         centre_country=self.settings.centre_country, centre_name=self.settings.centre_name,
                         media_hasher=self.media_hasher, tmp_dir=self.settings.data_dir / "tmp",
                         matcher=self.matcher)

    @cached_property
    def periodic(self) -> Periodic:
        from balise.evidence.packages import sweep_orphans
        from balise.jobs.periodic import Periodic, PeriodicTask
        from balise.takedown.routing import SYSTEM

        every = timedelta(seconds=self.settings.periodic_seconds)
        return Periodic(self.db.sessions, self.jobs, self.clock, [
            PeriodicTask("holds.expire", every, lambda session: self.holds.expire(session, SYSTEM)),
            PeriodicTask("grants.expire", every, lambda session: self.grants.expire(session, SYSTEM)),
            PeriodicTask("clocks.check", every, self.clocks.check),
            # Removal orders whose 24 h ran out: re-check their URLs, escalate (balise/orders/clocks.py).
            PeriodicTask("orders.check", every, self.order_clocks.check),
            # Zips left by a worker killed between writing a package and committing its record.
            PeriodicTask("packages.sweep", every, lambda session: sweep_orphans(
                session, self.audit, SYSTEM, self.settings.package_path, self.clock(), PACKAGE_ORPHAN_AGE)),
            # Half a job lease at most per run, so a backlog never outlives the lease.
            PeriodicTask("retention", timedelta(seconds=self.settings.retention_interval_seconds),
                         work=lambda: self.retention.run(budget_seconds=self.settings.job_lease_seconds / 2)),
            # Nightly: the measured error rates of the recent months and weeks, stored.
            PeriodicTask("error_rates", timedelta(days=1), self.error_rates.store_recent,
                         next_run=lambda now: next_daily(now, self.settings.error_rates_hour_utc)),
            # Daily: each active indicator still backed by a standing submission, URLs still
            # served (CSAR Art. 46(7)); results recorded (docs/orders.md).
            PeriodicTask("indicators.verify", timedelta(days=1),
                         work=lambda: self.verify_indicators()),
            # Every subscription to another installation's indicator list, from its last version.
            *([PeriodicTask("exchange.pull", timedelta(minutes=self.settings.exchange_pull_minutes),
                            work=lambda: self.subscriptions.pull_all(self.db.transaction, SYSTEM))]
              if self.settings.exchange_pull_minutes else []),
            # A signed checkpoint of the audit trail and the match access log, outside the database.
            *([PeriodicTask("audit.checkpoint", timedelta(minutes=self.settings.checkpoint_interval_minutes),
                            work=lambda: self.checkpoints.write(SYSTEM))] if self.settings.checkpoint_dir else []),
        ])

    @cached_property
    def submissions(self) -> Submissions:
        from balise.detection.submissions import Submissions

        return Submissions(self.audit, self.indicators, self.clock)

    def verify_indicators(self) -> Any:
        """One periodic re-verification (CSAR Art. 46(7)): the indicators (URL indicators fetched
        again), then a representative sample of the URL list when it is not empty."""
        from balise.accounts.actors import Actor

        fetch = lambda url: self.fetcher.fetch(url).outcome  # noqa: E731 - one fetcher for both checks
        run = self.submissions.verify(self.db.sessions, fetch)
        with self.db.sessions() as session:
            listed = self.url_list.listed_count(session)
        if listed:
            self.url_list.verify_sample(self.db.sessions, Actor.system("indicator-verification"), fetch)
        return run

    @cached_property
    def url_list(self) -> UrlList:
        from balise.detection.url_list import UrlList

        return UrlList(self.audit, self.indicators, self.clock, lambda: self.signer, self.settings.centre_name)

    @cached_property
    def error_rates(self) -> ErrorRates:
        from balise.governance.error_rates import ErrorRates

        return ErrorRates(self.clock, months=self.settings.error_rates_months)

    @cached_property
    def clocks(self) -> Clocks:
        from balise.casework.clocks import Clocks, ClockSettings

        return Clocks(self.audit, self.clock, ClockSettings(
            information_request=timedelta(days=self.settings.information_request_days),
            removal_sla=timedelta(hours=self.settings.removal_sla_hours),
            hold_warning=timedelta(days=self.settings.hold_warning_days)), sources=self.order_clocks.sources())

    @cached_property
    def orders(self) -> Orders:
        from balise.orders.registry import Orders

        return Orders(self.audit, self.clock)

    @cached_property
    def order_clocks(self) -> OrderClocks:
        from balise.orders.clocks import OrderClocks

        return OrderClocks(self.audit, self.clock, jobs=self.jobs, new_session=self.db.sessions,
                           verifier=lambda: self.takedowns, partners=self.partners, notices=lambda: self.notices)

    @cached_property
    def transparency(self) -> Transparency:
        from balise.governance.transparency import Transparency

        return Transparency(self.clock, self.settings.transparency_min_count)

    @cached_property
    def retention(self) -> Retention:
        from balise.domain.retention import Policy
        from balise.governance.adapters.local_copies import FileCopies
        from balise.governance.retention import Retention

        s = self.settings
        policy = Policy.from_days(unfounded=s.retention_unfounded_days, forwarded=s.retention_forwarded_days,
                                  retracted=s.retention_retracted_days,
                                  public_contact=s.retention_public_contact_days,
                                  public_contact_max=s.retention_public_contact_max_days,
                                  jobs=s.retention_jobs_days, idempotency_keys=s.retention_idempotency_days)
        copies = FileCopies(s.exports_path / "notices", s.data_dir / "outbox")
        return Retention(self.db.sessions, self.audit, self.evidence, self.holds, self.clock, policy, copies,
                         batch_size=s.retention_batch_size)

    @cached_property
    def ispws(self) -> IspwsService:
        from balise.intake.ispws import IspwsService

        return IspwsService(audit=self.audit, evidence=self.evidence, intake=self.intake, jobs=self.jobs,
                            new_session=self.db.sessions, read_epoch=self.credential_epoch, clock=self.clock,
                            max_items=self.settings.max_items_per_report, max_file_bytes=self.settings.max_file_bytes)

    def job_handlers(self) -> dict:  # type: ignore[type-arg]
        from balise.casework.triage import TRIAGE_JOB
        from balise.detection.media_hashing import MEDIA_HASH_JOB
        from balise.exchange.federation import OUTCOME_JOB, SEND_JOB
        from balise.intake.ispws import EXPIRE_JOB
        from balise.orders.clocks import RECHECK_JOB
        from balise.intelligence.entities import ENTITY_EXTRACT_JOB
        from balise.takedown.notices import NOTICE_SEND_JOB
        from balise.takedown.routing import ROUTE_JOB
        from balise.takedown.takedowns import TAKEDOWN_CHECK_JOB
        from balise.takedown.url_inspection import URL_FETCH_JOB

        return {MEDIA_HASH_JOB: self.media_hashing.handle, TRIAGE_JOB: self.triage.handle, EXPIRE_JOB: self.ispws.expire,
                URL_FETCH_JOB: self.url_inspector.handle,
                ROUTE_JOB: self.router.handle, NOTICE_SEND_JOB: self.notices.handle_send,
                TAKEDOWN_CHECK_JOB: self.takedowns.handle_check, RECHECK_JOB: self.order_clocks.handle_recheck,
                ENTITY_EXTRACT_JOB: self.entities.handle,
                SEND_JOB: self.referrals.handle_send, OUTCOME_JOB: self.referrals.handle_outcome,
                **self.periodic.handlers()}

    def retry_job(self, job_id: int, actor) -> bool:  # type: ignore[no-untyped-def]
        """`balise jobs retry`: the job goes back in the queue, and what it acts on with it (a
        failed notice becomes pending again, so it is sent once more)."""
        from balise.takedown.notices import NOTICE_SEND_JOB

        return self.jobs.retry(job_id, hooks={
            NOTICE_SEND_JOB: lambda session, payload: self.notices.job_retried(session, payload, actor)})

    def run_jobs(self) -> int:
        """Run every ready job now (tests, `balise jobs run`)."""
        return self.jobs.run_until_idle(self.job_handlers())

    def media_hasher(self, path: str, preview_side: int | None = None) -> dict:  # type: ignore[type-arg]
        """The isolated hasher. ``preview_side``: a picture's result also holds its preview
        pixels (the hashing job keeps them encrypted as the source of the blurred view)."""
        from balise.detection.adapters.media_hash import hash_file_isolated

        # Dihedral hashes too, so that rotated or mirrored copies of known material match.
        return hash_file_isolated(path, timeout_s=self.settings.hash_timeout_seconds,
                                  memory_bytes=self.settings.hash_memory_bytes, dihedral=True,
                                  preview_side=preview_side)

    def _hash_with_preview(self, path: str) -> dict:  # type: ignore[type-arg]
        from balise.domain.exposure import PREVIEW_MAX_SIDE

        return self.media_hasher(path, preview_side=PREVIEW_MAX_SIDE)

    def _keep_preview(self, session: Session, original: str, pixels: Any, actor: Actor) -> Any:
        """The hashing job's preview pixels of ``original``, kept encrypted (in its transaction);
        None when they are not what was asked for (the first view makes the source instead)."""
        from balise.evidence.adapters.derivatives import NotDecodable, source_from_pixels

        try:
            source = source_from_pixels(pixels)
        except NotDecodable:
            return None
        return self.exposure.keep_source(session, original, source, actor)

    def close(self) -> None:
        epoch = self.__dict__.get("credential_epoch")
        if epoch is not None and hasattr(epoch, "close"):
            epoch.close()  # its listening thread and connection
        if "match_log" in self.__dict__:
            self.match_log.close()  # what is waiting is written: a clean stop loses no entry
        if "intake_groups" in self.__dict__:
            self.intake_groups.close()  # the reports waiting for a commit are committed first
        if "pdq_index" in self.__dict__:
            self.pdq_index.close()  # its refreshing thread, if any
        if "db" in self.__dict__:
            self.db.dispose()
        if "webhooks" in self.__dict__:
            self.webhooks.close()


def mailer_from_settings(settings: Settings, clock: Callable[[], datetime] | None = None) -> Mailer:
    """SMTP when BALISE_SMTP_URL is set; otherwise the outbox under the data directory, so
    that nothing leaves the machine unless an operator says where mail goes."""
    from balise.domain.mail import SmtpEndpoint, parse_sender
    from balise.takedown.adapters.mail import utc_now

    sender = parse_sender(settings.mail_from)
    clock = clock or utc_now
    if not settings.smtp_url:
        from balise.takedown.adapters.mail_outbox import OutboxMailer

        return OutboxMailer(settings.data_dir / "outbox", sender, clock)
    from balise.takedown.adapters.mail_smtp import SmtpMailer

    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailer(SmtpEndpoint.parse(settings.smtp_url), sender, clock, password=password,
                      ca_file=settings.smtp_ca_file, timeout_s=settings.smtp_timeout_seconds,
                      overall_timeout_s=settings.smtp_overall_timeout_seconds)
