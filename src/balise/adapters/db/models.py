"""SQLAlchemy tables. The schema itself is owned by the Alembic migrations in
``balise/migrations``; these classes must describe the same tables (a test compares them)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database, handed back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    legal_representative: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by `balise org suspend`: its API keys and /ispws credentials stop working at once.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Annex III fields NCMEC's format lacks, set once by the provider (or staff) and applied to
    # its /ispws reports (intake/report_defaults.py, docs/ncmec-api.md).
    report_defaults: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )


class ContactPoint(Base):
    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64), default="general")

    organisation: Mapped[Organisation] = relationship(back_populates="contact_points")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # The visible part of the key, used to find the row; the secret part is only hashed.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The TOTP seed, encrypted with a key derived from the service secret.
    totp_secret_enc: Mapped[str] = mapped_column(Text)
    # Last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Wellness and language: {"blur": 0-40, "greyscale": bool, "locale": "en"|"fr", "break_minutes": int}.
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The OpenID Connect identity (issuer, subject) the account signs in with, once linked.
    sso_issuer: Mapped[str | None] = mapped_column(String(255))
    sso_subject: Mapped[str | None] = mapped_column(String(255))


class EnrolmentLink(Base):
    """A single-use, expiring link an administrator gives a new user (to choose a password and
    enrol a second factor) or one whose second factor was reset. Only its SHA-256 is kept."""

    __tablename__ = "enrolment_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # account, second_factor
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityKey(Base):
    """A WebAuthn credential (security key) a staff user registered as a second factor. A removed
    key keeps its row (removed_at) so that an assertion by it is refused as a revoked key."""

    __tablename__ = "security_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url of the credential ID the authenticator chose.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    # The COSE public key, as the authenticator gave it at registration.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebauthnChallenge(Base):
    """A WebAuthn challenge: single-use, short-lived, bound to its user and to its ceremony
    (register or authenticate)."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ceremony: Mapped[str] = mapped_column(String(16))  # register, authenticate
    # base64url of the random challenge bytes.
    challenge: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    source: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(40), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Annex III points 2, 7-13.
    report_type: Mapped[str | None] = mapped_column(String(32))
    provider_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_timezone: Mapped[str | None] = mapped_column(String(8))
    provider_signature: Mapped[str | None] = mapped_column(Text)
    service_type: Mapped[str | None] = mapped_column(String(40))
    service_url: Mapped[str | None] = mapped_column(Text)
    awareness_source: Mapped[str | None] = mapped_column(String(40))
    awareness_detail: Mapped[str | None] = mapped_column(Text)
    reported_elsewhere: Mapped[bool | None] = mapped_column(Boolean)
    reported_elsewhere_body: Mapped[str | None] = mapped_column(String(200))
    reported_elsewhere_reference: Mapped[str | None] = mapped_column(String(200))
    content_removed: Mapped[bool | None] = mapped_column(Boolean)
    user_decision: Mapped[str | None] = mapped_column(String(32))
    imminent_threat: Mapped[bool] = mapped_column(Boolean, default=False)
    # Structured remainder of Annex III (contact point, legal representative, victims,
    # geolocation, media metadata) kept as submitted.
    provider_contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    victims: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    geolocation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    additional_info: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcome_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    outcome_text: Mapped[str | None] = mapped_column(Text)
    # Triage.
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    priority_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    missing_fields: Mapped[list[str] | None] = mapped_column(JSON)
    information_request: Mapped[str | None] = mapped_column(Text)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when retention redacted the report to its statistical skeleton (docs/retention.md):
    # no personal data and no content remain, only what the transparency figures count.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[Item]] = relationship(
        back_populates="report", order_by="Item.position", cascade="all, delete-orphan"
    )
    persons: Mapped[list[Person]] = relationship(
        back_populates="report", order_by="Person.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReportEvent]] = relationship(
        back_populates="report", order_by="ReportEvent.id", cascade="all, delete-orphan"
    )


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("report_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str | None] = mapped_column(String(16))
    # As given by the sender: data to show, never a path.
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    url: Mapped[str | None] = mapped_column(Text)
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    vault_object: Mapped[str | None] = mapped_column(ForeignKey("vault_objects.sha256"))
    # Further hashes: {"pdq": ..., "pdq_quality": ..., "photodna": ...}.
    hashes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    media_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Perceptual hashing outcome: ok, low_quality, error, not_applicable.
    hash_status: Mapped[str | None] = mapped_column(String(16))
    hash_error: Mapped[str | None] = mapped_column(Text)
    # What the hasher ignored or repaired to hash the picture (bytes before or after it, a cut
    # JPEG), and whether the file is also another format (ZIP, PDF, HTML...): for the analyst.
    hash_notes: Mapped[list[str] | None] = mapped_column(JSON)
    polyglot: Mapped[bool] = mapped_column(Boolean, default=False)
    # Matches against the indicator database at arrival: [{indicator_id, algorithm, distance, ...}].
    matches: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    matched: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # Triage: the earliest item with the same content (SHA-256) or picture (PDQ within the
    # threshold), and on that earliest item how many times it has been reported in all.
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"), index=True)
    duplicate_distance: Mapped[int | None] = mapped_column(Integer)
    times_reported: Mapped[int] = mapped_column(Integer, default=1)
    # Assessment: by re-use of a confirmed indicator, or by an analyst.
    outcome: Mapped[str | None] = mapped_column(String(32))
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    assessment_source: Mapped[str | None] = mapped_column(String(64))
    assessed_by: Mapped[str | None] = mapped_column(String(64))
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised on every assessment change: a form carrying an older number is stale.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="items")


class Person(Base):
    """A person or account the report names (Annex III points 5, 6, 13)."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    report: Mapped[Report] = relationship(back_populates="persons")
    identifiers: Mapped[list[PersonIdentifier]] = relationship(
        back_populates="person", order_by="PersonIdentifier.id", cascade="all, delete-orphan"
    )


class PersonIdentifier(Base):
    __tablename__ = "person_identifiers"
    __table_args__ = (Index("ix_person_identifiers_type_value", "type", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    # For IP addresses: when (timezone-aware), which port, which event (upload, login).
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed_tz: Mapped[str | None] = mapped_column(String(8))
    port: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str | None] = mapped_column(String(64))

    person: Mapped[Person] = relationship(back_populates="identifiers")


class ReportEvent(Base):
    """Every state change of a report, timestamped and attributed."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)

    report: Mapped[Report] = relationship(back_populates="events")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),
                      # Retention deletes keys older than BALISE_RETENTION_IDEMPOTENCY_DAYS.
                      Index("ix_idempotency_keys_created_at", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VaultObject(Base):
    """An encrypted object in the evidence vault, addressed by the SHA-256 of its plaintext."""

    __tablename__ = "vault_objects"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaDerivative(Base):
    """A derivative source of a stored picture, itself an object of the evidence vault (so
    encrypted at rest like the original): the picture upright, downscaled to ``max_side`` and
    greyscale or colour (``kind``), not yet blurred: the blur is applied per request at the
    viewer's strength. Made when the picture is hashed, or at its first view. Forgotten with
    its original (``EvidenceVault.forget``)."""

    __tablename__ = "media_derivatives"

    original: Mapped[str] = mapped_column(String(64), ForeignKey("vault_objects.sha256"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    derivative: Mapped[str] = mapped_column(String(64), ForeignKey("vault_objects.sha256"), index=True)
    max_side: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditRecord(Base):
    """Append-only. Rows are never updated or deleted by the application."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)


class AuditHead(Base):
    """One row: the last event's number and MAC. Appends lock it, so two writers never fork
    the chain, and deleting the newest audit rows is detected."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    mac: Mapped[str] = mapped_column(String(64))


class MatchAccessBatch(Base):
    """The match access log (docs/oversight.md): append-only batches of answered match queries,
    each batch's MAC covering its entries and the MAC of the batch before it."""

    __tablename__ = "match_access_batches"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_count: Mapped[int] = mapped_column(Integer)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class MatchAccessHead(Base):
    """One row: the last batch's number and MAC, locked by each append like audit_head."""

    __tablename__ = "match_access_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    mac: Mapped[str] = mapped_column(String(64))


class Indicator(Base):
    """A digital identifier of known or new CSAM, solicitation, or a URL (CSAR Art. 44)."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("algorithm", "value"),
        Index("ix_indicators_version", "version"),
        # Index sync: "changes of this algorithm after version N".
        Index("ix_indicators_algorithm_version", "algorithm", "version"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16))
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    # vPDQ indicators: the frames [[frame_number, quality, pdq, timestamp], ...]; `value` is
    # then the SHA-256 of their canonical text, which keeps (algorithm, value) unique.
    frames: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), index=True)
    # Raised on every change, from one counter: consumers sync "everything after version N".
    version: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The Article 36 submission it was generated from or confirmed by (CSAR Art. 44(4)).
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_submissions.id"), index=True)
    # The centre's candidate confirmed by four eyes: since when it waits for an authority, and
    # until when (1 month, extendable to 2: CSAR Art. 36(3)).
    awaiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    authority_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndicatorSubmission(Base):
    """Material or hashes a coordinating authority confirmed and submitted (CSAR Art. 36), or a
    court decision recorded as one: the only source of indicators (docs/orders.md)."""

    __tablename__ = "indicator_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The submitting coordinating authority; None for a court decision entered by staff.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    authority: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200), index=True)
    process: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hash_count: Mapped[int] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class IndicatorHistory(Base):
    """Every change of an indicator, kept as long as the indicator (CSAR Art. 44(4))."""

    __tablename__ = "indicator_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(300))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_submissions.id"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class IndicatorVerificationRun(Base):
    """One periodic re-verification (CSAR Art. 46(7)): hashes still confirmed, URLs still live."""

    __tablename__ = "indicator_verification_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)
    unconfirmed: Mapped[int] = mapped_column(Integer)
    urls_checked: Mapped[int] = mapped_column(Integer)
    urls_live: Mapped[int] = mapped_column(Integer)
    urls_gone: Mapped[int] = mapped_column(Integer)
    # The indicators and URLs found wanting (ids and why), at most a few hundred.
    problems: Mapped[list[Any]] = mapped_column(JSON)


class CredentialEpoch(Base):
    """One row: a counter that database triggers (migration 0032) raise whenever what an API
    key, an /ispws credential or an access grant allows may have changed: a key or credential
    issued, revoked or deleted, an organisation suspended or reinstated, a grant decided,
    revoked or changed. Each process caches authentication while the counter stays the same
    (accounts/organisations.py), so a change counts from the next request in every process."""

    __tablename__ = "credential_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)


class ExchangeSubscription(Base):
    """An indicator list of another installation pulled here with deltas (docs/federation.md):
    where, which list, the partner's signing key, our API key there (sealed), and the last
    version pulled."""

    __tablename__ = "exchange_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    base_url: Mapped[str] = mapped_column(Text)
    list_name: Mapped[str] = mapped_column(String(40))
    public_key_pem: Mapped[str] = mapped_column(Text)
    api_key_sealed: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorVersion(Base):
    """One row: the last indicator version handed out. Locked while versions are reserved."""

    __tablename__ = "indicator_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class ReportClaim(Base):
    """One analyst works a report at a time; a claim expires."""

    __tablename__ = "report_claims"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevealToken(Base):
    """A single-use permission for one analyst to see one item unblurred, while the claim it
    was issued under lasts (docs/workbench.md). Only the SHA-256 of the token is kept."""

    __tablename__ = "reveal_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    # The claim it is bound to: released, taken over or claimed anew, the token is void.
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Job(Base):
    """Background work, enqueued in the transaction of the data it acts on."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_ready", "status", "run_at"),
        # Retention deletes done jobs finished before BALISE_RETENTION_JOBS_DAYS.
        Index("ix_jobs_finished", "status", "finished_at"),
        # At most one pending job per dedupe key, even when two transactions enqueue at once.
        Index("uq_jobs_pending_dedupe_key", "dedupe_key", unique=True,
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A second job with the same key is not enqueued while the first is pending (a running
    # job may queue its successor under its own key); see uq_jobs_pending_dedupe_key.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The HTTP request (X-Request-ID) during which the job was enqueued; the worker's log lines
    # carry it while the job runs (docs/deployment.md#logs).
    request_id: Mapped[str | None] = mapped_column(String(128))


class PublicReport(Base):
    """What the public reporting form keeps beside the report: the short report number, a
    keyed hash of the reporter's secret (never the secret), and only what the reporter chose
    to give (name, email, and the IP address only when they opted in)."""

    __tablename__ = "public_reports"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_email: Mapped[str | None] = mapped_column(String(320))
    reporter_ip: Mapped[str | None] = mapped_column(String(64))
    additions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When retention deleted the name, email and IP (docs/retention.md).
    contact_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EvidencePackage(Base):
    """A signed evidence package built for law enforcement (docs/evidence-packages.md). The
    zip itself is a file; this row is the centre's record of it."""

    __tablename__ = "evidence_packages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(16))
    include_media: Mapped[bool] = mapped_column(Boolean)
    media_count: Mapped[int] = mapped_column(Integer)
    # The package:build audit event, whose details hold the zip's SHA-256.
    audit_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When retention deleted the zip; the row and its custody log stay (docs/retention.md).
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[EvidencePackageEvent]] = relationship(
        back_populates="package", order_by="EvidencePackageEvent.id", cascade="all, delete-orphan"
    )


class EvidencePackageEvent(Base):
    """The centre's chain-of-custody log of a package: built, then delivered, received..."""

    __tablename__ = "evidence_package_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_packages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audit_seq: Mapped[int] = mapped_column(BigInteger)

    package: Mapped[EvidencePackage] = relationship(back_populates="events")
# -- Routing, notice-and-takedown, holds (DOMAIN.md §2, §4, §8) ------------------------------


class Partner(Base):
    """Directory of the organisations Balise routes to: hotlines and police units per country,
    Europol, coordinating authorities. Seeded entries carry no real endpoint until an
    administrator configures and verifies one."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("kind", "country", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # hotline, police, europol, coordinating_authority
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook, export, none
    endpoint: Mapped[str | None] = mapped_column(Text)
    # Encrypted with the secret box: the HMAC key of a webhook endpoint.
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    languages: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UrlHosting(Base):
    """What the safe fetcher and the offline registry found out about a reported URL."""

    __tablename__ = "url_hosting"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    host: Mapped[str | None] = mapped_column(String(255))
    # The host as a person reads it (U-labels) and what the URL check noticed about it:
    # idn, mixed_script, latin_lookalike, mapped, percent_encoded, numeric_disguise.
    host_unicode: Mapped[str | None] = mapped_column(String(255))
    host_flags: Mapped[list[str] | None] = mapped_column(JSON)
    address: Mapped[str | None] = mapped_column(String(64))
    addresses: Mapped[list[str] | None] = mapped_column(JSON)
    hosted_country: Mapped[str | None] = mapped_column(String(2))
    network: Mapped[str | None] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(String(200))
    cdn: Mapped[str | None] = mapped_column(String(64))
    abuse_email: Mapped[str | None] = mapped_column(String(320))
    abuse_name: Mapped[str | None] = mapped_column(String(200))
    rdap_handle: Mapped[str | None] = mapped_column(String(200))
    rdap_error: Mapped[str | None] = mapped_column(Text)
    fetch_status: Mapped[str] = mapped_column(String(16))  # served, gone, unreachable, refused, error
    fetch_error: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    stored: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Jurisdiction(Base):
    """The countries of a report kept apart (ICCAM): reported, hosted, uploaded from; and the
    Member State likely to have jurisdiction, with reasons and a confidence (CSAR Art. 48)."""

    __tablename__ = "jurisdictions"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    reported_country: Mapped[str | None] = mapped_column(String(2))
    hosted_countries: Mapped[list[str]] = mapped_column(JSON)
    uploaded_countries: Mapped[list[str]] = mapped_column(JSON)
    member_state: Mapped[str | None] = mapped_column(String(2))
    confidence: Mapped[str] = mapped_column(String(8))  # high, medium, low, none
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notice(Base):
    """A message to a partner, a hosting provider or an authority, sent by a durable job."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    # One notice per report, kind and recipient: routing twice creates nothing new.
    dedupe: Mapped[str] = mapped_column(String(200), unique=True)
    # None for a removal order's escalation when no report of Balise concerns its URLs.
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # The order a notice is about (a removal order's escalation to its issuing authority).
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    package_id: Mapped[str | None] = mapped_column(String(64))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, sent, acknowledged, failed, held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Takedown(Base):
    """Notice-and-takedown of one reported URL: the legs of ICCAM (received, assessed, police
    notified, host notified, removed) and the removal verification schedule."""

    __tablename__ = "takedowns"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    original_sha256: Mapped[str | None] = mapped_column(String(64))
    # pending, watching, removed, not_removed, on_hold, no_contact
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    police_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    host_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))


class TakedownCheck(Base):
    __tablename__ = "takedown_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("takedowns.item_id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # served, changed, media_gone, gone, unreachable, refused, error
    http_status: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Other bytes than at inspection: the PDQ distance of what is served now to the original
    # picture (None when not compared). Within the match threshold it is still the same picture.
    pdq_distance: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)


class Hold(Base):
    """A law-enforcement request that the provider not inform the user and/or not remove the
    material, for at most 18 months (CSAR Art. 48(6))."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    do_not_inform: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_remove: Mapped[bool] = mapped_column(Boolean, default=False)
    authority: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))


class RdapCacheEntry(Base):
    __tablename__ = "rdap_cache"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
class IspwsCredential(Base):
    """HTTP Basic credentials of a provider for the NCMEC-compatible API (/ispws). The password
    is generated with 256 bits of entropy, so its SHA-256 is stored (as for API keys)."""

    __tablename__ = "ispws_credentials"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IspwsReport(Base):
    """A report opened through /ispws/submit. Its integer id is the CyberTipline ``reportId``.
    The XML (personal data) is in the vault; once retracted or expired only this tombstone
    remains, without the document or the files."""

    __tablename__ = "ispws_reports"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ispws_credentials.id"))
    state: Mapped[str] = mapped_column(String(16), index=True)  # open, finished, retracted, expired
    document_object: Mapped[str | None] = mapped_column(ForeignKey("vault_objects.sha256"))
    document_size: Mapped[int | None] = mapped_column(Integer)
    # Items the document itself yields (URLs), counted against the item limit with the files.
    url_items: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"), index=True)

    files: Mapped[list[IspwsFile]] = relationship(
        back_populates="ispws_report", order_by="IspwsFile.position", cascade="all, delete-orphan"
    )


class IspwsFile(Base):
    """A file uploaded to an /ispws report (encrypted in the vault) and its fileDetails XML."""

    __tablename__ = "ispws_files"
    __table_args__ = (UniqueConstraint("ispws_report_id", "position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the CyberTipline fileId
    ispws_report_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ispws_reports.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    vault_object: Mapped[str] = mapped_column(ForeignKey("vault_objects.sha256"))
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    details_object: Mapped[str | None] = mapped_column(ForeignKey("vault_objects.sha256"))
    details_size: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id"))

    ispws_report: Mapped[IspwsReport] = relationship(back_populates="files")


class ClockAlert(Base):
    """A clock that ran out (overdue) or is about to end by itself (warning), recorded once per
    clock and deadline by the periodic check (docs/clocks.md)."""

    __tablename__ = "clock_alerts"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "deadline", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(16))  # overdue, due_soon
    # The report the clock belongs to, when there is one (kept as text: alerts outlive nothing).
    report_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ErrorRateFigure(Base):
    """Measured error rates of detection (docs/oversight.md#measured-error-rates): per period
    (a month or an ISO week of item arrival), per route or indicator source, the items the
    analysts confirmed, overturned, could not assess, or have not assessed. Written by the
    nightly job, which replaces a period's rows as a whole."""

    __tablename__ = "error_rate_figures"
    __table_args__ = (UniqueConstraint("granularity", "period_start", "dimension", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    granularity: Mapped[str] = mapped_column(String(8))  # month, week
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    dimension: Mapped[str] = mapped_column(String(16))  # route, source
    key: Mapped[str] = mapped_column(String(200))
    confirmed: Mapped[int] = mapped_column(Integer)
    overturned: Mapped[int] = mapped_column(Integer)
    cannot_assess: Mapped[int] = mapped_column(Integer)
    unassessed: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
class AccessGrant(Base):
    """An organisation's access to Balise's databases (CSAR Art. 46): what, for what, until
    when, and who decided (domain/grants.py)."""

    __tablename__ = "access_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    databases: Mapped[list[str]] = mapped_column(JSON)
    operations: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    order_reference: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(300))
    first_approved_by: Mapped[str | None] = mapped_column(String(300))
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_approval_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Order(Base):
    """A removal (CSAR Art. 14), blocking (Art. 16) or detection (Art. 7) order in the centre's
    registry: the fields of its annex, its state, when it was sent and received and by whom
    (domain/orders.py, docs/orders.md)."""

    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # removal, blocking, detection
    state: Mapped[str] = mapped_column(String(32), index=True)
    reference: Mapped[str] = mapped_column(String(200), index=True)
    # The coordinating authority's organisation when it sent the order with its API key.
    authority_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    authority_name: Mapped[str] = mapped_column(String(200))
    authority_member_state: Mapped[str] = mapped_column(String(2))
    authority_contact: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    addressee_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    addressee_name: Mapped[str] = mapped_column(String(200))
    services: Mapped[list[str]] = mapped_column(JSON)
    databases: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[str] = mapped_column(Text)
    redress: Mapped[str] = mapped_column(Text)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    non_disclosure_weeks: Mapped[int | None] = mapped_column(Integer)
    non_disclosure_renewals: Mapped[int] = mapped_column(Integer, default=0)
    # The order as sent and its signature ({algorithm, key_id, value}), kept to verify again.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # How the sender was authenticated: API key (prefix, organisation) and signing key, or the
    # staff member who entered it and how they checked the signature.
    sender_auth: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Receipt by the provider: the removal clock's start.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    execution: Mapped[str | None] = mapped_column(String(16))  # removed, disabled
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    execution_note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("access_grants.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    urls: Mapped[list[OrderUrl]] = relationship(order_by="OrderUrl.position", cascade="all, delete-orphan")
    events: Mapped[list[OrderEvent]] = relationship(order_by="OrderEvent.id", cascade="all, delete-orphan")


class OrderUrl(Base):
    """A URL an order names, with the report item it concerns (when known) and the last
    re-check of the removal clock."""

    __tablename__ = "order_urls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"), index=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))


class UrlListEntry(Base):
    """A URL on the URL list (CSAR Art. 44(1)(b)): on a host outside the Union that refuses
    removal, in a country whose authorities do not cooperate; with its evidence."""

    __tablename__ = "url_list_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    host_country: Mapped[str] = mapped_column(String(2))
    # The reported URL's takedown whose notices the host refused, when there is one.
    takedown_item_id: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)  # listed, removed
    # From the indicators' version counter: providers sync "changes after version N".
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(300))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(300))
    removed_reason: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))


class OrderReport(Base):
    """A report an order concerns."""

    __tablename__ = "order_reports"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True,
                                                 index=True)


class OrderEvent(Base):
    """Each change of an order's state: when, by whom (and in which part), how authenticated."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    part: Mapped[str] = mapped_column(String(16))  # authority, provider, staff, system
    actor: Mapped[str] = mapped_column(String(300))
    auth: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class OrderSigningKey(Base):
    """A coordinating authority's Ed25519 public key: orders it sends are signed with it."""

    __tablename__ = "order_signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the 32 raw bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UrlListExport(Base):
    """One export of the URL list for a blocking order, to the internet access providers it names."""

    __tablename__ = "url_list_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The blocking order in the orders registry (exports before 0036 name only a reference).
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), index=True)
    order_reference: Mapped[str] = mapped_column(String(200), index=True)
    providers: Mapped[list[Any]] = mapped_column(JSON)
    format: Mapped[str] = mapped_column(String(8))
    since_version: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exported_by: Mapped[str] = mapped_column(String(300))


class UrlListVerification(Base):
    """A representative sample of the URL list fetched again, e.g. by a coordinating authority
    before it asks for a blocking order (CSAR Art. 16)."""

    __tablename__ = "url_list_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(300))
    order_reference: Mapped[str | None] = mapped_column(String(200))
    population: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    live: Mapped[int] = mapped_column(Integer)
    gone: Mapped[int] = mapped_column(Integer)
    other: Mapped[int] = mapped_column(Integer)
    results: Mapped[list[Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Series(Base):
    """A series of near-duplicate material across reports (docs/victims.md): proposed by the
    perceptual-hash graph, confirmed, split or merged by analysts; marked by a law-enforcement
    partner as depicting an identified victim with a case reference only, never an identity."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # proposed, confirmed, merged, empty
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("series.id"))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    identified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    case_reference: Mapped[str | None] = mapped_column(String(200))
    identified_by: Mapped[str | None] = mapped_column(String(300))
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(300))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SeriesHash(Base):
    """One perceptual hash of a hashed item, in the series index: a picture's PDQ, or one kept
    frame of a video's vPDQ (several rows per video). Rows are appended under the series head
    lock, so their ids grow in commit order and an index process catches up by id."""

    __tablename__ = "series_hashes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # pdq, vpdq
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    # Distance to the nearest member when it was linked, and who linked it (system or analyst).
    distance: Mapped[int | None] = mapped_column(Integer)
    linked_by: Mapped[str | None] = mapped_column(String(300))
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SeriesHead(Base):
    """One row (id 1): the lock that serialises series assignment, so that two items landing
    near each other at once end in one series."""

    __tablename__ = "series_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class VictimRequest(Base):
    """A victim's request (CSAR Art. 20 information, Art. 21 removal support) filed by a
    coordinating authority on the victim's behalf, keyed by the hashes of the material: never
    by identity. The answer goes back through the authority (docs/victims.md)."""

    __tablename__ = "victim_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    authority_reference: Mapped[str | None] = mapped_column(String(200))
    hashes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    removal_support: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reports found: [{report, provider, received_at, items, forwarded, forwarded_to, removed}].
    answer: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    removal_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A removal order asked of the competent authority: only the flag and its reference here.
    order_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_reference: Mapped[str | None] = mapped_column(String(200))
    order_requested_by: Mapped[str | None] = mapped_column(String(300))


# -- intelligence: cross-report entities (docs/intelligence.md) ---------------------------------


class EntityMention(Base):
    """A value a report names (an account, e-mail, phone, IP, URL, domain, payment identifier,
    crypto-currency address or file name), in its normal form when it checked out
    (domain/entities.py). Reports that share a valid ``search_key`` are linked; an unvalidated
    value has a key of its own name space and is never linked as the entity it looks like."""

    __tablename__ = "entity_mentions"
    __table_args__ = (Index("ix_entity_mentions_key_report", "search_key", "report_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean)
    problem: Mapped[str | None] = mapped_column(String(32))
    search_key: Mapped[str] = mapped_column(String(64))
    # Where in the report: identifier, service, item_url, item_file_name, free_text, metadata.
    source: Mapped[str] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(64))
    # The role of the person the identifier belongs to (reported_user, victim, other).
    person_role: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # For IP addresses: when and on which port (Annex III point 5).
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    port: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FinancialAlert(Base):
    """An alert to a financial partner (bank, card scheme, payment provider, crypto exchange)
    about a payment identifier a report names, decided by an analyst and sent as a notice; and
    the partner's answer (docs/intelligence.md#financial-partners)."""

    __tablename__ = "financial_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    identifier_kind: Mapped[str] = mapped_column(String(24))
    identifier: Mapped[str] = mapped_column(Text)
    search_key: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    reason_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(300))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The partner's answer: account_closed, account_frozen, under_review, no_action, not_ours.
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by: Mapped[str | None] = mapped_column(String(300))


class ItemLead(Base):
    """What a received file says of itself (EXIF camera and serial, GPS, capture time, software;
    XMP/IPTC digital source type; C2PA manifest), read at hashing time and kept encrypted
    (``sealed``: the secret box); read back only through an audited view. ``serial_key`` (a
    keyed digest of make, model and serial) links items from the same camera without the serial
    in clear; ``generative`` routes the report in triage (docs/intelligence.md#leads-from-the-files)."""

    __tablename__ = "item_leads"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[str] = mapped_column(Text)
    serial_key: Mapped[str | None] = mapped_column(String(64), index=True)
    generative: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[list[str] | None] = mapped_column(JSON)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FederationPartner(Base):
    """Another Balise installation (a centre or a hotline) that referrals go to and come from
    (docs/federation.md): where it answers, its country, its Ed25519 signing key (and that key's
    id, which is how it names itself in a signed request), and whether content may be shared."""

    __tablename__ = "federation_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    base_url: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    share_content: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferralSent(Base):
    """A reported URL referred to a partner installation: our leg, open until the partner's
    outcome comes back. ``url`` is emptied when the report is redacted."""

    __tablename__ = "referrals_sent"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("federation_partners.id", ondelete="SET NULL"),
                                                   index=True)
    partner_name: Mapped[str] = mapped_column(String(100))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    # pending (queued) → acknowledged → closed; refused when the partner refused it for good.
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receiver_reference: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReferralReceived(Base):
    """A referral a partner sent us: the report it opened here, and our outcome, sent back."""

    __tablename__ = "referrals_received"
    __table_args__ = (UniqueConstraint("sender_key_id", "sender_reference",
                                       name="uq_referrals_received_sender_reference"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("federation_partners.id", ondelete="SET NULL"),
                                                   index=True)
    partner_name: Mapped[str] = mapped_column(String(100))
    sender_key_id: Mapped[str] = mapped_column(String(64))
    sender_reference: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    # open → closed (outcome decided here) → the outcome sent back (outcome_sent_at).
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    outcome_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FederationNonce(Base):
    """A nonce of a signed federation request already accepted: the same one again is a replay.
    Kept a little longer than the timestamps accepted, then pruned."""

    __tablename__ = "federation_nonces"

    sender_key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
