"""Wiring: builds each service from the settings with the adapters they name."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property

from balise.adapters.db.engine import Database
from balise.adapters.secretbox import SecretBox
from balise.adapters.vault_local import LocalVault
from balise.domain.audit import derive_audit_key
from balise.services.audit import AuditTrail
from balise.services.evidence import EvidenceVault
from balise.services.intake import Intake
from balise.services.organisations import Organisations
from balise.services.users import Users
from balise.settings import Settings


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
    def intake(self) -> Intake:
        return Intake(
            self.audit, self.evidence, self.db.sessions, self.clock,
            max_file_bytes=self.settings.max_file_bytes,
            max_items=self.settings.max_items_per_report,
        )

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
