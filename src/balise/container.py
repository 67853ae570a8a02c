"""Wiring: builds each service from the settings with the adapters they name."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING

from balise.adapters.db.engine import Database
from balise.adapters.secretbox import SecretBox
from balise.adapters.vault_local import LocalVault
from balise.domain.audit import derive_audit_key
from balise.services.audit import AuditTrail
from balise.services.evidence import EvidenceVault
from balise.services.indicators import Indicators
from balise.services.intake import Intake
from balise.services.jobs import JobQueue
from balise.services.organisations import Organisations
from balise.services.users import Users
from balise.settings import Settings

if TYPE_CHECKING:
    from balise.services.assessment import Assessment
    from balise.services.ispws import IspwsService
    from balise.services.matching import Matcher, PdqIndexHolder
    from balise.services.triage import Triage


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Balise:
    def __init__(self, settings: Settings, clock=utc_now) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.clock = clock

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.sqlalchemy_url)

    @cached_property
    def audit(self) -> AuditTrail:
        return AuditTrail(derive_audit_key(self.settings.secret_key.get_secret_value()), self.clock)

    @cached_property
    def evidence(self) -> EvidenceVault:
        blobs = LocalVault(self.settings.vault_path, self.settings.vault_master_key)
        return EvidenceVault(blobs, self.audit)

    @cached_property
    def organisations(self) -> Organisations:
        return Organisations(self.audit, self.clock)

    @cached_property
    def users(self) -> Users:
        box = SecretBox(self.settings.secret_key.get_secret_value(), b"balise totp seed v1")
        return Users(self.audit, box, self.clock)

    @cached_property
    def indicators(self) -> Indicators:
        return Indicators(self.audit, self.clock)

    @cached_property
    def pdq_index(self) -> PdqIndexHolder:
        # Imported here: numpy and the index load only in processes that match.
        from balise.services.matching import PdqIndexHolder

        return PdqIndexHolder(self.db.sessions, self.indicators, self.settings.data_dir / "index" / "pdq",
                              refresh_interval=self.settings.index_refresh_seconds)

    @cached_property
    def matcher(self) -> Matcher:
        from balise.services.matching import Matcher

        return Matcher(self.db.sessions, self.pdq_index)

    @cached_property
    def intake(self) -> Intake:
        return Intake(
            self.audit, self.evidence, self.db.sessions, self.clock,
            max_file_bytes=self.settings.max_file_bytes,
            max_items=self.settings.max_items_per_report,
            matcher=self.matcher,
            media_hasher=self.media_hasher,
            tmp_dir=self.settings.data_dir / "tmp",
            after_store=self._enqueue_triage,
        )

    def _enqueue_triage(self, session, report) -> None:  # type: ignore[no-untyped-def]
        from balise.services.triage import TRIAGE_JOB

        self.jobs.enqueue(session, TRIAGE_JOB, {"report_id": str(report.id)}, dedupe_key=f"triage:{report.id}")

    @cached_property
    def jobs(self) -> JobQueue:
        return JobQueue(self.db.sessions, self.clock)

    @cached_property
    def triage(self) -> Triage:
        from balise.services.triage import Triage

        return Triage(self.db.sessions, self.audit, self.clock)

    @cached_property
    def assessment(self) -> Assessment:
        from balise.services.assessment import Assessment

        return Assessment(self.audit, self.indicators, self.clock)

    @cached_property
    def ispws(self) -> IspwsService:
        from balise.services.ispws import IspwsService

        return IspwsService(audit=self.audit, evidence=self.evidence, intake=self.intake, jobs=self.jobs,
                            new_session=self.db.sessions, clock=self.clock,
                            max_items=self.settings.max_items_per_report, max_file_bytes=self.settings.max_file_bytes)

    def job_handlers(self) -> dict:  # type: ignore[type-arg]
        from balise.services.ispws import EXPIRE_JOB
        from balise.services.triage import TRIAGE_JOB

        return {TRIAGE_JOB: self.triage.handle, EXPIRE_JOB: self.ispws.expire}

    def run_jobs(self) -> int:
        """Run every ready job now (tests, `balise jobs run`)."""
        return self.jobs.run_until_idle(self.job_handlers())

    def media_hasher(self, path: str) -> dict:  # type: ignore[type-arg]
        from balise.adapters.media_hash import hash_file_isolated

        # Dihedral hashes too, so that rotated or mirrored copies of known material match.
        return hash_file_isolated(path, timeout_s=self.settings.hash_timeout_seconds,
                                  memory_bytes=self.settings.hash_memory_bytes, dihedral=True)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
